"""The LED board driver interface: show a text with a mode, or clear, on a board of a bus by address.

Like python-escpos's connectors, every protocol only encodes; one raw hook moves the bytes (a
ReconnectingPort's write in production, a list in tests). `show` and `clear` return False when the
bytes could not be sent (the port is away): the bridge redraws every board once it is back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from contract.settings.bus import BusConfig, GbFrameBytes
from hardware.errors import ConfigurationError
from hardware.led import alpha
from hardware.led.gbframe import GbFrameCodec
from hardware.led.modes import DisplayMode

RawWrite = Callable[[bytes], bool]


class LedBus(ABC):
    def __init__(self, raw: RawWrite) -> None:
        self._raw = raw

    @abstractmethod
    def encode_show(self, address: int, text: str, mode: DisplayMode) -> bytes: ...

    @abstractmethod
    def encode_clear(self, address: int) -> bytes: ...

    def show(self, address: int, text: str, mode: DisplayMode = DisplayMode.STEADY) -> bool:
        return self._raw(self.encode_show(address, text, mode))

    def clear(self, address: int) -> bool:
        return self._raw(self.encode_clear(address))


class AlphaBus(LedBus):
    """Alpha signs: ASCII only, text file A, position middle, checksummed packets."""

    def __init__(self, raw: RawWrite, type_code: str = "Z") -> None:
        super().__init__(raw)
        self.type_code = type_code

    def encode_show(self, address: int, text: str, mode: DisplayMode) -> bytes:
        return alpha.write_text(address, text, mode, type_code=self.type_code)

    def encode_clear(self, address: int) -> bytes:
        return alpha.clear(address, type_code=self.type_code)


class GbFrameBus(LedBus):
    def __init__(self, raw: RawWrite, frame: GbFrameBytes | None = None) -> None:
        super().__init__(raw)
        self.codec = GbFrameCodec(frame)

    def encode_show(self, address: int, text: str, mode: DisplayMode) -> bytes:
        return self.codec.show(address, text, mode)

    def encode_clear(self, address: int) -> bytes:
        return self.codec.clear(address)


def led_bus_for(bus: BusConfig, raw: RawWrite) -> LedBus:
    if bus.protocol == "alpha":
        return AlphaBus(raw, bus.alpha_type)
    if bus.protocol == "gb-frame":
        return GbFrameBus(raw, bus.gb_frame)
    raise ConfigurationError(f"unknown LED protocol {bus.protocol!r}", device=bus.port)
