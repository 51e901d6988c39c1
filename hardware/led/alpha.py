"""The Alpha Sign Communications Protocol (Adaptive Micro Systems, 9708-8061F), the part a window
sign needs: the standard ("1-byte") transmission packet carrying a write-TEXT command.

    NUL x5 | SOH | type code | address (2 ASCII hex) | STX | 'A' | file label |
    ESC position mode | text | ETX | checksum (4 ASCII hex) | EOT

The checksum is the sum of every byte from STX to ETX inclusive, modulo 65536, as four upper-case
ASCII hex digits; ETX and the checksum are optional on the wire (we always send them; the decoder
accepts both). Address "00" is every sign. Pure bytes in, bytes out: no port here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hardware.led.modes import DisplayMode, Shown

NUL, SOH, STX, ETX, EOT, ESC = 0x00, 0x01, 0x02, 0x03, 0x04, 0x1B
WRITE_TEXT = ord("A")
SYNC = bytes(5)  # five NULs let the sign find the baud rate

# Display positions (spec 6.1, "Mode Field"): the byte after ESC.
POSITION_MIDDLE = 0x20
POSITION_TOP = 0x22
POSITION_BOTTOM = 0x26
POSITION_FILL = 0x30

# Mode codes: ours to theirs. `rotate` is the sign's right-to-left scroll; `hold` is steady.
MODE_CODES = {DisplayMode.STEADY: "b", DisplayMode.FLASH: "c", DisplayMode.SCROLL: "a"}
CODE_MODES = {code: mode for mode, code in MODE_CODES.items()}
MAX_FRAME = 2048  # longer than any window text; a longer run without EOT is noise


def checksum(block: bytes) -> bytes:
    """Four ASCII hex digits of the sum of `block` (STX..ETX inclusive) modulo 65536."""
    return f"{sum(block) % 65536:04X}".encode("ascii")


def ascii_text(text: str) -> bytes:
    """The sign has no Chinese font and control codes would end the frame: keep printable ASCII."""
    return "".join(c if " " <= c <= "~" else "?" for c in text).encode("ascii")


def write_text(
    address: int,
    text: str,
    mode: DisplayMode = DisplayMode.STEADY,
    *,
    position: int = POSITION_MIDDLE,
    label: str = "A",
    type_code: str = "Z",
    with_checksum: bool = True,
) -> bytes:
    """One packet that writes TEXT file `label` of the sign at `address` (0: every sign)."""
    if not 0 <= address <= 0xFF:
        raise ValueError(f"Alpha sign address {address} is outside 0..255")
    block = (
        bytes([STX, WRITE_TEXT])
        + label.encode("ascii")
        + bytes([ESC, position])
        + MODE_CODES[mode].encode("ascii")
        + ascii_text(text)
    )
    return _packet(address, block, type_code, with_checksum)


def clear(address: int, *, label: str = "A", type_code: str = "Z") -> bytes:
    """Write an empty TEXT file: the sign shows nothing."""
    return _packet(address, bytes([STX, WRITE_TEXT]) + label.encode("ascii"), type_code, True)


def _packet(address: int, block: bytes, type_code: str, with_checksum: bool) -> bytes:
    head = SYNC + bytes([SOH]) + type_code.encode("ascii") + f"{address:02X}".encode("ascii")
    if with_checksum:
        block += bytes([ETX])
        return head + block + checksum(block) + bytes([EOT])
    return head + block + bytes([EOT])


@dataclass(frozen=True)
class AlphaWrite:
    """A decoded write-TEXT packet."""

    type_code: str
    address: int  # 0: every sign
    label: str
    position: int | None
    mode: DisplayMode | None  # None: no mode field (or one we do not model)
    text: str
    checksummed: bool

    def shown(self) -> Shown:
        return Shown(self.address, self.text, self.mode if self.text else None)


class AlphaDecoder:
    """Feeds on a byte stream in any chunking; yields each valid write-TEXT packet.

    Noise between packets, packets cut short by a new SOH, bad checksums and commands other than
    write-TEXT are dropped (counted in `rejected`), never raised: a sign ignores them too.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.rejected = 0

    def feed(self, data: bytes) -> Iterator[AlphaWrite]:
        self._buffer += data
        while True:
            start = self._buffer.find(SOH)
            if start < 0:
                self._buffer.clear()
                return
            del self._buffer[:start]
            end = self._buffer.find(EOT)
            restart = self._buffer.find(SOH, 1)
            if 0 <= restart < (end if end >= 0 else len(self._buffer)):
                # A new header before this packet ended: the first one was cut short.
                self.rejected += 1
                del self._buffer[:restart]
                continue
            if end < 0:
                if len(self._buffer) > MAX_FRAME:
                    self.rejected += 1
                    self._buffer.clear()
                return
            packet = bytes(self._buffer[: end + 1])
            del self._buffer[: end + 1]
            decoded = parse_packet(packet)
            if decoded is None:
                self.rejected += 1
            else:
                yield decoded


def parse_packet(packet: bytes) -> AlphaWrite | None:
    """SOH .. EOT of one packet, or None when it is not a well-formed write-TEXT."""
    if len(packet) < 7 or packet[0] != SOH or packet[-1] != EOT or packet[4] != STX:
        return None
    try:
        type_code = chr(packet[1])
        address = int(packet[2:4].decode("ascii"), 16)
    except (UnicodeDecodeError, ValueError):
        return None
    body = packet[4:-1]  # STX ... (ETX checksum)
    checksummed = False
    etx = body.find(ETX)
    if etx >= 0:
        if len(body) != etx + 5 or body[etx + 1 :] != checksum(body[: etx + 1]):
            return None
        body = body[:etx]
        checksummed = True
    if len(body) < 3 or body[1] != WRITE_TEXT:
        return None
    label = chr(body[2])
    rest = body[3:]
    position: int | None = None
    mode: DisplayMode | None = None
    if rest[:1] == bytes([ESC]):
        if len(rest) < 3:
            return None
        position = rest[1]
        mode = CODE_MODES.get(chr(rest[2]))
        rest = rest[3:]
    try:
        text = rest.decode("ascii")
    except UnicodeDecodeError:
        return None
    return AlphaWrite(type_code, address, label, position, mode, text, checksummed)
