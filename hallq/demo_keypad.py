"""The keypad clerk `hallq demo` plays itself: once the visitors come in it logs in on its
emulated keypad, then presses "call" now and then (each call closes the ticket before it as done),
by writing key lines to the keypad emulator's stdin. The keypad bridge turns them into the
window's requests, as it would a real clerk's keys.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from hall.config.schema import HallConfig
from hallq.demo_console import Console
from hallq.demo_procs import Child
from hallq.demo_setup import KeypadClerk

KEYPAD_FIRST_S = 3.0  # real seconds after the visitors start: the keypad clerk logs in ...
KEYPAD_EVERY_HALL_MIN = 3.0  # ... and then presses "call" this often (hall time)


class KeypadPlayer:
    def __init__(self, clerk: KeypadClerk, speed: float) -> None:
        self.clerk = clerk
        self.speed = speed
        self.next: float | None = None  # monotonic time of its next key press
        self.logged_in = False
        # Keys typed before the bridge opened its port are lost (opening a port flushes what
        # waits in it): the clerk starts once the bridge reported its bus `ok`.
        self.bus_ok = False

    def heard(self, line: str) -> None:
        """A line of the operator's view: the bridge's bus health among them."""
        if f"{self.clerk.bridge}: bus ok" in line:
            self.bus_ok = True

    def services(self, config: HallConfig) -> list[str]:
        """What the demo kiosk's visitors come for: the keypad clerk's services that no simulated
        window serves (else all of its services), so the keypad has tickets to call."""
        window = config.window(self.clerk.window)
        if window is None:
            return []
        played = {code for w in config.windows if w.id != self.clerk.window for code in w.services}
        return [c for c in window.services if c not in played] or list(window.services)

    def begin(self) -> None:
        """The visitors came in: the first keys are due soon."""
        self.next = time.monotonic() + KEYPAD_FIRST_S

    def press_keys(self, children: Iterable[Child], console: Console) -> None:
        """The clerk's next keys, when due: log in first, then "call"."""
        clerk, due = self.clerk, self.next
        if due is None or time.monotonic() < due or not self.bus_ok:
            return
        emulator = next((c for c in children if c.name == f"{clerk.bridge}-emulator"), None)
        if emulator is None or not emulator.running:
            self.next = None
            return
        if not self.logged_in:
            keys, what = f"{clerk.code}K", f"{clerk.code} + confirm: log in"
            self.logged_in = True
            self.next = time.monotonic() + KEYPAD_FIRST_S
        else:
            keys, what = "C", "call: call the next visitor"
            self.next = time.monotonic() + KEYPAD_EVERY_HALL_MIN * 60 / self.speed
        emulator.send_line(f"{clerk.address} {keys}")
        console.event("keypad", f"{clerk.bridge} keypad {clerk.address} keys {what}")
