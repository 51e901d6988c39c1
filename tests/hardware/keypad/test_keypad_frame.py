"""The caller keypad bus frame FF 68 L L 68 ADDR FUNC DATA CS 16, byte for byte."""

from __future__ import annotations

from hardware.keypad.frame import (
    Frame,
    FrameDecoder,
    Func,
    Key,
    beep_frame,
    display_frame,
    key_frame,
)

# docs/hardware-serial.md: ticket 123 on keypad 5 (the bus as seen in Chinese halls).
GOLDEN_DISPLAY_123 = bytes.fromhex("FF 68 08 08 68 05 02 0A 0A 0A 01 02 03 2B 16")


def test_golden_display_frame() -> None:
    assert display_frame(5, "123") == GOLDEN_DISPLAY_123
    assert display_frame(5, "A123") == GOLDEN_DISPLAY_123  # a prefix letter cannot be drawn
    [frame] = FrameDecoder().feed(GOLDEN_DISPLAY_123)
    assert frame == Frame(5, Func.DISPLAY, bytes([0x0A, 0x0A, 0x0A, 1, 2, 3]))
    assert frame.display_text == "   123"


def test_key_error_and_beep_frames() -> None:
    assert key_frame(5, Key.CALL) == bytes.fromhex("FF 68 03 03 68 05 01 0C 12 16")
    assert key_frame(0x21, Key.D7) == bytes.fromhex("FF 68 03 03 68 21 01 07 29 16")
    assert display_frame(2, "E19") == bytes.fromhex("FF 68 08 08 68 02 02 0A 0A 0A 0E 01 09 3A 16")
    assert beep_frame(3) == bytes.fromhex("FF 68 02 02 68 03 03 06 16")
    assert display_frame(1, "", width=3) == bytes.fromhex("FF 68 05 05 68 01 02 0A 0A 0A 21 16")


def test_all_keys_round_trip() -> None:
    decoder = FrameDecoder()
    stream = b"".join(key_frame(9, key) for key in Key)
    assert [f.key for f in decoder.feed(stream)] == list(Key)


def test_noise_torn_and_corrupt_frames() -> None:
    good = key_frame(4, Key.RECALL)
    corrupt = bytearray(key_frame(4, Key.CALL))
    corrupt[-2] ^= 0xFF
    stream = b"\x68\x68\x00junk" + good[:6] + bytes(corrupt) + good + b"\x16\xff"
    decoder = FrameDecoder()
    out = []
    for i in range(0, len(stream), 4):
        out += list(decoder.feed(stream[i : i + 4]))
    assert [f.key for f in out] == [Key.RECALL]
    assert decoder.rejected > 0


def test_a_torn_frame_is_dropped_when_the_line_goes_quiet() -> None:
    decoder = FrameDecoder()
    torn = bytes.fromhex("FF 68 30 30 68 05 01")  # claims 48 bytes
    good = key_frame(5, Key.CALL)
    assert list(decoder.feed(torn + good)) == []
    assert [f.key for f in decoder.idle()] == [Key.CALL]


def test_an_unknown_key_code_is_no_key() -> None:
    [frame] = FrameDecoder().feed(Frame(1, Func.KEY, b"\x55").encode())
    assert frame.key is None
