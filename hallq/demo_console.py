"""What `hallq demo` prints: its console (stdout and its log, with the hall's time), and which
lines of the emulators' output reach it.

All output of every child goes to the child's log; the console shows the watcher's event lines,
the LED boards that flash and what the keypads display, for the first units of each bus and the
keypad the demo keys itself.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from hallq.demo_setup import KeypadClerk
from hardware.keypad.codes import ERROR_NUMBERS

log = logging.getLogger("hallq.demo")

REPEAT_S = 1.0  # a keypad display drawn again within this many seconds is not shown again
SHOWN_UNITS = 2  # the first boards / keypads of each bus are shown on the console (all are logged)

# What a keypad's "E" and two digits mean (hardware/keypad/codes.py: the contract's error codes).
KEYPAD_ERRORS = {f"E{number:02d}": code for code, number in ERROR_NUMBERS.items()}
LED_LINE = re.compile(r"^board\s+(?P<address>\d+)\s+\[(?P<mode>[^\]]*)\]\s?(?P<text>.*)$")
TIMED_LINE = re.compile(r"^(\d\d):(\d\d):(\d\d)  ")
KEYPAD_LINE = re.compile(r"^keypad\s+(?P<address>\d+)\s+display\s+\[(?P<text>.*)\]$")


class Console:
    """The demo's own lines (stdout, flushed) and its log file."""

    def __init__(self, start: datetime, speed: float) -> None:
        self.start = start
        self.speed = speed
        self.origin: float | None = None  # when the hall's clock started (about)
        self.lock = threading.Lock()
        self.closed = False  # stdout is gone: lines go only to the log

    def say(self, text: str = "") -> None:
        with self.lock:
            if not self.closed:
                try:
                    print(text, flush=True)
                except OSError:  # `hallq demo | head`: the reader left; stop, but stop cleanly
                    self.closed = True
                    os.kill(os.getpid(), signal.SIGTERM)
        if text.strip():
            log.info("%s", text.strip())

    def hall_time(self) -> str:
        """The hall's time now, as the server's scaled clock runs (within a hall second or so,
        once a call has been heard)."""
        if self.origin is None:
            return "--:--:--"
        elapsed = (time.monotonic() - self.origin) * self.speed
        return (self.start + timedelta(seconds=elapsed)).strftime("%H:%M:%S")

    def heard(self, line: str) -> None:
        """The watcher's lines carry the hall's time (from the hall's own messages, `calls` and
        `queues`): anchor hall_time() on them rather than on when the server was started."""
        match = TIMED_LINE.match(line)
        if match is None:
            return
        hours, minutes, seconds = (int(x) for x in match.groups())
        at = self.start.replace(hour=hours, minute=minutes, second=seconds)
        self.start, self.origin = at, time.monotonic()

    def event(self, kind: str, text: str) -> None:
        self.say(f"{self.hall_time()}  {kind:<8} {text}")


class DeviceLines:
    """The console's view of the LED and keypad emulators: `led(bridge)` and `keypad(bridge)`
    are the on_line callbacks of their children."""

    def __init__(self, console: Console, clerk: KeypadClerk | None) -> None:
        self.console = console
        self.clerk = clerk

    def is_clerks(self, bridge: str, address: int) -> bool:
        """The keypad the demo keys itself."""
        clerk = self.clerk
        return clerk is not None and (clerk.bridge, clerk.address) == (bridge, address)

    def shown(self, bridge: str, address: int) -> bool:
        """Whether a board's or keypad's lines go to the console (all go to its log)."""
        return self.is_clerks(bridge, address) or address <= SHOWN_UNITS

    def led(self, bridge: str) -> Callable[[str], None]:
        def show(line: str) -> None:
            match = LED_LINE.match(line.strip())
            if match is None or not self.shown(bridge, int(match["address"])):
                return
            if match["mode"].strip() == "flash":
                self.console.event(
                    "led", f"{bridge} board {match['address']} flashes {match['text']}"
                )

        return show

    def keypad(self, bridge: str) -> Callable[[str], None]:
        last: dict[int, tuple[str, float]] = {}  # what each keypad showed, when

        def show(line: str) -> None:
            match = KEYPAD_LINE.match(line.strip())
            if match is None:
                return
            address, text = int(match["address"]), match["text"].strip()
            if not text or not self.shown(bridge, address):
                return
            previous, now = last.get(address), time.monotonic()
            last[address] = (text, now)
            if previous is not None and previous[0] == text and now - previous[1] < REPEAT_S:
                return  # the bridge redraws a display it has just drawn
            clerk = self.clerk
            typing = text.isdigit() and clerk is not None and clerk.code.startswith(text)
            if typing and self.is_clerks(bridge, address):
                return  # the clerk's login code as it is typed
            meaning = KEYPAD_ERRORS.get(text, "")
            self.console.event(
                "keypad",
                f"{bridge} keypad {address} shows [{text}]" + (f" ({meaning})" if meaning else ""),
            )

        return show
