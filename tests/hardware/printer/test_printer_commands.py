"""Byte-exact tests of every ESC/POS command a ticket uses.

The golden frames are quoted from printer manuals, not from our encoder:
- NCR 7168 programmer's guide, "QR Code: Print the symbol data in the symbol storage area"
  (onlinehelp.ncr.com/Retail/Printers/7168/.../QRCodePrintSymbolData.htm): GS ( k pL pH cn fn m,
  "Hexadecimal 1D 28 6B pL pH cn fn m", "(pL + pH x 256) = 3 So (pL = 3, pH = 0)", cn 49, fn 81,
  m 48.
- HPRT HM-E200 programming manual, "QR Code: Store the data in the symbol storage area":
  "Hex 1D 28 6B pL pH cn fn m d1...dk", cn = 49, fn = 80, m = 48, "k = (pL + pH x 256) - 3".
- Epson's ESC/POS reference for QR model / module size / error correction (content_id 140-142),
  quoted as "Hex 1D 28 6B 04 00 31 41 n1 n2" (n1 50 = model 2, n2 0), "1D 28 6B 03 00 31 43 n"
  and "1D 28 6B 03 00 31 45 n" (n 48-51 = L, M, Q, H).
- NCR 7168 "Select Cut Mode and Cut Paper": "1D 56 m n", m 65 full cut / 66 partial cut after
  feeding to the cutting position + n units.
- Samsung/Bixolon SRP-350 manual, DLE EOT n "Real-time status transmission": "Hex 10 04 n",
  1 <= n <= 4.
"""

from __future__ import annotations

import pytest
from PIL import Image

from contract.settings.printer import PrinterConfig
from hardware.emulators.printer import EscposDecoder
from hardware.printer import commands as cmd
from hardware.printer.render import render_ticket

TICKET = {
    "id": "20261126-A012",
    "number": "A012",
    "service": "psb-id-card",
    "department": "psb",
    "issued_at": "2026-11-26T09:03:12+08:00",
    "status": "waiting",
    "ahead": 5,
    "est_wait_min": 12,
}
NAMES = {"hall_name": "示例政务服务大厅", "department_name": "公安局", "service_name": "身份证"}


def hexbytes(text: str) -> bytes:
    return bytes.fromhex(text)


# -- golden frames from the manuals --------------------------------------------------------------


def test_qr_print_frame_is_the_ncr_manuals() -> None:
    # 1D 28 6B, pL=3 pH=0, cn=49 (0x31), fn=81 (0x51), m=48 (0x30)
    golden = hexbytes("1D 28 6B 03 00 31 51 30")
    assert cmd.qr("20261126-A012").endswith(golden)


def test_qr_store_frame_follows_the_hprt_manual() -> None:
    data = b"20261126-A012"
    k = len(data)
    p = k + 3  # k = (pL + pH x 256) - 3
    golden = hexbytes("1D 28 6B") + bytes((p % 256, p // 256)) + hexbytes("31 50 30") + data
    assert golden in cmd.qr(data.decode())


def test_qr_setup_frames_are_epsons() -> None:
    out = cmd.qr("x", module_dots=3, ec="M")
    assert out.startswith(
        hexbytes("1D 28 6B 04 00 31 41 32 00")  # model 2
        + hexbytes("1D 28 6B 03 00 31 43 03")  # module size 3
        + hexbytes("1D 28 6B 03 00 31 45 31")  # error correction M (49)
    )


def test_whole_qr_sequence_byte_exact() -> None:
    assert cmd.qr("AB", module_dots=6, ec="M") == hexbytes(
        "1D 28 6B 04 00 31 41 32 00"
        "1D 28 6B 03 00 31 43 06"
        "1D 28 6B 03 00 31 45 31"
        "1D 28 6B 05 00 31 50 30 41 42"
        "1D 28 6B 03 00 31 51 30"
    )


def test_cut_frames_are_the_manuals() -> None:
    assert cmd.cut("full", 0) == hexbytes("1D 56 41 00")  # m = 65
    assert cmd.cut("partial", 0) == hexbytes("1D 56 42 00")  # m = 66
    assert cmd.cut("partial", 24) == hexbytes("1D 56 42 18")


def test_status_request_frames() -> None:
    assert [cmd.status_request(n) for n in (1, 2, 3, 4)] == [
        hexbytes("10 04 01"),
        hexbytes("10 04 02"),
        hexbytes("10 04 03"),
        hexbytes("10 04 04"),
    ]
    with pytest.raises(ValueError):
        cmd.status_request(5)


# -- the rest of the vocabulary ------------------------------------------------------------------


def test_simple_commands() -> None:
    assert hexbytes("1B 40") == cmd.INIT
    assert hexbytes("1C 26") == cmd.CHINESE_ON
    assert hexbytes("1C 2E") == cmd.CHINESE_OFF
    assert cmd.align("left") == hexbytes("1B 61 00")
    assert cmd.align("center") == hexbytes("1B 61 01")
    assert cmd.align("right") == hexbytes("1B 61 02")
    assert cmd.bold(True) == hexbytes("1B 45 01")
    assert cmd.bold(False) == hexbytes("1B 45 00")
    assert cmd.feed_lines(4) == hexbytes("1B 64 04")
    assert cmd.line_spacing(24) == hexbytes("1B 33 18")
    assert cmd.line_spacing() == hexbytes("1B 32")


@pytest.mark.parametrize(
    ("width", "height", "n"), [(1, 1, 0x00), (1, 2, 0x01), (2, 1, 0x10), (4, 4, 0x33), (8, 8, 0x77)]
)
def test_character_size(width: int, height: int, n: int) -> None:
    assert cmd.size(width, height) == hexbytes("1D 21") + bytes((n,))


def test_character_size_range() -> None:
    with pytest.raises(ValueError):
        cmd.size(9, 1)


def test_feed_dots_splits_long_feeds() -> None:
    assert cmd.feed_dots(0) == b""
    assert cmd.feed_dots(30) == hexbytes("1B 4A 1E")
    assert cmd.feed_dots(300) == hexbytes("1B 4A FF 1B 4A 2D")


def test_raster_image_frame() -> None:
    # GS v 0 m xL xH yL yH d1...dk: 16 x 2 dots = 2 bytes a row; black pixels are 1 bits.
    image = Image.new("1", (16, 2), 1)
    image.putpixel((0, 0), 0)
    image.putpixel((15, 1), 0)
    assert cmd.raster(image) == hexbytes("1D 76 30 00 02 00 02 00 80 00 00 01")


def test_raster_pads_rows_to_whole_bytes() -> None:
    image = Image.new("1", (9, 1), 0)  # all black, 9 dots: 2 bytes, the last one padded
    assert cmd.raster(image) == hexbytes("1D 76 30 00 02 00 01 00 FF 80")


def test_column_bit_image_frame() -> None:
    # ESC * m nL nH d1...dk, m = 33 (24-dot double density), k = (nL + nH x 256) x 3: the
    # Citizen PPU-231II and Zijiang ZJ-58 manuals' formula; data down a column, then across.
    image = Image.new("1", (2, 24), 1)
    image.putpixel((0, 0), 0)  # top of column 0: first byte, high bit
    image.putpixel((1, 23), 0)  # bottom of column 1: its third byte, low bit
    assert cmd.column_image(image) == hexbytes("1B 2A 21 02 00 80 00 00 00 00 01")
    with pytest.raises(ValueError):
        cmd.column_image(Image.new("1", (2, 8), 1))


def test_text_in_the_printers_encoding() -> None:
    assert (
        cmd.text("公安局", "gb18030") == "公安局".encode("gb18030") == hexbytes("B9 AB B0 B2 BE D6")
    )
    assert cmd.text("A012", "gbk") == b"A012"


# -- tickets use only these ----------------------------------------------------------------------


def test_native_ticket_is_made_of_the_tested_commands() -> None:
    data = render_ticket(TICKET, config=PrinterConfig(target="-", mode="native"), **NAMES).data
    assert data.startswith(cmd.INIT + cmd.align("center"))
    hall = "示例政务服务大厅".encode("gb18030")
    assert (
        cmd.size(1, 2) + cmd.bold(True) + cmd.CHINESE_ON + hall + cmd.LF + cmd.CHINESE_OFF in data
    )
    assert cmd.size(4, 4) + cmd.bold(True) + b"A012" + cmd.LF in data
    assert cmd.qr("20261126-A012", 6, "M") in data
    assert data.endswith(cmd.cut("partial", 0))


@pytest.mark.parametrize("mode", ["raster", "native", "mixed"])
def test_every_command_of_a_ticket_is_known_to_the_decoder(mode: str) -> None:
    data = render_ticket(
        TICKET, config=PrinterConfig(target="-", mode=mode), lang="en", **NAMES
    ).data
    decoder = EscposDecoder(512)
    decoder.feed(data)
    assert decoder.unknown == []
    assert decoder.buffer == b""  # nothing left half-parsed
