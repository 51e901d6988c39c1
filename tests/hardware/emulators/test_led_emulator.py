"""The virtual LED bus over a real pseudo-terminal, driven through the reconnecting port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hardware.emulators.led_bus import LedBusEmulator
from hardware.emulators.led_cli import describe
from hardware.led import alpha
from hardware.led.gbframe import GbFrameCodec
from hardware.led.modes import DisplayMode, Shown
from hardware.serial_port import ReconnectingPort, wait_until


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[tuple[LedBusEmulator, ReconnectingPort]]:
    emulator = LedBusEmulator(tmp_path / "led")
    emulator.start()
    port = ReconnectingPort(str(tmp_path / "led"), reopen_seconds=0.1)
    port.start()
    assert wait_until(lambda: port.is_open, 3)
    yield emulator, port
    port.stop()
    emulator.stop()


def test_both_protocols_on_one_line_each_address_reported(
    bus: tuple[LedBusEmulator, ReconnectingPort],
) -> None:
    emulator, port = bus
    gb = GbFrameCodec()
    assert port.write(gb.show(1, "请A001号到1号窗口", DisplayMode.FLASH))
    assert port.write(alpha.write_text(2, "PAUSED"))
    assert port.write(gb.show(3, "暂停服务"))
    assert emulator.wait_for(1, lambda s: s.mode is DisplayMode.FLASH, 2)
    assert emulator.wait_for(2, lambda s: s.text == "PAUSED", 2) == Shown(
        2, "PAUSED", DisplayMode.STEADY
    )
    assert emulator.wait_for(3, lambda s: s.text == "暂停服务", 2)
    assert port.write(gb.clear(3))
    assert emulator.wait_for(3, lambda s: s.mode is None, 2)
    assert describe(emulator.boards[1]) == "board   1 [flash ] 请A001号到1号窗口"


def test_garbage_and_half_frames_do_not_hide_good_ones(
    bus: tuple[LedBusEmulator, ReconnectingPort],
) -> None:
    emulator, port = bus
    gb = GbFrameCodec()
    half = gb.show(4, "欢迎光临")[:9]
    port.write(b"\xaa\x55\x01\x04garbage\x00\x00" + half)
    port.write(alpha.write_text(5, "A012 -> 5")[:12])  # an Alpha packet cut short
    port.write(gb.show(4, "欢迎光临") + alpha.write_text(5, "WELCOME"))
    assert emulator.wait_for(4, lambda s: s.text == "欢迎光临", 2)
    assert emulator.wait_for(5, lambda s: s.text == "WELCOME", 2)
    assert emulator.rejected > 0


def test_unplugged_line_is_reopened_by_the_port(
    bus: tuple[LedBusEmulator, ReconnectingPort],
) -> None:
    emulator, port = bus
    opened = port.opened_count
    emulator.unplug()
    assert wait_until(lambda: not port.is_open, 2)
    assert not port.write(GbFrameCodec().show(1, "lost"))
    emulator.plug()
    assert wait_until(lambda: port.is_open and port.opened_count == opened + 1, 2)
    assert port.write(GbFrameCodec().show(1, "back"))
    assert emulator.wait_for(1, lambda s: s.text == "back", 2)
