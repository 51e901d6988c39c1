"""Drawing with Pillow: text lines, the big number, the QR code and whole tickets, as 1-bit images
(black prints). Text is drawn without anti-aliasing: a thermal head has no grey."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache

import qrcode
from PIL import Image, ImageDraw, ImageFont, ImageOps

from hardware.printer.layout import Block

FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
DOT_FONT = 24  # the printer's own font is 12x24 dots (24x24 for Chinese): one text unit
LINE_GAP = 8  # dots between lines
BLOCK_GAP = 12  # dots between blocks: more than BAND_GAP, so each block is its own band
BAND_GAP = 10  # blank rows that split a raster into bands (sent as a paper feed instead)
WHITE, BLACK = 1, 0


@lru_cache(maxsize=32)
def font(px: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(FONT_PATH, px)
    except OSError as exc:
        raise FileNotFoundError(
            f"the CJK font {FONT_PATH} is missing: install the Debian package fonts-wqy-microhei"
        ) from exc


def wrap(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Greedy line breaking: Chinese breaks anywhere, other text at spaces where it can."""
    if fits(text):  # the usual case: one measurement
        return [text]
    lines: list[str] = []
    line = ""
    for ch in text:
        if fits(line + ch):
            line += ch
            continue
        space = line.rfind(" ")
        if ch != " " and space > 0 and line[space + 1 :].isascii():
            lines.append(line[:space])
            line = line[space + 1 :] + ch
        else:
            lines.append(line.rstrip())
            line = ch.lstrip()
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


def text_line(text: str, px: int, *, bold: bool = False, stretch: int = 1) -> Image.Image:
    """One line of text, `px` dots high (cropped to its ink horizontally)."""
    face = font(px)
    width = max(1, int(face.getlength(text)) + (2 if bold else 0))
    ascent, descent = face.getmetrics()
    image = Image.new("1", (width, ascent + descent), WHITE)
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"
    draw.text((0, 0), text, font=face, fill=BLACK)
    if bold:  # a second pass one dot to the right: what the printer's emphasized mode does
        draw.text((1, 0), text, font=face, fill=BLACK)
    if stretch > 1:
        image = image.resize((width * stretch, image.height), Image.Resampling.NEAREST)
    return image


def glyph(ch: str, dots: int = DOT_FONT, bold: bool = False) -> Image.Image:
    """One character in a `dots` x `dots` cell, like a character of the printer's own font."""
    face = font(dots * 11 // 12)
    cell = Image.new("1", (dots, dots), WHITE)
    draw = ImageDraw.Draw(cell)
    draw.fontmode = "1"
    ascent, descent = face.getmetrics()
    top = (dots - ascent - descent) // 2
    left = max(0, (dots - int(face.getlength(ch))) // 2)
    draw.text((left, top), ch, font=face, fill=BLACK)
    if bold:
        draw.text((left + 1, top), ch, font=face, fill=BLACK)
    return cell


def number_image(number: str, dots: int, height_units: int = 4) -> Image.Image:
    """The big number: as tall as `height_units` lines of the printer's font, never wider than
    the paper."""
    px = DOT_FONT * height_units + DOT_FONT // 2
    image = text_line(number, px, bold=True)
    while image.width > dots and px > DOT_FONT:
        px -= 8
        image = text_line(number, px, bold=True)
    return trim(image)


def qr_image(data: str, module_dots: int) -> Image.Image:
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=module_dots, border=0
    )
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    size = len(matrix)
    image = Image.new("1", (size, size), WHITE)
    image.putdata([BLACK if cell else WHITE for row in matrix for cell in row])
    return image.resize((size * module_dots, size * module_dots), Image.Resampling.NEAREST)


def trim(image: Image.Image) -> Image.Image:
    """Cut the blank margins off a 1-bit image (nothing left: a 1x1 blank)."""
    box = ImageOps.invert(image.convert("L")).getbbox()
    return image.crop(box) if box else Image.new("1", (1, 1), WHITE)


def block_images(block: Block, dots: int, qr_module: int) -> Iterator[Image.Image]:
    """The images of one block, a line each."""
    if block.kind == "number":
        yield number_image(block.text, dots, block.height)
    elif block.kind == "qr":
        yield qr_image(block.text, qr_module)
    elif block.kind == "rule":
        rule = Image.new("1", (dots, 2), WHITE)
        ImageDraw.Draw(rule).rectangle((0, 0, dots - 1, 1), fill=BLACK)
        yield rule
    elif block.kind == "space":
        yield Image.new("1", (1, DOT_FONT // 2), WHITE)
    else:
        room = dots - 8  # a margin: a glyph's ink may reach past its advance width
        # A line a little too long is drawn a little smaller rather than broken (no orphan 厅).
        full = DOT_FONT * block.height
        px = next(
            (
                size
                for size in (full, full * 9 // 10, full * 4 // 5, full * 3 // 4)
                if (font(size).getlength(block.text) + 2) * block.width <= room
            ),
            full,
        )
        face = font(px)
        for line in wrap(block.text, lambda s: (face.getlength(s) + 2) * block.width <= room):
            yield text_line(line, px, bold=block.bold, stretch=block.width)


def ticket_image(blocks: list[Block], dots: int, qr_module: int) -> Image.Image:
    """The whole ticket as one image `dots` wide, every line centred."""
    rows: list[tuple[Image.Image, int]] = []
    for block in blocks:
        lines = list(block_images(block, dots, qr_module))
        if block.kind == "qr" and rows:  # a quiet zone of two modules above and below
            rows[-1] = (rows[-1][0], 2 * qr_module)
        for i, line in enumerate(lines):
            gap = BLOCK_GAP if i == len(lines) - 1 else LINE_GAP
            rows.append((line, max(gap, 2 * qr_module) if block.kind == "qr" else gap))
    height = sum(image.height + gap for image, gap in rows)
    page = Image.new("1", (dots, height), WHITE)
    y = 0
    for image, gap in rows:
        page.paste(image, ((dots - image.width) // 2, y))
        y += image.height + gap
    return page


def bands(image: Image.Image, min_gap: int = BAND_GAP) -> list[tuple[int, Image.Image]]:
    """The image cut into bands of ink separated by at least `min_gap` blank rows, each cropped
    symmetrically (so it still sits in the same place when centred) to whole bytes. Returns
    (top row, band) pairs; what lies between is blank paper."""
    width, height = image.size
    ink = ImageOps.invert(image.convert("L"))
    data = ink.tobytes()
    inked = [any(data[y * width : (y + 1) * width]) for y in range(height)]
    out: list[tuple[int, Image.Image]] = []
    y = 0
    while y < height:
        if not inked[y]:
            y += 1
            continue
        top = y
        blank = 0
        while y < height and blank < min_gap:
            blank = 0 if inked[y] else blank + 1
            y += 1
        bottom = y - blank
        box = ink.crop((0, top, width, bottom)).getbbox()
        assert box is not None
        margin = min(box[0], width - box[2])
        keep = min(width, -(-(width - 2 * margin) // 8) * 8)  # whole bytes, still centred
        left = (width - keep) // 2
        out.append((top, image.crop((left, top, left + keep, bottom))))
    return out
