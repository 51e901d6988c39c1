"""The plain addressed GB2312 frame, byte for byte (docs/hardware-serial.md)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from contract.settings.bus import GbFrameBytes
from hardware.led.gbframe import GbFrameCodec, GbFrameDecoder
from hardware.led.modes import DisplayMode, Shown


def test_paused_frame_byte_exact() -> None:
    # 暂停服务 in GB2312: D4DD CDA3 B7FE CEF1
    frame = GbFrameCodec().show(5, "暂停服务", DisplayMode.STEADY)
    body = bytes([0x05, 0x01, 0x00, 0x00, 0x08]) + bytes.fromhex("D4DDCDA3B7FECEF1")
    assert sum(body) % 256 == 0xA3  # 0x0E + 0x695 = 0x6A3
    assert frame == b"\xaa" + body + b"\xa3\x55"


def test_flash_and_clear() -> None:
    codec = GbFrameCodec()
    assert codec.show(1, "A1", DisplayMode.FLASH) == bytes.fromhex("AA 01 01 01 0002 41 31 77 55")
    assert codec.clear(2) == bytes.fromhex("AA 02 02 00 0000 04 55")
    assert codec.parse(codec.clear(2)) == Shown(2, "", None)


def test_bytes_and_encoding_are_configurable() -> None:
    codec = GbFrameCodec(GbFrameBytes(head=0x7E, tail=0x0D, show=0x31, flash=0x05, encoding="gbk"))
    frame = codec.show(9, "喆", DisplayMode.FLASH)  # a GBK-only character
    assert frame[:4] == bytes([0x7E, 0x09, 0x31, 0x05]) and frame[-1] == 0x0D
    assert codec.parse(frame) == Shown(9, "喆", DisplayMode.FLASH)
    assert GbFrameCodec().parse(frame) is None


def test_unencodable_characters_become_question_marks() -> None:
    codec = GbFrameCodec()
    assert codec.parse(codec.show(1, "喆A", DisplayMode.STEADY)) == Shown(
        1, "?A", DisplayMode.STEADY
    )


def test_noise_torn_and_corrupt_frames_in_a_stream() -> None:
    codec = GbFrameCodec()
    good1 = codec.show(1, "请A001号到1号窗口", DisplayMode.FLASH)
    good2 = codec.show(2, "暂停服务")
    torn = good1[:7]
    corrupt = bytearray(codec.show(3, "欢迎光临"))
    corrupt[8] ^= 0x40
    decoder = GbFrameDecoder(codec)
    stream = b"\x00\xaa\xaa\x55noise" + torn + good1 + bytes(corrupt) + good2
    out = []
    for i in range(0, len(stream), 5):
        out += list(decoder.feed(stream[i : i + 5]))
    assert [(s.address, s.text) for s in out] == [(1, "请A001号到1号窗口"), (2, "暂停服务")]


def test_a_torn_frame_claiming_a_long_text_is_dropped_when_the_line_goes_quiet() -> None:
    codec = GbFrameCodec()
    decoder = GbFrameDecoder(codec)
    torn = bytes.fromhex("AA 01 01 00 03 00") + b"xx"  # says 768 bytes follow, then stops
    good = codec.show(4, "欢迎光临")
    assert list(decoder.feed(torn + good)) == []
    assert [s.text for s in decoder.idle()] == ["欢迎光临"]


@given(
    st.lists(
        st.tuples(
            st.integers(1, 255),
            st.text(alphabet="暂停服务欢迎光临号窗口请AB0123456789 ", max_size=20),
        ),
        max_size=5,
    ),
    st.binary(max_size=30),
    st.integers(1, 17),
)
def test_any_chunking_decodes_every_frame(
    items: list[tuple[int, str]], noise: bytes, chunk: int
) -> None:
    codec = GbFrameCodec()
    stream = b"".join(codec.show(a, t) for a, t in items)
    decoder = GbFrameDecoder(codec)
    out = []
    for i in range(0, len(stream), chunk):
        out += list(decoder.feed(stream[i : i + chunk]))
    assert [(s.address, s.text) for s in out] == items
