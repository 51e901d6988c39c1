"""The virtual keypad bus over a real pseudo-terminal: keys out, echoes and displays back."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardware.emulators.keypad_bus import KeypadBusEmulator
from hardware.emulators.keypad_cli import parse_keys
from hardware.keypad.frame import FrameDecoder, Key, beep_frame, display_frame
from hardware.serial_port import ReconnectingPort, wait_until


def test_keys_are_resent_until_echoed_and_displays_are_shown(tmp_path: Path) -> None:
    emulator = KeypadBusEmulator(tmp_path / "kp", [5, 6])
    emulator.start()
    decoder = FrameDecoder()
    received: list[bytes] = []
    echo = {"on": False}

    def on_data(data: bytes) -> None:
        for frame in decoder.feed(data):
            received.append(frame.encode())
            if echo["on"]:
                port.write(frame.encode())

    port = ReconnectingPort(str(tmp_path / "kp"), on_data=on_data, reopen_seconds=0.1)
    port.start()
    try:
        assert wait_until(lambda: port.is_open, 3)
        emulator.press(5, Key.D1, Key.CALL)
        assert wait_until(lambda: len(received) >= 4, 3)  # not echoed: sent again
        echo["on"] = True
        assert wait_until(emulator.all_acked, 3)
        assert (5, Key.CALL) in emulator.acked
        port.write(b"\x68\x00noise" + display_frame(5, "12")[:5])
        port.write(display_frame(5, "12") + beep_frame(6) + display_frame(6, "E19"))
        assert emulator.wait_display(5, lambda t: t == "    12", 2)
        assert emulator.wait_display(6, lambda t: t == "   E19", 2)
        assert emulator.beeps[6] == 1
        port.write(display_frame(9, "1"))  # another bus's keypad: not ours
        assert emulator.display(9) is None
    finally:
        port.stop()
        emulator.stop()


def test_cli_key_letters() -> None:
    assert parse_keys("12c") == [Key.D1, Key.D2, Key.CALL]
    assert parse_keys("0501K") == [Key.D0, Key.D5, Key.D0, Key.D1, Key.CONFIRM]
    assert parse_keys("R V P T") == [Key.RECALL, Key.EVALUATE, Key.PAUSE, Key.TRANSFER]
    with pytest.raises(ValueError, match="unknown key 'X'"):
        parse_keys("X")
