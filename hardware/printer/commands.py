"""The ESC/POS commands a ticket uses, as bytes. Pure: no device, no state.

Simple commands are written out here; raster images (`GS v 0`) and QR codes (`GS ( k`) go through
python-escpos's encoder (a Dummy printer with a profile), so a ticket's bytes are what python-escpos
would send. Every function is tested byte for byte (tests/hardware/printer/test_commands.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PIL import Image

from hardware.errors import ConfigurationError
from hardware.printer import _escpos

if TYPE_CHECKING:
    from escpos.printer import Dummy

ESC = b"\x1b"
GS = b"\x1d"
FS = b"\x1c"
DLE = b"\x10"
EOT = b"\x04"
LF = b"\n"

INIT = ESC + b"@"  # ESC @: clears the buffer and every mode
CHINESE_ON = FS + b"&"  # FS &: two-byte character mode (GB18030, GBK, Big5: the printer's own)
CHINESE_OFF = FS + b"."  # FS .: back to one-byte characters

ALIGN = {"left": 0, "center": 1, "right": 2}
QR_EC = {"L": 0, "M": 1, "Q": 2, "H": 3}


def align(where: str) -> bytes:
    """ESC a n: justification of text, raster images and QR codes, from the next line on."""
    return ESC + b"a" + bytes((ALIGN[where],))


def bold(on: bool) -> bytes:
    """ESC E n: emphasized."""
    return ESC + b"E" + (b"\x01" if on else b"\x00")


def size(width: int = 1, height: int = 1) -> bytes:
    """GS ! n: character size, 1 to 8 times in each direction (also for two-byte characters)."""
    if not (1 <= width <= 8 and 1 <= height <= 8):
        raise ValueError(f"character size {width}x{height}: each must be 1 to 8")
    return GS + b"!" + bytes((((width - 1) << 4) | (height - 1),))


def feed_lines(lines: int) -> bytes:
    """ESC d n: print what is buffered and feed n lines."""
    if not 0 <= lines <= 255:
        raise ValueError("feed 0 to 255 lines")
    return ESC + b"d" + bytes((lines,))


def feed_dots(dots: int) -> bytes:
    """ESC J n: print what is buffered and feed n dots (n x 1/180 in on most printers, 0.125 mm
    on 203 dpi ones); longer feeds are split."""
    out = b""
    while dots > 0:
        step = min(dots, 255)
        out += ESC + b"J" + bytes((step,))
        dots -= step
    return out


def line_spacing(dots: int | None = None) -> bytes:
    """ESC 3 n sets the line spacing in dots; ESC 2 goes back to the default (about 30 dots)."""
    if dots is None:
        return ESC + b"2"
    if not 0 <= dots <= 255:
        raise ValueError("line spacing 0 to 255 dots")
    return ESC + b"3" + bytes((dots,))


def cut(mode: str = "partial", feed_dots: int = 0) -> bytes:
    """GS V 65/66 n: feed to the cutter (plus n dots) and cut; full (65) or partial (66)."""
    if mode not in ("full", "partial"):
        raise ValueError("cut is 'full' or 'partial'")
    return GS + b"V" + (b"A" if mode == "full" else b"B") + bytes((feed_dots,))


def column_image(image: Image.Image) -> bytes:
    """ESC * 33 nL nH d1...dk: a 24-dot double-density bit image that sits in the line like a
    character (so one glyph the printer lacks can be printed among its own text). Data goes
    column by column, 3 bytes a column, the top dot in the high bit; k = (nL + nH x 256) x 3.
    `image` is 24 dots high; black pixels print."""
    if image.height != 24:
        raise ValueError("an ESC * 33 image is 24 dots high")
    pixels = image.convert("1").load()
    assert pixels is not None
    data = bytearray()
    for x in range(image.width):
        for band in range(3):
            byte = 0
            for bit in range(8):
                if pixels[x, band * 8 + bit] == 0:
                    byte |= 0x80 >> bit
            data.append(byte)
    return ESC + b"*" + bytes((33, image.width & 0xFF, image.width >> 8)) + bytes(data)


def status_request(n: int) -> bytes:
    """DLE EOT n: real-time status (1 printer, 2 offline cause, 3 error cause, 4 roll paper)."""
    if n not in (1, 2, 3, 4):
        raise ValueError("DLE EOT n takes n = 1 to 4")
    return DLE + EOT + bytes((n,))


def _dummy(profile: str) -> Dummy:
    dummy: Dummy = _escpos.setup().Dummy(profile=profile)
    return dummy


def profile_dots(profile: str) -> int | None:
    """The printable dots of a python-escpos profile (None where the profile does not say).
    Raises ConfigurationError for a profile python-escpos does not know."""
    try:
        pixels = _dummy(profile).profile.profile_data["media"]["width"]["pixels"]
    except Exception as exc:  # escpos raises its own NotSupported / KeyError
        raise ConfigurationError(
            f"printer.profile {profile!r} is not a python-escpos profile: leave it empty or "
            "name one from `python-escpos`'s capabilities (e.g. 'TM-T88V', 'POS-5890')"
        ) from exc
    return pixels if isinstance(pixels, int) else None


def raster(image: Image.Image, profile: str = "TM-T88V") -> bytes:
    """GS v 0 m xL xH yL yH d...: a bit image; black pixels print. Encoded by python-escpos."""
    printer = _dummy(profile)
    printer.image(image, impl="bitImageRaster", fragment_height=image.height + 1, center=False)
    return bytes(printer.output)


def qr(data: str, module_dots: int = 6, ec: str = "M", profile: str = "TM-T88V") -> bytes:
    """The GS ( k sequence of a QR code: model 2, module size, error correction, store, print.
    Encoded by python-escpos."""
    printer = _dummy(profile)
    printer.qr(data, ec=QR_EC[ec], size=module_dots, native=True)
    return bytes(printer.output)


def text(value: str, encoding: str) -> bytes:
    """Characters in the printer's encoding (ASCII passes through in two-byte mode)."""
    return value.encode(encoding)
