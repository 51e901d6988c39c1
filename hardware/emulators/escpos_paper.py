"""The paper of the emulated printer: what its ESC/POS decoder draws, where, and the ticket it
cuts off (a PNG-ready image and the list of what is on it).

The decoder (escpos_decoder.py) knows the commands and the print modes; this module knows dots:
how a line of text runs is laid out and drawn, and how the images of ESC *, GS v 0 and a QR code
are built from their bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont, ImageOps

FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
DOT_FONT = 24
HALF_CELL = 12  # dots of a one-byte character of font A at size 1; two-byte ones take two
QR_LEVELS = (
    qrcode.constants.ERROR_CORRECT_L,
    qrcode.constants.ERROR_CORRECT_M,
    qrcode.constants.ERROR_CORRECT_Q,
    qrcode.constants.ERROR_CORRECT_H,
)

Fonts = dict[int, ImageFont.FreeTypeFont]  # by pixel size: one cache per decoder


@dataclass(frozen=True)
class Element:
    """Something drawn on a ticket: kind 'text', 'image' or 'qr', its box in dots, its text."""

    kind: str
    box: tuple[int, int, int, int]
    text: str = ""
    scale: tuple[int, int] = (1, 1)


@dataclass
class PrintedTicket:
    image: Image.Image
    elements: list[Element]
    data: bytes
    cut: bool = True

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.image.save(path)
        return path


@dataclass
class Run:
    """Text of one size and weight in the line being collected (printed at LF)."""

    text: str
    width: int
    height: int
    bold: bool
    image: Image.Image | None = None  # a bit image in the line (ESC *): text is one U+FFFC


class Page:
    """The paper of the ticket being printed: a growing white image and a print position."""

    def __init__(self, dots: int, fonts: Fonts) -> None:
        self.dots = dots
        self.image = Image.new("L", (dots, 2000), 255)
        self.y = 0
        self.elements: list[Element] = []
        self._fonts = fonts

    def need(self, rows: int) -> None:
        if self.y + rows > self.image.height:
            grown = Image.new("L", (self.dots, max(self.image.height * 2, self.y + rows)), 255)
            grown.paste(self.image, (0, 0))
            self.image = grown

    def advance(self, dots: int) -> None:
        self.need(dots)
        self.y += dots

    def finish(self, data: bytes, cut: bool) -> PrintedTicket:
        height = max(1, self.y + 8)
        self.need(8)
        return PrintedTicket(self.image.crop((0, 0, self.dots, height)), self.elements, data, cut)

    def _x(self, width: int, align: int) -> int:
        """The left edge of something `width` dots wide, for ESC a's 0 left, 1 centre, 2 right."""
        if align == 1:
            return max(0, (self.dots - width) // 2)
        if align == 2:
            return max(0, self.dots - width)
        return 0

    def _font(self, px: int) -> ImageFont.FreeTypeFont:
        if px not in self._fonts:
            self._fonts[px] = ImageFont.truetype(FONT_PATH, px)
        return self._fonts[px]

    def draw_line(self, runs: list[Run], align: int, line_spacing: int) -> None:
        """One printed line: its runs side by side, wrapped at the paper's edge, then a feed of
        the line spacing (or of the line's height, if that is more)."""
        cells = [
            (
                ch,
                run,
                run.image.width
                if run.image
                else HALF_CELL * run.width * (1 if ord(ch) < 0x80 else 2),
            )
            for run in runs
            for ch in run.text
        ]
        width = sum(c[2] for c in cells)
        height = max(DOT_FONT * run.height for run in runs)
        advance = max(line_spacing, height + 6)
        self.need(advance)
        x = x0 = self._x(width, align)
        for ch, run, cell in cells:
            if x + cell > self.dots:  # wrap at the paper's edge, as the printer does
                self.y += advance
                self.need(advance)
                x = 0
            if run.image is not None:
                self.image.paste(run.image, (x, self.y + height - run.image.height))
                box = (x, self.y + height - run.image.height, x + cell, self.y + height)
                self.elements.append(Element("glyph", box))
                x += cell
                continue
            glyph_h = DOT_FONT * run.height
            # The face's ascent + descent fit the cell, as in a printer's 24-dot font.
            face = self._font(glyph_h * 5 // 6)
            glyph = Image.new("L", (2 * glyph_h, glyph_h), 255)
            draw = ImageDraw.Draw(glyph)
            draw.text((0, glyph_h // 24), ch, font=face, fill=0)
            if run.bold:
                draw.text((1, glyph_h // 24), ch, font=face, fill=0)
            natural = max(1, int(face.getlength(ch)) + (1 if run.bold else 0))
            glyph = glyph.crop((0, 0, natural, glyph_h))
            stretched = max(1, natural * run.width // run.height)
            glyph = glyph.resize((min(stretched, cell), glyph_h))
            offset = max(0, (cell - glyph.width) // 2)
            self.image.paste(glyph, (x + offset, self.y + height - glyph_h))
            x += cell
        text = "".join(run.text for run in runs)
        scale = (max(r.width for r in runs), max(r.height for r in runs))
        self.elements.append(
            Element("text", (x0, self.y, x0 + width, self.y + height), text, scale)
        )
        self.y += advance

    def draw_image(self, image: Image.Image, align: int, kind: str, text: str = "") -> None:
        """A raster image or a QR code on lines of its own."""
        x = self._x(image.width, align)
        self.need(image.height)
        self.image.paste(image, (x, self.y))
        box = (x, self.y, x + image.width, self.y + image.height)
        self.elements.append(Element(kind, box, text))
        self.y += image.height


def bit_image(m: int, columns: int, data: bytes) -> Image.Image:
    """ESC *: columns of 8 or 24 dots, top dot in the high bit; single density doubles the
    width (and 8-dot modes are 67 dpi high: three times the height)."""
    rows = 24 if m in (32, 33) else 8
    per_column = rows // 8
    image = Image.new("L", (columns, rows), 255)
    pixels = image.load()
    assert pixels is not None
    for x in range(columns):
        for band in range(per_column):
            byte = data[x * per_column + band]
            for bit in range(8):
                if byte & (0x80 >> bit):
                    pixels[x, band * 8 + bit] = 0
    if m in (0, 32):
        image = image.resize((columns * 2, image.height), Image.Resampling.NEAREST)
    if rows == 8:
        image = image.resize((image.width, 24), Image.Resampling.NEAREST)
    return image


def raster_image(width_bytes: int, rows: int, data: bytes) -> Image.Image:
    """GS v 0: rows of `width_bytes` bytes, 1 a black dot."""
    bits = Image.frombytes("1", (width_bytes * 8, rows), data)
    return ImageOps.invert(bits.convert("L"))


def qr_image(data: bytes, module: int, error_correction: int) -> Image.Image:
    """GS ( k: the stored data as a QR code of `module`-dot modules, with no quiet zone."""
    code = qrcode.QRCode(
        error_correction=QR_LEVELS[max(0, min(3, error_correction))],
        box_size=module,
        border=0,
    )
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    n = len(matrix)
    image = Image.new("L", (n, n), 255)
    image.putdata([0 if cell else 255 for row in matrix for cell in row])
    return image.resize((n * module, n * module), Image.Resampling.NEAREST)
