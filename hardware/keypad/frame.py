"""The caller keypad bus seen in Chinese halls (9600 8N1, RS-485, many keypads by address):

    FF 68 L L 68 ADDR FUNC DATA... CS 16

L (twice) is the length of ADDR+FUNC+DATA; CS is (ADDR+FUNC+DATA) mod 256. A keypad reports a key
with FUNC 01 and the key's code as DATA; the host acknowledges by echoing the frame back. The host
drives a keypad's number display with FUNC 02 (one byte per position, left to right: 00-09 digits,
0A blank, 0B '-', 0E 'E') and its beeper with FUNC 03. Example (ticket 123 on keypad 5):
FF 68 08 08 68 05 02 0A 0A 0A 01 02 03 2B 16.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

PREAMBLE = 0xFF
START = 0x68
END = 0x16
MAX_LENGTH = 64


class Func(IntEnum):
    KEY = 0x01  # keypad -> host: DATA is one key code
    DISPLAY = 0x02  # host -> keypad: DATA is the display's positions
    BEEP = 0x03  # host -> keypad: no DATA


class Key(IntEnum):
    D0, D1, D2, D3, D4, D5, D6, D7, D8, D9 = range(10)
    EVALUATE = 0x0B
    CALL = 0x0C
    RECALL = 0x0D
    CONFIRM = 0x0F
    PAUSE = 0x12
    TRANSFER = 0x13

    @property
    def digit(self) -> int | None:
        return int(self) if self <= 9 else None


# Display positions: what each byte draws.
BLANK = 0x0A
DASH = 0x0B
LETTER_E = 0x0E
GLYPHS = {**{str(d): d for d in range(10)}, " ": BLANK, "-": DASH, "E": LETTER_E}
GLYPH_CHARS = {code: char for char, code in GLYPHS.items()}


@dataclass(frozen=True)
class Frame:
    address: int
    func: int
    data: bytes = b""

    def encode(self) -> bytes:
        body = bytes([self.address, self.func]) + self.data
        if not 2 <= len(body) <= MAX_LENGTH:
            raise ValueError(f"keypad frame body of {len(body)} bytes")
        length = len(body)
        return (
            bytes([PREAMBLE, START, length, length, START]) + body + bytes([sum(body) % 256, END])
        )

    @property
    def key(self) -> Key | None:
        if self.func == Func.KEY and len(self.data) == 1:
            try:
                return Key(self.data[0])
            except ValueError:
                return None
        return None

    @property
    def display_text(self) -> str | None:
        """What a DISPLAY frame draws, e.g. '   123' ('?' for an unknown glyph)."""
        if self.func != Func.DISPLAY:
            return None
        return "".join(GLYPH_CHARS.get(b, "?") for b in self.data)


def key_frame(address: int, key: Key) -> bytes:
    return Frame(address, Func.KEY, bytes([key])).encode()


def display_frame(address: int, text: str, width: int = 6) -> bytes:
    """Right-aligned on `width` positions; characters it cannot draw are left out, and a text too
    long keeps its last `width` characters (the end of a ticket number is what tells it apart)."""
    glyphs = [GLYPHS[c] for c in text.upper() if c in GLYPHS][-width:]
    return Frame(address, Func.DISPLAY, bytes([BLANK] * (width - len(glyphs)) + glyphs)).encode()


def beep_frame(address: int) -> bytes:
    return Frame(address, Func.BEEP).encode()


class FrameDecoder:
    """Feeds on a byte stream in any chunking; yields each valid frame. Noise, torn frames and bad
    checksums are skipped (counted in `rejected`); a frame may come with or without its FF."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.rejected = 0

    def feed(self, data: bytes) -> Iterator[Frame]:
        self._buffer += data
        while True:
            start = self._buffer.find(START)
            if start < 0:
                self._buffer.clear()
                return
            del self._buffer[:start]
            if len(self._buffer) < 4:
                return
            length = self._buffer[1]
            if (
                self._buffer[2] != length
                or self._buffer[3] != START
                or not 2 <= length <= MAX_LENGTH
            ):
                self._slide()
                continue
            size = 4 + length + 2
            if len(self._buffer) < size:
                return
            body = bytes(self._buffer[4 : 4 + length])
            if self._buffer[4 + length] != sum(body) % 256 or self._buffer[size - 1] != END:
                self._slide()
                continue
            del self._buffer[:size]
            yield Frame(body[0], body[1], body[2:])

    def idle(self) -> Iterator[Frame]:
        """The line went quiet mid-frame: drop the torn start so later frames are not held back."""
        if self._buffer:
            self._slide()
            yield from self.feed(b"")

    def _slide(self) -> None:
        self.rejected += 1
        del self._buffer[:1]
