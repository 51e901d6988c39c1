"""`hallq demo` as the README runs it (`make demo` -> `.venv/bin/hallq demo`): a real process tree.

Acceptance (issue 5): at any hour of the real day it shows calls within seconds, and after Ctrl-C no
process of it is left. The test starts it in its own session, as a terminal would run it, waits for
calls (and a printed ticket) in its output, kills one of its devices to see the death reported with
the end of its log, sends SIGINT to its process group as Ctrl-C does, and then proves that every
process that was ever its descendant is gone, that none of their process groups has a member, and
that the broker's ports are free.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

from tests.fixtures.parts import require_program

ROOT = Path(__file__).resolve().parents[1]
CALL = re.compile(r"^(\d\d):(\d\d):\d\d  call +(\S+) +-> ")
PRINTED = re.compile(r"demo-kiosk: ticket (\S+) .*; printed ")
BROKER = re.compile(r"mosquitto on 127\.0\.0\.1:(\d+) \(hall\) and :(\d+) \(devices, TLS\)")
CALLS_WANTED = 3
SPEAKERS = "demo-speakers"  # the demo's announcer (1F, zh+en), writing WAV files
STARTUP_TIMEOUT = 40.0  # real seconds until the calls and a printed ticket are seen
STOP_TIMEOUT = 30.0  # the demo's own escalation ends well within this


def hallq_command() -> list[str]:
    """The README's command: the venv's `hallq` script (next to this interpreter)."""
    script = Path(sys.executable).with_name("hallq")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hallq"]


def proc_stat(pid: int) -> tuple[int, int, int, str] | None:
    """(ppid, pgid, start time, state) of a live process, None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[2]), int(fields[19]), fields[0]


def all_processes() -> dict[int, tuple[int, int, int, str]]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = proc_stat(int(entry))
            if stat is not None:
                found[int(entry)] = stat
    return found


def descendants(root: int) -> dict[int, tuple[int, int]]:
    """pid -> (pgid, start time) of every live descendant of `root`."""
    table = all_processes()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: dict[int, tuple[int, int]] = {}
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if pid in table and pid not in found:
            found[pid] = (table[pid][1], table[pid][2])
            todo += children.get(pid, [])
    return found


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class Output:
    """The demo's stdout, line by line, read in a thread."""

    def __init__(self, stream: IO[bytes] | None) -> None:
        self.lines: list[str] = []
        self.fresh: queue.Queue[str] = queue.Queue()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream: IO[bytes] | None) -> None:
        for raw in stream or ():
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            self.lines.append(line)
            self.fresh.put(line)

    def wait_for(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with contextlib.suppress(queue.Empty):
                self.fresh.get(timeout=min(left, 0.5))
        return True

    def text(self) -> str:
        return "\n".join(self.lines)


class DemoRun:
    """`hallq demo --dir ...` in its own session, as a shell runs a foreground job; every process
    that is ever its descendant is recorded while it runs."""

    def __init__(self, folder: Path) -> None:
        require_program("mosquitto", "mosquitto")
        require_program("openssl", "openssl")
        self.folder = folder
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [*hallq_command(), "demo", "--dir", str(folder)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.out = Output(self.process.stdout)
        self.seen: dict[int, tuple[int, int]] = {}
        self.broker_ports: list[int] = []

    @property
    def pid(self) -> int:
        return self.process.pid

    def calls(self) -> list[re.Match[str]]:
        return [m for m in map(CALL.match, self.out.lines) if m]

    def has(self, text: str) -> bool:
        return any(text in line for line in self.out.lines)

    def wait_for(
        self, done: Callable[[], bool], timeout: float, what: str, log: str | None = None
    ) -> None:
        """Wait until `done`; on a timeout, fail with the demo's output (and a child's `log`)."""

        def check() -> bool:
            self.seen.update(descendants(self.pid))
            return done() or self.process.poll() is not None

        if not self.out.wait_for(check, timeout):
            tail = self.log_of(log) if log else ""
            raise AssertionError(f"{what}: not in time:\n{self.out.text()}{tail}")
        assert self.process.poll() is None, f"{what}: the demo ended:\n{self.out.text()}"
        self.seen.update(descendants(self.pid))

    def said_a_call(self) -> bool:
        return any((self.folder / "wav" / SPEAKERS).glob("*.wav"))

    def log_of(self, name: str) -> str:
        """A child's log for a failure message (read when the message is made)."""
        path = self.folder / "logs" / f"{name}.log"
        return f"\n--- {path}:\n{path.read_text() if path.exists() else '(no log)'}"

    def child_pid(self, name: str) -> int:
        match = re.search(rf"^  {re.escape(name)} +pid (\d+)", self.out.text(), re.MULTILINE)
        assert match is not None, self.out.text()
        return int(match[1])

    def running_checks(self) -> None:
        """Calls in the hall's morning, every part its own process, the broker listening."""
        for match in self.calls():
            assert 9 <= int(match[1]) < 12, match.group(0)
        ports = BROKER.search(self.out.text())
        assert ports is not None, self.out.text()
        self.broker_ports = [int(ports[1]), int(ports[2])]
        assert not any(port_is_free(p) for p in self.broker_ports)
        # broker, server, watcher, 2 emulators + 2 bridges, printer, simulate, kiosk
        assert len(self.seen) >= 10, self.seen

    def wait_exit(self) -> int:
        try:
            return self.process.wait(STOP_TIMEOUT)
        finally:
            self.out.thread.join(5)

    def kill_all(self) -> None:
        """After a failure: leave nothing behind either."""
        if self.process.poll() is None:
            os.killpg(self.pid, signal.SIGKILL)
            self.process.wait(5)
        for pgid, _ in self.seen.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)

    def assert_nothing_left(self) -> None:
        text = self.out.text()
        assert "the logs are in" in text, text
        left = {}
        for pid, (_, start) in self.seen.items():
            stat = proc_stat(pid)
            if stat is not None and stat[2] == start:  # the same process, not a reused pid
                left[pid] = stat
        assert not left, f"left behind: {left}\n{text}"
        groups = {pgid for pgid, _ in self.seen.values()}
        members = {pid: s for pid, s in all_processes().items() if s[1] in groups}
        assert not members, f"process groups still in use: {members}"
        assert all(port_is_free(p) for p in self.broker_ports), self.broker_ports


@pytest.mark.broker
def test_demo_shows_calls_and_leaves_no_process(tmp_path: Path) -> None:
    demo = DemoRun(tmp_path / "demo")
    try:
        demo.wait_for(
            lambda: len(demo.calls()) >= CALLS_WANTED and demo.has("printed"),
            STARTUP_TIMEOUT,
            "calls and a printed ticket",
        )
        first_calls = time.monotonic() - demo.started
        demo.running_checks()

        # The keypad clerk's "call" went keypad -> bridge -> hall and the answer came back to the
        # keypad's display: a ticket number, or E19 when that window's queue is empty.
        demo.wait_for(lambda: demo.has("keys call"), 15, "the keypad clerk's call")
        keyed = max(i for i, line in enumerate(demo.out.lines) if "keys call" in line)
        demo.wait_for(
            lambda: any("keypad 29 shows [" in ln for ln in demo.out.lines[keyed:]),
            10,
            "the keypad's display after its call",
        )

        # A ticket printed at the demo kiosk is called by the keypad to its window (w105).
        def printed_and_keyed() -> bool:
            printed = set(PRINTED.findall(demo.out.text()))
            return any(m[3] in printed for m in demo.calls() if "-> 105号窗口" in m.string)

        demo.wait_for(printed_and_keyed, 30, "a printed ticket called by the keypad")

        # The announcer of the first floor says a call of its floor as a WAV file. Waited for, not
        # assumed: most calls are to other floors, and on a slow machine the announcer may come up
        # after the first 1F calls, which it then counts as the day's history and does not say.
        demo.wait_for(demo.said_a_call, 60, "a 1F call said by the announcer", log=SPEAKERS)

        # A device that dies is reported with the end of its log; the demo goes on.
        bridge = demo.child_pid("led-2f")
        os.kill(bridge, signal.SIGKILL)
        demo.wait_for(
            lambda: demo.has(f"led-2f (pid {bridge}) ended with SIGKILL"), 10, "the report"
        )
        assert demo.has("the end of ")

        os.killpg(demo.pid, signal.SIGINT)  # Ctrl-C in the terminal
        code = demo.wait_exit()
    finally:
        demo.kill_all()
    assert code == 0, demo.out.text()
    demo.assert_nothing_left()
    text = demo.out.text()
    # No bus flaps offline at start: the first word of each bridge about its bus is `ok`.
    before_stop = text[: text.index("stopping everything")]
    for bus in ("led-2f", "keypad-3f"):
        assert f"{bus}: bus ok" in before_stop, before_stop
        assert f"{bus}: bus offline" not in before_stop, before_stop
    # The closing summary speaks to a hall manager; the developers' figures only with --details.
    summary = text[text.index("the hall's day, as the hall server recorded it") :]
    assert "tickets issued" in summary and "wait from ticket to call" in summary, summary
    assert "p50" not in text and "refused:" not in text and "hallq demo --details" in text
    logs = demo.folder / "logs"
    for name in ("broker", "hall-server", "simulate", "watch", "demo", "led-2f"):
        assert (logs / f"{name}.log").exists(), name
    assert list((demo.folder / "tickets").glob("*.png")), "no ticket was printed"
    assert demo.said_a_call(), f"the announcer said no call{demo.log_of(SPEAKERS)}"
    print(f"first calls after {first_calls:.1f} s; run {time.monotonic() - demo.started:.1f} s")


@pytest.mark.broker
def test_sigterm_stops_everything(tmp_path: Path) -> None:
    demo = DemoRun(tmp_path / "demo")
    try:
        demo.wait_for(lambda: len(demo.calls()) >= 1, STARTUP_TIMEOUT, "a call")
        demo.running_checks()
        os.kill(demo.pid, signal.SIGTERM)  # what `kill` or a service manager sends
        code = demo.wait_exit()
    finally:
        demo.kill_all()
    assert code == 0, demo.out.text()
    demo.assert_nothing_left()


@pytest.mark.broker
def test_the_demo_stops_everything_when_the_hall_server_dies(tmp_path: Path) -> None:
    demo = DemoRun(tmp_path / "demo")
    try:
        demo.wait_for(lambda: len(demo.calls()) >= 1, STARTUP_TIMEOUT, "a call")
        demo.running_checks()
        os.kill(demo.child_pid("hall-server"), signal.SIGKILL)
        code = demo.wait_exit()
    finally:
        demo.kill_all()
    text = demo.out.text()
    assert code == 1, text
    assert "hall-server" in text and "ended with SIGKILL" in text
    assert "it cannot go on without it" in text
    demo.assert_nothing_left()
