"""A plain addressed frame with GB2312 text, of the kind Chinese window screens use.

    HEAD | ADDR | CMD | MODE | LEN_HI LEN_LO | TEXT (LEN bytes) | CS | TAIL

HEAD, TAIL, the command and mode bytes and the text encoding come from the config
(contract/settings/bus.py GbFrameBytes; defaults AA / 55, show 01, clear 02, steady 00 / flash 01 /
scroll 02, GB2312). LEN is the length of the encoded text, big-endian. CS is the sum of ADDR .. the
last TEXT byte, modulo 256. A clear frame has MODE 00 and no text. Because LEN says where the frame
ends, the HEAD byte may appear inside the text (0xAA is a GB2312 lead byte); the decoder checks CS
and TAIL and otherwise slides one byte on, so noise and torn frames cost at most that frame.
"""

from __future__ import annotations

from collections.abc import Iterator

from contract.settings.bus import GbFrameBytes
from hardware.led.modes import DisplayMode, Shown

HEADER = 6  # HEAD ADDR CMD MODE LEN_HI LEN_LO
MAX_TEXT = 1024


class GbFrameCodec:
    def __init__(self, frame: GbFrameBytes | None = None) -> None:
        self.frame = frame or GbFrameBytes()
        f = self.frame
        self._mode_byte = {
            DisplayMode.STEADY: f.steady,
            DisplayMode.FLASH: f.flash,
            DisplayMode.SCROLL: f.scroll,
        }
        self._byte_mode = {value: mode for mode, value in self._mode_byte.items()}

    def encode_text(self, text: str) -> bytes:
        """The text in the board's encoding; a character it cannot show becomes '?'."""
        return text.encode(self.frame.encoding, errors="replace")

    def show(self, address: int, text: str, mode: DisplayMode = DisplayMode.STEADY) -> bytes:
        return self._frame(address, self.frame.show, self._mode_byte[mode], self.encode_text(text))

    def clear(self, address: int) -> bytes:
        return self._frame(address, self.frame.clear, 0, b"")

    def _frame(self, address: int, command: int, mode: int, text: bytes) -> bytes:
        if not 0 <= address <= 0xFF:
            raise ValueError(f"board address {address} is outside 0..255")
        if len(text) > MAX_TEXT:
            raise ValueError(f"text of {len(text)} bytes is longer than {MAX_TEXT}")
        body = bytes([address, command, mode]) + len(text).to_bytes(2, "big") + text
        return bytes([self.frame.head]) + body + bytes([sum(body) % 256, self.frame.tail])

    def parse(self, frame: bytes) -> Shown | None:
        """One whole frame, or None when it is not a valid one of ours."""
        f = self.frame
        if len(frame) < HEADER + 2 or frame[0] != f.head or frame[-1] != f.tail:
            return None
        length = int.from_bytes(frame[4:6], "big")
        if len(frame) != HEADER + length + 2:
            return None
        body = frame[1 : HEADER + length]
        if sum(body) % 256 != frame[-2]:
            return None
        address, command, mode_byte = frame[1], frame[2], frame[3]
        if command == f.clear and length == 0:
            return Shown(address, "", None)
        if command != f.show or mode_byte not in self._byte_mode:
            return None
        try:
            text = frame[HEADER : HEADER + length].decode(f.encoding)
        except UnicodeDecodeError:
            return None
        return Shown(address, text, self._byte_mode[mode_byte])


class GbFrameDecoder:
    """Feeds on a byte stream in any chunking; yields what each valid frame tells its board."""

    def __init__(self, codec: GbFrameCodec | None = None) -> None:
        self.codec = codec or GbFrameCodec()
        self._buffer = bytearray()
        self.rejected = 0

    def feed(self, data: bytes) -> Iterator[Shown]:
        self._buffer += data
        head = self.codec.frame.head
        while True:
            start = self._buffer.find(head)
            if start < 0:
                self._buffer.clear()
                return
            del self._buffer[:start]
            if len(self._buffer) < HEADER:
                return
            length = int.from_bytes(self._buffer[4:6], "big")
            if length > MAX_TEXT:
                self._slide()
                continue
            size = HEADER + length + 2
            if len(self._buffer) < size:
                return  # a frame still arriving (or a torn one: the next HEAD resynchronises)
            shown = self.codec.parse(bytes(self._buffer[:size]))
            if shown is None:
                self._slide()
                continue
            del self._buffer[:size]
            yield shown

    def idle(self) -> Iterator[Shown]:
        """The line went quiet with a frame unfinished: like a board's inter-byte timeout, give up
        on it so that a torn frame claiming a long text cannot hold back the frames behind it."""
        if self._buffer:
            self._slide()
            yield from self.feed(b"")

    def _slide(self) -> None:
        self.rejected += 1
        del self._buffer[:1]
