"""Alpha Sign Communications Protocol frames, byte for byte."""

from __future__ import annotations

import pytest

from hardware.led import alpha
from hardware.led.modes import DisplayMode, Shown

# Golden frame from outside our encoder. The Alpha protocol document (Adaptive Micro Systems,
# "Alpha Sign Communications Protocol", 9708-8061F, section 5.1 standard transmission packet and 6.1
# write TEXT file) is quoted in this exact form by the public protocol notes at
# https://wls.wwco.com/ledsigns/alpha/protocol.html (QBASIC: CHR$(1) + "Z00" + CHR$(2) + "AA" +
# CHR$(27) + " b" + "Message" + CHR$(4), after the NULs that set the baud rate): type Z (all signs),
# address 00, write TEXT (A) to file A, ESC, position middle (20), mode hold (b), no checksum.
GOLDEN_NO_CHECKSUM = b"\x00\x00\x00\x00\x00\x01Z00\x02AA\x1b bMessage\x04"
# The same packet as quoted from the 2006 manual in a Crestron users' thread (ESC " " "b", then a
# colour code 1C "2" that we do not send but must decode).
GOLDEN_WITH_COLOUR = b"\x00\x00\x00\x00\x00\x01Z00\x02AA\x1b b\x1c2hello world\x04"


def test_golden_frame_from_the_published_description() -> None:
    assert (
        alpha.write_text(0, "Message", DisplayMode.STEADY, with_checksum=False)
        == GOLDEN_NO_CHECKSUM
    )
    [decoded] = alpha.AlphaDecoder().feed(GOLDEN_NO_CHECKSUM)
    assert decoded == alpha.AlphaWrite("Z", 0, "A", 0x20, DisplayMode.STEADY, "Message", False)


def test_golden_frame_with_a_colour_code_decodes() -> None:
    [decoded] = alpha.AlphaDecoder().feed(GOLDEN_WITH_COLOUR)
    assert decoded.text == "\x1c2hello world"
    assert decoded.mode is DisplayMode.STEADY


def test_checksum_is_the_sum_from_stx_to_etx_as_four_hex_digits() -> None:
    # STX A A ESC 20 c A 0 1 2 space - > space 5 ETX, summed by hand:
    # 02+41+41+1B+20+63 = 0x122; "A012 -> 5" = 41+30+31+32+20+2D+3E+20+35 = 0x1B4; + ETX 03
    assert 0x02 + 0x41 + 0x41 + 0x1B + 0x20 + 0x63 == 0x122
    assert 0x41 + 0x30 + 0x31 + 0x32 + 0x20 + 0x2D + 0x3E + 0x20 + 0x35 == 0x1B4
    assert 0x122 + 0x1B4 + 0x03 == 0x2D9
    frame = alpha.write_text(5, "A012 -> 5", DisplayMode.FLASH)
    assert frame == (b"\x00" * 5 + b"\x01Z05\x02AA\x1b\x20cA012 -> 5\x03" + b"02D9" + b"\x04")


@pytest.mark.parametrize(
    ("mode", "code"),
    [(DisplayMode.STEADY, b"b"), (DisplayMode.FLASH, b"c"), (DisplayMode.SCROLL, b"a")],
)
def test_modes_and_positions(mode: DisplayMode, code: bytes) -> None:
    frame = alpha.write_text(0x1F, "PAUSED", mode, position=alpha.POSITION_FILL, label="B")
    assert frame[5:18] == b"\x01Z1F\x02AB\x1b\x30" + code + b"PAU"
    [decoded] = alpha.AlphaDecoder().feed(frame)
    assert (decoded.address, decoded.label, decoded.position, decoded.mode) == (
        0x1F, "B", 0x30, mode,
    )  # fmt: skip


def test_chinese_and_control_characters_never_reach_the_sign() -> None:
    frame = alpha.write_text(1, "暂停\x04X", DisplayMode.STEADY)
    [decoded] = alpha.AlphaDecoder().feed(frame)
    assert decoded.text == "???X"


def test_clear_writes_an_empty_text_file() -> None:
    frame = alpha.clear(3)
    assert frame == b"\x00" * 5 + b"\x01Z03\x02AA\x03" + b"0087" + b"\x04"
    [decoded] = alpha.AlphaDecoder().feed(frame)
    assert decoded.shown() == Shown(3, "", None)


def test_stream_in_any_chunking_with_noise_torn_and_corrupt_packets() -> None:
    good1 = alpha.write_text(1, "A001 -> 1", DisplayMode.FLASH)
    good2 = alpha.write_text(2, "PAUSED")
    torn = good1[: len(good1) // 2]
    corrupt = bytearray(alpha.write_text(3, "B002 -> 3"))
    corrupt[-3] ^= 0x01  # a checksum digit off
    stream = b"\xff\x10garbage" + torn + good1 + bytes(corrupt) + b"\x04\x04" + good2
    decoder = alpha.AlphaDecoder()
    out = []
    for i in range(0, len(stream), 3):
        out += list(decoder.feed(stream[i : i + 3]))
    assert [(w.address, w.text) for w in out] == [(1, "A001 -> 1"), (2, "PAUSED")]
    assert decoder.rejected == 2


def test_other_commands_are_ignored() -> None:
    special = b"\x00" * 5 + b"\x01Z00\x02E$\x04"  # a SPECIAL FUNCTION write
    assert list(alpha.AlphaDecoder().feed(special)) == []
