"""An emulated ESC/POS thermal printer: decodes the byte stream, draws the ticket it would print
(PNG), and answers real-time status queries from a state that tests and demos set.

It attaches where a real printer would: a pseudo-terminal (`attach_pty()`, the path a serial or
device-node connector opens) and a TCP port (`attach_tcp()`, what a network printer listens on),
so the production connectors run unchanged. `feed()` serves in-process links (the fake USB bus).

Decoded: ESC @, ESC a, ESC E, ESC !, GS !, ESC 2/3, ESC d, ESC J, ESC * (bit images in a line), LF, FS & / FS . (two-byte
Chinese in the configured encoding), GS v 0 (raster images), GS ( k (QR: model, size, error
correction, store, print), GS V (cut: ends a ticket), DLE EOT (status). Other commands are
skipped with their parameters where their length is known, and logged.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont, ImageOps

log = logging.getLogger(__name__)

FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
STATES = (
    "ready",
    "paper_near_end",
    "paper_out",
    "cover_open",
    "offline",
    "error",
    "silent",  # answers nothing
    "garbage",  # answers bytes that are no status
)
# Answers to DLE EOT 1, 2, 3, 4 (Epson's bit layout: bits 1 and 4 always on).
STATUS_BYTES: dict[str, dict[int, int]] = {
    "ready": {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12},
    "paper_near_end": {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x1E},
    "paper_out": {1: 0x1A, 2: 0x32, 3: 0x12, 4: 0x7E},
    "cover_open": {1: 0x1A, 2: 0x16, 3: 0x12, 4: 0x12},
    "offline": {1: 0x1A, 2: 0x12, 3: 0x12, 4: 0x12},
    "error": {1: 0x1A, 2: 0x52, 3: 0x1A, 4: 0x12},
}
GARBAGE = b"\xa5\x5a"
PRINTING_STATES = ("ready", "paper_near_end", "silent", "garbage")
DOT_FONT = 24
DEFAULT_LINE = 30  # ESC 2: 1/6 inch at 180 dpi


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
class _Run:
    text: str
    width: int
    height: int
    bold: bool
    image: Image.Image | None = None  # a bit image in the line (ESC *): text is one U+FFFC


class _Page:
    """The paper of the ticket being printed: a growing white image and a print position."""

    def __init__(self, dots: int) -> None:
        self.dots = dots
        self.image = Image.new("L", (dots, 2000), 255)
        self.y = 0
        self.elements: list[Element] = []

    def need(self, rows: int) -> None:
        if self.y + rows > self.image.height:
            grown = Image.new("L", (self.dots, max(self.image.height * 2, self.y + rows)), 255)
            grown.paste(self.image, (0, 0))
            self.image = grown

    def finish(self, data: bytes, cut: bool) -> PrintedTicket:
        height = max(1, self.y + 8)
        self.need(8)
        return PrintedTicket(self.image.crop((0, 0, self.dots, height)), self.elements, data, cut)


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
        self._fonts: dict[int, ImageFont.FreeTypeFont] = {}
        self._reset_modes()
        self.page = _Page(dots)
        self.line: list[_Run] = []
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
        self.line.append(_Run(text, self.width, self.height, self.bold))
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

    # -- drawing ---------------------------------------------------------------------------
    def _font(self, px: int) -> ImageFont.FreeTypeFont:
        if px not in self._fonts:
            self._fonts[px] = ImageFont.truetype(FONT_PATH, px)
        return self._fonts[px]

    def _x(self, width: int) -> int:
        if self.align == 1:
            return max(0, (self.dots - width) // 2)
        if self.align == 2:
            return max(0, self.dots - width)
        return 0

    def _advance(self, dots: int) -> None:
        self.page.need(dots)
        self.page.y += dots

    def _newline(self) -> None:
        if not self.line:
            self._advance(self.line_spacing)
            return
        self._flush_line()

    def _flush_line(self) -> None:
        if not self.line:
            return
        runs, self.line = self.line, []
        cells = [
            (
                ch,
                run,
                run.image.width if run.image else 12 * run.width * (1 if ord(ch) < 0x80 else 2),
            )
            for run in runs
            for ch in run.text
        ]
        width = sum(c[2] for c in cells)
        height = max(DOT_FONT * run.height for run in runs)
        advance = max(self.line_spacing, height + 6)
        if not self.printing:
            return
        page = self.page
        page.need(advance)
        x = x0 = self._x(width)
        for ch, run, cell in cells:
            if x + cell > self.dots:  # wrap at the paper's edge, as the printer does
                page.y += advance
                page.need(advance)
                x = 0
            if run.image is not None:
                page.image.paste(run.image, (x, page.y + height - run.image.height))
                box = (x, page.y + height - run.image.height, x + cell, page.y + height)
                page.elements.append(Element("glyph", box))
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
            page.image.paste(glyph, (x + offset, page.y + height - glyph_h))
            x += cell
        text = "".join(run.text for run in runs)
        scale = (max(r.width for r in runs), max(r.height for r in runs))
        page.elements.append(
            Element("text", (x0, page.y, x0 + width, page.y + height), text, scale)
        )
        page.y += advance

    def _bit_image(self, m: int, columns: int, data: bytes) -> None:
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
        self.line.append(_Run("\ufffc", 1, 1, False, image))

    def _raster(self, width_bytes: int, rows: int, data: bytes) -> None:
        self._flush_line()
        if not self.printing or rows == 0:
            return
        bits = Image.frombytes("1", (width_bytes * 8, rows), data)  # 1 = black dot
        image = ImageOps.invert(bits.convert("L"))
        x = self._x(image.width)
        self.page.need(rows)
        self.page.image.paste(image, (x, self.page.y))
        box = (x, self.page.y, x + image.width, self.page.y + rows)
        self.page.elements.append(Element("image", box))
        self.page.y += rows

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
        levels = [
            qrcode.constants.ERROR_CORRECT_L,
            qrcode.constants.ERROR_CORRECT_M,
            qrcode.constants.ERROR_CORRECT_Q,
            qrcode.constants.ERROR_CORRECT_H,
        ]
        code = qrcode.QRCode(
            error_correction=levels[max(0, min(3, self.qr_ec))],
            box_size=self.qr_module,
            border=0,
        )
        code.add_data(self.qr_data)
        code.make(fit=True)
        matrix = code.get_matrix()
        n = len(matrix)
        image = Image.new("L", (n, n), 255)
        image.putdata([0 if cell else 255 for row in matrix for cell in row])
        image = image.resize((n * self.qr_module, n * self.qr_module), Image.Resampling.NEAREST)
        x = self._x(image.width)
        self.page.need(image.height)
        self.page.image.paste(image, (x, self.page.y))
        box = (x, self.page.y, x + image.width, self.page.y + image.height)
        text = self.qr_data.decode("utf-8", errors="replace")
        self.page.elements.append(Element("qr", box, text))
        self.page.y += image.height

    def _cut(self, feed: int) -> None:
        self._flush_line()
        if self.printing:
            self._advance(feed)
            self._emit(cut=True)

    def _emit(self, cut: bool) -> None:
        ticket = self.page.finish(bytes(self.raw), cut)
        self.raw.clear()
        self.page = _Page(self.dots)
        self.on_ticket(ticket)

    def flush_page(self) -> PrintedTicket | None:
        """What was printed since the last cut, as a ticket (for printers without a cutter)."""
        self._flush_line()
        if self.page.y == 0:
            return None
        ticket = self.page.finish(bytes(self.raw), cut=False)
        self.raw.clear()
        self.page = _Page(self.dots)
        return ticket


@dataclass
class PrinterEmulator:
    """A printer with a settable state, reachable through a pty and/or a TCP port."""

    dots: int = 512
    encoding: str = "gb18030"
    state: str = "ready"
    answer_delay_s: float = 0.0
    tickets: list[PrintedTicket] = field(default_factory=list)
    save_dir: Path | None = None
    queries: list[int] = field(default_factory=list)
    # Tickets left on the roll: none, endless; at 0 the printer goes to paper_out (after the cut).
    paper_tickets: int | None = None

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"unknown printer state {self.state!r}: one of {', '.join(STATES)}")
        self._lock = threading.Lock()
        self._printed = threading.Condition(self._lock)
        self._replies = bytearray()
        self.decoder = EscposDecoder(
            self.dots, self.encoding, on_status=self._on_status, on_ticket=self._on_ticket
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._fds: list[int] = []
        self._sockets: list[socket.socket] = []
        self.pty_path: str | None = None
        self.tcp_port: int | None = None

    def set_state(self, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"unknown printer state {state!r}: one of {', '.join(STATES)}")
        self.state = state
        log.info("printer emulator: state %s", state)

    # -- the byte stream -------------------------------------------------------------------
    def feed(self, data: bytes) -> bytes:
        """Take bytes from the host; return the printer's answers."""
        with self._lock:
            self.decoder.printing = self.state in PRINTING_STATES
            self.decoder.feed(data)
            replies, self._replies = bytes(self._replies), bytearray()
        if replies and self.answer_delay_s:
            time.sleep(self.answer_delay_s)
        return replies

    def _on_status(self, n: int) -> None:
        self.queries.append(n)
        if self.state == "silent":
            return
        if self.state == "garbage":
            self._replies += GARBAGE
            return
        table = STATUS_BYTES[self.state]
        if n in table:
            self._replies.append(table[n])

    def _on_ticket(self, ticket: PrintedTicket) -> None:
        self.tickets.append(ticket)
        if self.paper_tickets is not None:
            self.paper_tickets -= 1
            if self.paper_tickets <= 0:
                self.state = "paper_out"
                self.decoder.printing = False  # the rest of this write falls on no paper
                log.info("printer emulator: the roll ran out")
        if self.save_dir is not None:
            path = ticket.save(Path(self.save_dir) / f"ticket-{len(self.tickets):04d}.png")
            log.info("printer emulator: printed ticket %d -> %s", len(self.tickets), path)
        self._printed.notify_all()

    def wait_for_tickets(self, count: int, timeout: float) -> list[PrintedTicket]:
        """Block until `count` tickets have been cut (or the timeout passes); returns them all."""
        with self._printed:
            self._printed.wait_for(lambda: len(self.tickets) >= count, timeout)
            return list(self.tickets)

    # -- attachments -----------------------------------------------------------------------
    def attach_pty(self) -> str:
        """A pseudo-terminal whose other end is this printer; returns the path to open."""
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no newline translation: the line carries bytes
        self._fds += [master, slave]
        self.pty_path = os.ttyname(slave)
        self._start(self._serve_fd, master)
        log.info("printer emulator: pty %s", self.pty_path)
        return self.pty_path

    def attach_tcp(self, port: int = 0, host: str = "127.0.0.1") -> int:
        """Listen like a network printer (port 9100 on a real one); returns the port."""
        server = socket.create_server((host, port), reuse_port=False)
        server.settimeout(0.2)
        self._sockets.append(server)
        self.tcp_port = server.getsockname()[1]
        self._start(self._serve_tcp, server)
        log.info("printer emulator: tcp %s:%d", host, self.tcp_port)
        return self.tcp_port

    def _start(self, target: Callable[..., None], arg: object) -> None:
        thread = threading.Thread(target=target, args=(arg,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def _serve_fd(self, fd: int) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:  # the host closed its end: keep listening for the next one
                time.sleep(0.05)
                continue
            replies = self.feed(data)
            if replies:
                os.write(fd, replies)

    def _serve_tcp(self, server: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(0.2)
            with conn:
                while not self._stop.is_set():
                    try:
                        data = conn.recv(65536)
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                    if not data:
                        break
                    replies = self.feed(data)
                    if replies:
                        conn.sendall(replies)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        for sock in self._sockets:
            sock.close()
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()

    def __enter__(self) -> PrinterEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
