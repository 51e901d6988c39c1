"""A virtual bus of window LED boards on a real pseudo-terminal: it decodes what the host sends, in
the Alpha protocol, the plain GB2312 frame, or both at once, and reports what each address shows.

    bus = LedBusEmulator("/tmp/led-1f")      # the bridge's config says port = "/tmp/led-1f"
    bus.start()
    bus.wait_for(5, lambda s: s.text == "暂停服务")
    bus.unplug(); bus.plug()                 # a pulled and replugged cable
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from contract.settings.bus import GbFrameBytes
from hardware.emulators.pty_bus import PtyBusEmulator
from hardware.led.alpha import AlphaDecoder
from hardware.led.gbframe import GbFrameCodec, GbFrameDecoder
from hardware.led.modes import Shown

log = logging.getLogger(__name__)

Protocol = Literal["auto", "alpha", "gb-frame"]


@dataclass
class BoardView:
    """What one address shows now, and everything it was told, with monotonic times."""

    address: int
    shown: Shown
    at: float
    history: list[tuple[float, Shown]] = field(default_factory=list)


class LedBusEmulator(PtyBusEmulator):
    def __init__(
        self,
        link: str | Path,
        protocol: Protocol = "auto",
        gb_frame: GbFrameBytes | None = None,
        on_show: Callable[[BoardView], None] | None = None,
    ) -> None:
        super().__init__(link, "led emulator")
        self.protocol = protocol
        self._alpha = AlphaDecoder() if protocol in ("auto", "alpha") else None
        self._gb = GbFrameDecoder(GbFrameCodec(gb_frame)) if protocol != "alpha" else None
        self.on_show = on_show
        self.boards: dict[int, BoardView] = {}

    @property
    def rejected(self) -> int:
        """Frames dropped as noise, torn or corrupt, over both decoders."""
        return (self._alpha.rejected if self._alpha else 0) + (self._gb.rejected if self._gb else 0)

    def unplug(self) -> None:
        self.line.unplug()

    def plug(self) -> None:
        self.line.plug()

    def showing(self, address: int) -> Shown | None:
        with self._changed:
            view = self.boards.get(address)
            return view.shown if view else None

    def wait_for(
        self, address: int, predicate: Callable[[Shown], bool], timeout: float = 5.0
    ) -> Shown | None:
        """The first thing `address` shows that satisfies `predicate` (what it shows now
        included), or None after `timeout`."""

        def found() -> Shown | None:
            view = self.boards.get(address)
            return view.shown if view is not None and predicate(view.shown) else None

        return self._wait(found, timeout)

    def history(self, address: int) -> list[tuple[float, Shown]]:
        with self._changed:
            view = self.boards.get(address)
            return list(view.history) if view else []

    def _on_read(self, data: bytes) -> None:
        shown: list[Shown] = []
        if data:
            if self._alpha is not None:
                shown += [write.shown() for write in self._alpha.feed(data)]
            if self._gb is not None:
                shown += list(self._gb.feed(data))
        elif self._gb is not None:
            shown += list(self._gb.idle())
        for item in shown:
            self._record(item)

    def _record(self, shown: Shown) -> None:
        now = time.monotonic()
        with self._changed:
            view = self.boards.get(shown.address)
            if view is None:
                view = self.boards[shown.address] = BoardView(shown.address, shown, now)
            view.shown, view.at = shown, now
            view.history.append((now, shown))
            self._changed.notify_all()
        log.info(
            "led emulator: address %d shows %r (%s)",
            shown.address,
            shown.text,
            shown.mode.value if shown.mode else "cleared",
        )
        if self.on_show is not None:
            self.on_show(view)
