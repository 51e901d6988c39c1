"""The emulated printer's ESC/POS decoder: the byte stream in, drawn tickets out.

Decoded: ESC @, ESC a, ESC E, ESC !, GS !, ESC 2/3, ESC d, ESC J, ESC * (bit images in a line),
LF, FS & / FS . (two-byte Chinese in the configured encoding), GS v 0 (raster images), GS ( k (QR:
model, size, error correction, store, print), GS V (cut: ends a ticket), DLE EOT (status: handed to
`on_status`). Other commands are skipped with their parameters where their length is known, and
logged. The drawing itself is escpos_paper.py's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from hardware.emulators.escpos_paper import (
    Fonts,
    Page,
    PrintedTicket,
    Run,
    bit_image,
    qr_image,
    raster_image,
)

log = logging.getLogger(__name__)

DEFAULT_LINE = 30  # ESC 2: 1/6 inch at 180 dpi


class EscposDecoder:
    """Turns an ESC/POS byte stream into drawn tickets. Not thread-safe: one writer at a time."""

    def __init__(
        self,
        dots: int = 512,
        encoding: str = "gb18030",
        on_status: Callable[[int], None] | None = None,
        on_ticket: Callable[[PrintedTicket], None] | None = None,
    ) -> None:
        self.dots = dots
        self.encoding = encoding
        self.on_status = on_status or (lambda n: None)
        self.on_ticket = on_ticket or (lambda t: None)
        self.printing = True  # False: data is parsed (for status queries) but not printed
        self.buffer = bytearray()
        self.raw = bytearray()
        self.unknown: list[bytes] = []
        self._fonts: Fonts = {}
        self._reset_modes()
        self.page = Page(dots, self._fonts)
        self.line: list[Run] = []
        self.qr_data = b""

    def _reset_modes(self) -> None:
        self.align = 0
        self.bold = False
        self.width = 1
        self.height = 1
        self.chinese = False
        self.line_spacing = DEFAULT_LINE
        self.qr_module = 3
        self.qr_ec = 0

    # -- input -----------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        self.buffer += data
        while self.buffer:
            used = self._step()
            if used == 0:
                return  # an incomplete command: wait for the rest
            chunk = bytes(self.buffer[:used])
            del self.buffer[:used]
            if not chunk.startswith(b"\x10\x04"):
                self.raw += chunk

    def _step(self) -> int:
        b = self.buffer
        first = b[0]
        if first == 0x10:  # DLE: real-time commands
            if len(b) < 3:
                return 0
            if b[1] == 0x04:
                self.on_status(b[2])
                return 3
            if b[1] == 0x14:  # DLE DC4 fn m t (pulse)
                return 5 if len(b) >= 5 else 0
            return 3
        if first == 0x0A:
            self._newline()
            return 1
        if first == 0x0D:
            return 1
        if first == 0x1B:
            return self._esc()
        if first == 0x1D:
            return self._gs()
        if first == 0x1C:
            return self._fs()
        if first < 0x20:
            return 1  # other control bytes: ignored, as printers do
        return self._text()

    def _esc(self) -> int:
        b = self.buffer
        if len(b) < 2:
            return 0
        op = b[1]
        if op == 0x40:  # @
            self._flush_line()
            self._reset_modes()
            return 2
        if op == 0x32:  # 2
            self.line_spacing = DEFAULT_LINE
            return 2
        if op == 0x2A:  # * m nL nH d1...dk: a bit image in the line
            if len(b) < 5:
                return 0
            m, columns = b[2], b[3] | b[4] << 8
            total = 5 + columns * (3 if m in (32, 33) else 1)
            if len(b) < total:
                return 0
            self._bit_image(m, columns, bytes(b[5:total]))
            return total
        if len(b) < 3:
            return 0
        n = b[2]
        if op == 0x61:  # a
            self.align = n % 48 if n >= 48 else n
        elif op == 0x45:  # E
            self.bold = bool(n & 1)
        elif op == 0x21:  # ! (font A/B, emphasized, double height/width)
            self.bold = bool(n & 0x08)
            self.height = 2 if n & 0x10 else 1
            self.width = 2 if n & 0x20 else 1
        elif op == 0x33:  # 3
            self.line_spacing = n
        elif op == 0x64:  # d
            self._flush_line()
            self._advance(n * self.line_spacing)
        elif op == 0x4A:  # J
            self._flush_line()
            self._advance(n)
        elif op in (0x74, 0x4D, 0x2D, 0x47, 0x52, 0x56, 0x7B, 0x20):
            pass  # code table, font, underline, double strike, charset, rotation, ...: one byte
        else:
            self._unknown(bytes(b[:2]))
            return 2
        return 3

    def _gs(self) -> int:
        b = self.buffer
        if len(b) < 2:
            return 0
        op = b[1]
        if op == 0x21:  # ! size
            if len(b) < 3:
                return 0
            self.width = (b[2] >> 4) + 1
            self.height = (b[2] & 0x0F) + 1
            return 3
        if op == 0x56:  # V cut
            if len(b) < 3:
                return 0
            m = b[2]
            if m in (65, 66, 97, 98, 103, 104):
                if len(b) < 4:
                    return 0
                self._cut(b[3])
                return 4
            self._cut(0)
            return 3
        if op == 0x76:  # v 0 raster
            if len(b) < 8:
                return 0
            width_bytes = b[4] | b[5] << 8
            rows = b[6] | b[7] << 8
            total = 8 + width_bytes * rows
            if len(b) < total:
                return 0
            self._raster(width_bytes, rows, bytes(b[8:total]))
            return total
        if op == 0x28:  # ( k and other GS ( functions: pL pH cn fn ...
            if len(b) < 5:
                return 0
            length = b[3] | b[4] << 8
            total = 5 + length
            if len(b) < total:
                return 0
            if b[2] == 0x6B:
                self._symbol(bytes(b[5:total]))
            else:
                self._unknown(bytes(b[:3]))
            return total
        if op in (0x4C, 0x57):  # L, W: margins (two bytes)
            return 4 if len(b) >= 4 else 0
        if op in (0x42, 0x48, 0x66, 0x68, 0x77, 0x61, 0x62):
            return 3 if len(b) >= 3 else 0
        self._unknown(bytes(b[:2]))
        return 2

    def _fs(self) -> int:
        b = self.buffer
        if len(b) < 2:
            return 0
        if b[1] == 0x26:  # &
            self.chinese = True
        elif b[1] == 0x2E:  # .
            self.chinese = False
        elif b[1] == 0x21:  # ! Chinese print mode
            return 3 if len(b) >= 3 else 0
        else:
            self._unknown(bytes(b[:2]))
        return 2

    def _text(self) -> int:
        b = self.buffer
        end = 0
        while end < len(b) and b[end] >= 0x20:
            end += 1
        chunk = bytes(b[:end])
        if self.chinese:
            # A lead byte whose trail has not arrived yet stays in the buffer.
            text, used = self._decode_two_byte(chunk)
            if used == 0:
                if end == len(b):
                    return 0
                text, used = "\ufffd", 1  # a lead byte cut off by a control byte
        else:
            text, used = chunk.decode("cp437", errors="replace"), end
        self.line.append(Run(text, self.width, self.height, self.bold))
        return used

    def _decode_two_byte(self, chunk: bytes) -> tuple[str, int]:
        out = []
        i = 0
        while i < len(chunk):
            if chunk[i] < 0x80:
                out.append(chr(chunk[i]))
                i += 1
                continue
            if i + 1 >= len(chunk):
                break
            pair = chunk[i : i + 2]
            if self.encoding == "gb18030" and 0x30 <= pair[1] <= 0x39:
                if i + 4 > len(chunk):
                    break
                pair = chunk[i : i + 4]
            out.append(pair.decode(self.encoding, errors="replace"))
            i += len(pair)
        return "".join(out), i

    def _unknown(self, head: bytes) -> None:
        self.unknown.append(head)
        log.info("printer emulator: skipped unknown command %s", head.hex(" "))

    # -- printing --------------------------------------------------------------------------
    def _advance(self, dots: int) -> None:
        self.page.advance(dots)

    def _newline(self) -> None:
        if not self.line:
            self._advance(self.line_spacing)
            return
        self._flush_line()

    def _flush_line(self) -> None:
        if not self.line:
            return
        runs, self.line = self.line, []
        if self.printing:
            self.page.draw_line(runs, self.align, self.line_spacing)

    def _bit_image(self, m: int, columns: int, data: bytes) -> None:
        self.line.append(Run("\ufffc", 1, 1, False, bit_image(m, columns, data)))

    def _raster(self, width_bytes: int, rows: int, data: bytes) -> None:
        self._flush_line()
        if not self.printing or rows == 0:
            return
        self.page.draw_image(raster_image(width_bytes, rows, data), self.align, "image")

    def _symbol(self, body: bytes) -> None:
        if len(body) < 2 or body[0] != 0x31:  # cn 49: QR code
            self._unknown(b"\x1d(k" + body[:2])
            return
        fn = body[1]
        if fn == 0x43 and len(body) >= 3:  # 67: module size
            self.qr_module = max(1, min(16, body[2]))
        elif fn == 0x45 and len(body) >= 3:  # 69: error correction
            self.qr_ec = body[2] - 48
        elif fn == 0x50:  # 80: store data (m = 48)
            self.qr_data = body[3:]
        elif fn == 0x51:  # 81: print
            self._print_qr()

    def _print_qr(self) -> None:
        self._flush_line()
        if not self.printing or not self.qr_data:
            return
        image = qr_image(self.qr_data, self.qr_module, self.qr_ec)
        text = self.qr_data.decode("utf-8", errors="replace")
        self.page.draw_image(image, self.align, "qr", text)

    def _cut(self, feed: int) -> None:
        self._flush_line()
        if self.printing:
            self._advance(feed)
            self._emit(cut=True)

    def _emit(self, cut: bool) -> None:
        ticket = self.page.finish(bytes(self.raw), cut)
        self.raw.clear()
        self.page = Page(self.dots, self._fonts)
        self.on_ticket(ticket)

    def flush_page(self) -> PrintedTicket | None:
        """What was printed since the last cut, as a ticket (for printers without a cutter)."""
        self._flush_line()
        if self.page.y == 0:
            return None
        ticket = self.page.finish(bytes(self.raw), cut=False)
        self.raw.clear()
        self.page = Page(self.dots, self._fonts)
        return ticket
