"""What the keypad and LED bus emulators share: the device end of a real pseudo-terminal, read by
one thread, and a wait for what the host makes the bus show.

A subclass handles what each read brings in `_on_read` (b"" when the line was quiet for a read's
timeout: the decoders' idle gap) and calls `self._changed.notify_all()` under `self._changed`
whenever something a waiter may look at changed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from hardware.serial_port import VirtualLine

T = TypeVar("T")

READ_TIMEOUT = 0.05  # seconds; also the idle gap after which a torn frame is dropped


class PtyBusEmulator:
    def __init__(self, link: str | Path, thread_name: str) -> None:
        self.line = VirtualLine(link)
        self._thread_name = thread_name
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.line.plug()
        self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        self.line.unplug()

    def _on_read(self, data: bytes) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            data = self.line.read(READ_TIMEOUT)
            if data is None:
                continue  # unplugged: wait for plug()
            self._on_read(data)

    def _wait(self, found: Callable[[], T | None], timeout: float) -> T | None:
        """The first value `found()` gives that is not None, looked at now and after each change
        (under the lock), or None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = found()
                if value is not None:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)
