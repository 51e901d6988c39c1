"""The demo's keypad clerk types nothing before its keypad bridge has its bus open: opening a
serial port flushes what waits in it, so earlier keys would be lost (and the clerk never logged in)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hallq import demo_keypad
from hallq.demo_console import Console
from hallq.demo_keypad import KeypadPlayer
from hallq.demo_setup import KeypadClerk


class FakeEmulator:
    name = "keypad-3f-emulator"
    running = True

    def __init__(self) -> None:
        self.lines: list[str] = []

    def send_line(self, text: str) -> None:
        self.lines.append(text)


def test_keys_wait_for_the_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_keypad, "KEYPAD_FIRST_S", 0.0)
    clerk = KeypadClerk("keypad-3f", 29, "w105", "c10501", "10501")
    player = KeypadPlayer(clerk, speed=10)
    console = Console(datetime(2026, 12, 7, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")), 10)
    emulator = FakeEmulator()
    player.begin()
    player.press_keys([emulator], console)  # type: ignore[list-item]
    assert emulator.lines == []  # the bridge has not said its bus is ok
    player.heard("09:00:05  device   led-2f: bus ok (34 boards)")  # another bus
    player.press_keys([emulator], console)  # type: ignore[list-item]
    assert emulator.lines == []
    player.heard("09:00:06  device   keypad-3f: bus ok (29 keypads)")
    player.press_keys([emulator], console)  # type: ignore[list-item]
    assert emulator.lines == ["29 10501K"]  # code + confirm: log in
