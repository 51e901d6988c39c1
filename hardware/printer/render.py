"""A ticket as ESC/POS bytes, in one of three modes.

- raster: the whole ticket drawn with Pillow and a CJK font; works on any printer and for any
  character. Blank bands are not sent: they become paper feeds (ESC J), and each band of ink is
  cropped to its width, so the bytes are what the ink needs.
- native: the printer's own fonts; Chinese in two-byte mode (FS &) in the configured encoding. A
  character the encoding (or the printer: 4-byte GB18030) lacks is sent as a 24-dot bit image in
  its place (ESC *); in enlarged text, where that cannot be, the line goes as a raster. Smallest
  and fastest.

Rasters are centred by ESC a: "ESC a (select justification) is effective to raster bit image"
(HPRT TP80K manual, GS v 0), and are sent at the start of a line, where GS v 0 is effective.
- mixed: native text, but the big number as a raster, so it looks the same on every printer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from PIL import Image

from contract.settings.printer import PrinterConfig
from hardware.errors import ConfigurationError
from hardware.printer import commands as cmd
from hardware.printer import raster
from hardware.printer.layout import Block, blocks, ticket_text

HALF_WIDTH_DOTS = 12  # one-byte characters of the printer's font A; two-byte ones are 24


@dataclass(frozen=True)
class RenderedTicket:
    data: bytes
    mode: str
    dots: int
    seconds: float  # time to render and encode


def encodable(ch: str, encoding: str) -> bool:
    """Whether the printer's two-byte mode can print `ch`. GB18030's 4-byte characters (rare
    ones, outside GBK) are not in a thermal printer's font."""
    try:
        encoded = ch.encode(encoding)
    except UnicodeEncodeError:
        return False
    return len(encoded) <= 2


def native_width(text: str, width: int = 1) -> int:
    return sum(HALF_WIDTH_DOTS if ord(ch) < 0x80 else 2 * HALF_WIDTH_DOTS for ch in text) * width


def _size(block: Block) -> tuple[int, int, bool]:
    return block.width, block.height, block.bold


def qr_module_dots(dots: int) -> int:
    return 5 if dots < 450 else 6


class _Encoder:
    def __init__(self, config: PrinterConfig) -> None:
        self.config = config
        self.dots = config.line_dots
        self.profile = config.escpos_profile
        widest = cmd.profile_dots(self.profile)
        if widest is not None and widest < self.dots:  # python-escpos refuses wider images
            raise ConfigurationError(
                f"printer.dots {self.dots} is wider than the profile {self.profile!r} "
                f"({widest} dots): lower printer.dots or name a wider printer.profile"
            )
        self.out = bytearray(cmd.INIT + cmd.align("center"))

    def image(self, image: Image.Image) -> None:
        if image.width > self.dots:  # never expected; a printer would drop the excess
            height = max(1, image.height * self.dots // image.width)
            image = image.resize((self.dots, height), Image.Resampling.NEAREST)
        self.out += cmd.raster(image, self.profile)

    def native_line(self, line: str, block: Block) -> None:
        encoding = self.config.encoding
        if all(encodable(ch, encoding) for ch in line):
            if line.isascii():
                self.out += cmd.text(line, "ascii") + cmd.LF
            else:
                self.out += cmd.CHINESE_ON + cmd.text(line, encoding) + cmd.LF + cmd.CHINESE_OFF
        elif block.width == block.height == 1:
            # Each character the printer lacks as a 24-dot bit image among its text (ESC *).
            self.out += cmd.CHINESE_ON
            for ch in line:
                if encodable(ch, encoding):
                    self.out += cmd.text(ch, encoding)
                else:
                    self.out += cmd.column_image(raster.glyph(ch, raster.DOT_FONT, block.bold))
            self.out += cmd.LF + cmd.CHINESE_OFF
        else:  # enlarged text: the line as a raster, as big as the text (GS v 0), re-broken
            # where the drawn glyphs are wider than the printer's cells
            for image in raster.block_images(Block("text", line, *_size(block)), self.dots, 0):
                self.image(image)

    def native_text(self, block: Block) -> None:
        self.out += cmd.size(block.width, block.height) + cmd.bold(block.bold)
        for line in raster.wrap(block.text, lambda s: native_width(s, block.width) <= self.dots):
            self.native_line(line, block)
        self.out += cmd.size(1, 1) + cmd.bold(False)

    def native_block(self, block: Block, *, number_as_raster: bool) -> None:
        if block.kind == "text":
            self.native_text(block)
        elif block.kind == "number":
            width = min(block.width, max(1, self.dots // max(1, native_width(block.text))))
            if number_as_raster or not block.text.isascii():
                self.image(raster.number_image(block.text, self.dots, block.height))
                self.out += cmd.feed_dots(raster.BLOCK_GAP)
            else:
                self.native_text(Block("text", block.text, width, block.height, True))
        elif block.kind == "rule":
            self.out += b"-" * (self.dots // HALF_WIDTH_DOTS) + cmd.LF
        elif block.kind == "space":
            self.out += cmd.feed_dots(raster.DOT_FONT // 2)
        elif block.kind == "qr":
            module = qr_module_dots(self.dots)
            # The quiet zone around a QR code is the sender's job (the manuals say so).
            self.out += cmd.feed_dots(2 * module)
            self.out += cmd.qr(block.text, module, "M", self.profile)
            self.out += cmd.feed_dots(2 * module)

    def raster_ticket(self, items: list[Block]) -> None:
        page = raster.ticket_image(items, self.dots, qr_module_dots(self.dots))
        at = 0
        for top, band in raster.bands(page):
            self.out += cmd.feed_dots(top - at)
            self.image(band)
            at = top + band.height
        self.out += cmd.feed_dots(page.height - at)

    def finish(self) -> bytes:
        cut = self.config.cut
        self.out += cmd.feed_lines(4) if cut == "none" else cmd.cut(cut, 0)
        return bytes(self.out)


def encode_blocks(items: list[Block], config: PrinterConfig) -> bytes:
    encoder = _Encoder(config)
    if config.mode == "raster":
        encoder.raster_ticket(items)
    else:
        for block in items:
            encoder.native_block(block, number_as_raster=config.mode == "mixed")
    return encoder.finish()


def render_ticket(
    ticket: dict[str, Any],
    *,
    hall_name: str,
    department_name: str,
    service_name: str,
    lang: str = "zh",
    config: PrinterConfig | None = None,
    hall_name_en: str = "",
    department_name_en: str = "",
    service_name_en: str = "",
    ticket_url: str | None = None,
) -> RenderedTicket:
    """The bytes that print `ticket` (the contract's Ticket object) on the configured printer.

    `lang` is the visitor's (or the hall's) language: English lines are added for "en" unless the
    printer config says otherwise (`english = true/false`). `ticket_url` is the hall's
    site.ticket_url: the QR code then carries the ticket's status URL, else its id.
    """
    config = config or PrinterConfig(target="-")
    started = time.perf_counter()
    english = config.english if config.english is not None else lang == "en"
    text = ticket_text(
        ticket,
        hall_name=hall_name,
        department_name=department_name,
        service_name=service_name,
        english=english,
        hall_name_en=hall_name_en,
        department_name_en=department_name_en,
        service_name_en=service_name_en,
        ticket_url=ticket_url,
        footer=config.footer_zh,
        footer_en=config.footer_en,
    )
    data = encode_blocks(blocks(text), config)
    return RenderedTicket(data, config.mode, config.line_dots, time.perf_counter() - started)
