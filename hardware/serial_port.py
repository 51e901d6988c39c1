"""A serial port that survives being unplugged: pyserial underneath, reopened every `reopen_seconds`
(at most 0.5 s) while it is gone, with callbacks when it comes and goes and for what it reads.

One thread owns the port: it opens, reads and closes it. `write()` may be called from any thread;
a failed write only marks the port broken, and the owner thread closes and reopens it. pyserial's
exceptions never leave this module: a write to a port that is away returns False.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import select
import termios
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

import serial

from hardware.errors import ConfigurationError

log = logging.getLogger(__name__)

READ_TIMEOUT = 0.05  # a read returns this often, so stop() and broken writes are seen quickly
PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}


class ReconnectingPort:
    def __init__(
        self,
        url: str,
        *,
        baudrate: int = 9600,
        bytesize: int = 8,
        parity: str = "N",
        stopbits: int = 1,
        reopen_seconds: float = 0.5,
        name: str = "",
        on_open: Callable[[], None] | None = None,
        on_close: Callable[[], None] | None = None,
        on_data: Callable[[bytes], None] | None = None,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        if parity not in PARITIES:
            raise ConfigurationError(f"parity {parity!r}: use N, E or O", device=name or url)
        self.url = url
        self.name = name or url
        self.settings = {
            "baudrate": baudrate,
            "bytesize": bytesize,
            "parity": PARITIES[parity],
            "stopbits": stopbits,
        }
        self.reopen_seconds = min(reopen_seconds, 0.5)
        self.on_open = on_open
        self.on_close = on_close
        self.on_data = on_data
        self.on_idle = on_idle
        self._serial: serial.SerialBase | None = None
        self._lock = threading.Lock()  # guards _serial for writers
        self._broken = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.opened_count = 0

    @property
    def is_open(self) -> bool:
        return self._serial is not None and not self._broken

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"port {self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        self._close()

    def write(self, data: bytes) -> bool:
        """Send `data` whole; False when the port is away (the bytes are dropped: the owner
        redraws everything once the port is back)."""
        with self._lock:
            port = self._serial
            if port is None or self._broken:
                return False
            try:
                port.write(data)
                port.flush()
                return True
            except (serial.SerialException, OSError, termios.error) as exc:
                # termios.error (from flush's tcdrain on a pty whose other end went away) is not an
                # OSError: uncaught, it ended the thread that draws every board.
                log.warning("port %s: write failed: %s", self.name, exc)
                self._broken = True
                return False

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            if self._serial is None:
                if not self._open(quiet=failures > 0):
                    if failures == 0 and self.opened_count == 0:
                        # The first attempt failed: say the port is not open (on_close), once.
                        # Before it, the owner knows nothing: a state said then would be a guess.
                        self._notify(self.on_close)
                    failures += 1
                    self._stop.wait(self.reopen_seconds)
                    continue
                failures = 0
                self._notify(self.on_open)
            if self._broken:
                self._lost("write failed")
                continue
            port = self._serial
            assert port is not None
            try:
                data = port.read(max(1, port.in_waiting))
            except (serial.SerialException, OSError, TypeError) as exc:
                # TypeError: pyserial on a pty whose other end went away mid-read
                self._lost(str(exc))
                continue
            if data:
                if self.on_data is not None:
                    self._notify(functools.partial(self.on_data, data))
            elif self.on_idle is not None:
                self._notify(self.on_idle)

    def _open(self, quiet: bool) -> bool:
        try:
            port = serial.serial_for_url(self.url, timeout=READ_TIMEOUT, **self.settings)
        except (serial.SerialException, OSError, ValueError) as exc:
            if not quiet:
                log.warning(
                    "port %s: cannot open (%s); retrying every %g s",
                    self.name,
                    exc,
                    self.reopen_seconds,
                )
            return False
        with self._lock:
            self._serial, self._broken = port, False
        self.opened_count += 1
        log.info("port %s: open", self.name)
        return True

    def _lost(self, why: str) -> None:
        log.warning("port %s: gone (%s); reopening every %g s", self.name, why, self.reopen_seconds)
        self._close()
        self._notify(self.on_close)
        self._stop.wait(min(self.reopen_seconds, 0.1))

    def _close(self) -> None:
        with self._lock:
            port, self._serial, self._broken = self._serial, None, False
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()

    def _notify(self, callback: Callable[[], object] | None) -> None:
        if callback is None:
            return
        try:
            callback()
        except Exception:  # a callback's bug must not stop the port's thread
            log.exception("port %s: a callback failed", self.name)


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.01) -> bool:
    """Poll `predicate` until it holds or `timeout` passes (for tools and tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


class VirtualLine:
    """The far end of a port for emulators: a real pseudo-terminal whose slave is reached through a
    stable link path (like socat's `link=`), so a bridge opens the link as it would /dev/ttyUSB0.
    `unplug()` closes the pty and removes the link, like a pulled cable; `plug()` makes a new one."""

    def __init__(self, link: str | Path) -> None:
        self.link = Path(link)
        self._master: int | None = None
        self._slave: int | None = None
        self._lock = threading.Lock()

    @property
    def plugged(self) -> bool:
        return self._master is not None

    def plug(self) -> str:
        """A new pty; returns the slave's device name the link now points at."""
        with self._lock:
            if self._master is not None:
                return os.readlink(self.link)
            master, slave = os.openpty()
            # Raw both ends: no echo, no line editing, bytes pass as they are. The emulator keeps
            # the slave open too, so its reads never see a hang-up while the bridge reopens.
            tty.setraw(master)
            tty.setraw(slave)
            name = os.ttyname(slave)
            temporary = self.link.with_name(self.link.name + ".new")
            temporary.unlink(missing_ok=True)
            os.symlink(name, temporary)
            os.replace(temporary, self.link)
            self._master, self._slave = master, slave
            log.info("virtual line %s -> %s: plugged", self.link, name)
            return name

    def unplug(self) -> None:
        with self._lock:
            master, slave, self._master, self._slave = self._master, self._slave, None, None
            self.link.unlink(missing_ok=True)
            for fd in (master, slave):
                if fd is not None:
                    os.close(fd)
        log.info("virtual line %s: unplugged", self.link)

    def write(self, data: bytes) -> bool:
        with self._lock:
            if self._master is None:
                return False
            try:
                os.write(self._master, data)
                return True
            except OSError:
                return False

    def read(self, timeout: float) -> bytes | None:
        """What arrived within `timeout` (b"" if nothing); None when unplugged."""
        master = self._master
        if master is None:
            time.sleep(timeout)
            return None
        try:
            ready, _, _ = select.select([master], [], [], timeout)
            return os.read(master, 4096) if ready else b""
        except (OSError, ValueError):
            return None  # unplugged while waiting
