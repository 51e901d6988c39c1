"""An emulated ESC/POS thermal printer: decodes the byte stream, draws the ticket it would print
(PNG), and answers real-time status queries from a state that tests and demos set.

It attaches where a real printer would: a pseudo-terminal (`attach_pty()`, the path a serial or
device-node connector opens) and a TCP port (`attach_tcp()`, what a network printer listens on),
so the production connectors run unchanged. `feed()` serves in-process links (the fake USB bus).
What it decodes is escpos_decoder.py's; how a ticket is drawn, escpos_paper.py's.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hardware.emulators.escpos_decoder import EscposDecoder
from hardware.emulators.escpos_paper import Element, PrintedTicket

__all__ = [
    "GARBAGE",
    "PRINTING_STATES",
    "STATES",
    "STATUS_BYTES",
    "Element",
    "EscposDecoder",
    "PrintedTicket",
    "PrinterEmulator",
]

log = logging.getLogger(__name__)

STATES = (
    "ready",
    "paper_near_end",
    "paper_out",
    "cover_open",
    "offline",
    "error",
    "silent",  # answers nothing
    "garbage",  # answers bytes that are no status
)
# Answers to DLE EOT 1, 2, 3, 4 (Epson's bit layout: bits 1 and 4 always on).
STATUS_BYTES: dict[str, dict[int, int]] = {
    "ready": {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12},
    "paper_near_end": {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x1E},
    "paper_out": {1: 0x1A, 2: 0x32, 3: 0x12, 4: 0x7E},
    "cover_open": {1: 0x1A, 2: 0x16, 3: 0x12, 4: 0x12},
    "offline": {1: 0x1A, 2: 0x12, 3: 0x12, 4: 0x12},
    "error": {1: 0x1A, 2: 0x52, 3: 0x1A, 4: 0x12},
}
GARBAGE = b"\xa5\x5a"
PRINTING_STATES = ("ready", "paper_near_end", "silent", "garbage")


@dataclass
class PrinterEmulator:
    """A printer with a settable state, reachable through a pty and/or a TCP port."""

    dots: int = 512
    encoding: str = "gb18030"
    state: str = "ready"
    answer_delay_s: float = 0.0
    tickets: list[PrintedTicket] = field(default_factory=list)
    save_dir: Path | None = None
    queries: list[int] = field(default_factory=list)
    # Tickets left on the roll: none, endless; at 0 the printer goes to paper_out (after the cut).
    paper_tickets: int | None = None

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"unknown printer state {self.state!r}: one of {', '.join(STATES)}")
        self._lock = threading.Lock()
        self._printed = threading.Condition(self._lock)
        self._replies = bytearray()
        self.decoder = EscposDecoder(
            self.dots, self.encoding, on_status=self._on_status, on_ticket=self._on_ticket
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._fds: list[int] = []
        self._sockets: list[socket.socket] = []
        self.pty_path: str | None = None
        self.tcp_port: int | None = None

    def set_state(self, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"unknown printer state {state!r}: one of {', '.join(STATES)}")
        self.state = state
        log.info("printer emulator: state %s", state)

    # -- the byte stream -------------------------------------------------------------------
    def feed(self, data: bytes) -> bytes:
        """Take bytes from the host; return the printer's answers."""
        with self._lock:
            self.decoder.printing = self.state in PRINTING_STATES
            self.decoder.feed(data)
            replies, self._replies = bytes(self._replies), bytearray()
        if replies and self.answer_delay_s:
            time.sleep(self.answer_delay_s)
        return replies

    def _on_status(self, n: int) -> None:
        self.queries.append(n)
        if self.state == "silent":
            return
        if self.state == "garbage":
            self._replies += GARBAGE
            return
        table = STATUS_BYTES[self.state]
        if n in table:
            self._replies.append(table[n])

    def _on_ticket(self, ticket: PrintedTicket) -> None:
        self.tickets.append(ticket)
        if self.paper_tickets is not None:
            self.paper_tickets -= 1
            if self.paper_tickets <= 0:
                self.state = "paper_out"
                self.decoder.printing = False  # the rest of this write falls on no paper
                log.info("printer emulator: the roll ran out")
        if self.save_dir is not None:
            path = ticket.save(Path(self.save_dir) / f"ticket-{len(self.tickets):04d}.png")
            log.info("printer emulator: printed ticket %d -> %s", len(self.tickets), path)
        self._printed.notify_all()

    def wait_for_tickets(self, count: int, timeout: float) -> list[PrintedTicket]:
        """Block until `count` tickets have been cut (or the timeout passes); returns them all."""
        with self._printed:
            self._printed.wait_for(lambda: len(self.tickets) >= count, timeout)
            return list(self.tickets)

    # -- attachments -----------------------------------------------------------------------
    def attach_pty(self) -> str:
        """A pseudo-terminal whose other end is this printer; returns the path to open."""
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no newline translation: the line carries bytes
        self._fds += [master, slave]
        self.pty_path = os.ttyname(slave)
        self._start(self._serve_fd, master)
        log.info("printer emulator: pty %s", self.pty_path)
        return self.pty_path

    def attach_tcp(self, port: int = 0, host: str = "127.0.0.1") -> int:
        """Listen like a network printer (port 9100 on a real one); returns the port."""
        server = socket.create_server((host, port), reuse_port=False)
        server.settimeout(0.2)
        self._sockets.append(server)
        self.tcp_port = server.getsockname()[1]
        self._start(self._serve_tcp, server)
        log.info("printer emulator: tcp %s:%d", host, self.tcp_port)
        return self.tcp_port

    def _start(self, target: Callable[..., None], arg: object) -> None:
        thread = threading.Thread(target=target, args=(arg,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def _serve_fd(self, fd: int) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:  # the host closed its end: keep listening for the next one
                time.sleep(0.05)
                continue
            replies = self.feed(data)
            if replies:
                os.write(fd, replies)

    def _serve_tcp(self, server: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(0.2)
            with conn:
                while not self._stop.is_set():
                    try:
                        data = conn.recv(65536)
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                    if not data:
                        break
                    replies = self.feed(data)
                    if replies:
                        conn.sendall(replies)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        for sock in self._sockets:
            sock.close()
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()

    def __enter__(self) -> PrinterEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
