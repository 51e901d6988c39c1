"""A virtual bus of caller keypads on a real pseudo-terminal: it presses keys (as frames on the
line, re-sent like a real keypad until the host echoes them) and shows what the host displays.

    bus = KeypadBusEmulator("/tmp/keypads", addresses=[5])
    bus.start()
    bus.press(5, Key.CALL)
    bus.wait_display(5, lambda text: text.strip() == "12")
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from hardware.emulators.pty_bus import PtyBusEmulator
from hardware.keypad.frame import Frame, FrameDecoder, Func, Key, key_frame

log = logging.getLogger(__name__)

ACK_TIMEOUT = 0.3  # a key not echoed by then is sent again
MAX_SENDS = 4


@dataclass
class _Unacked:
    frame: bytes
    sent_at: float
    sends: int


class KeypadBusEmulator(PtyBusEmulator):
    def __init__(
        self,
        link: str | Path,
        addresses: Iterable[int],
        on_display: Callable[[int, str], None] | None = None,
    ) -> None:
        super().__init__(link, "keypad emulator")
        self.addresses = set(addresses)
        self.on_display = on_display
        self.displays: dict[int, str] = {}
        self.beeps: dict[int, int] = dict.fromkeys(self.addresses, 0)
        self.acked: list[tuple[int, Key]] = []
        self._unacked: list[_Unacked] = []
        self._decoder = FrameDecoder()

    @property
    def rejected(self) -> int:
        return self._decoder.rejected

    def press(self, address: int, *keys: Key) -> None:
        for key in keys:
            frame = key_frame(address, key)
            with self._changed:
                self._unacked.append(_Unacked(frame, time.monotonic(), 1))
            self.line.write(frame)
            log.info("keypad emulator: keypad %d pressed %s", address, key.name)

    def send_raw(self, data: bytes) -> None:
        """Bytes on the line as they are: noise and torn frames for fault tests."""
        self.line.write(data)

    def display(self, address: int) -> str | None:
        with self._changed:
            return self.displays.get(address)

    def wait_display(
        self, address: int, predicate: Callable[[str], bool], timeout: float = 5.0
    ) -> str | None:
        def found() -> str | None:
            text = self.displays.get(address)
            return text if text is not None and predicate(text) else None

        return self._wait(found, timeout)

    def all_acked(self) -> bool:
        with self._changed:
            return not self._unacked

    def _on_read(self, data: bytes) -> None:
        frames = list(self._decoder.feed(data)) if data else list(self._decoder.idle())
        for frame in frames:
            self._on_frame(frame)
        self._resend()

    def _on_frame(self, frame: Frame) -> None:
        if frame.address not in self.addresses:
            return
        with self._changed:
            if frame.func == Func.KEY:
                encoded = frame.encode()
                for i, pending in enumerate(self._unacked):
                    if pending.frame == encoded:
                        del self._unacked[i]
                        if frame.key is not None:
                            self.acked.append((frame.address, frame.key))
                        break
            elif frame.func == Func.DISPLAY:
                text = frame.display_text or ""
                self.displays[frame.address] = text
                log.info("keypad emulator: keypad %d displays %r", frame.address, text)
            elif frame.func == Func.BEEP:
                self.beeps[frame.address] = self.beeps.get(frame.address, 0) + 1
            self._changed.notify_all()
        if frame.func == Func.DISPLAY and self.on_display is not None:
            self.on_display(frame.address, frame.display_text or "")

    def _resend(self) -> None:
        now = time.monotonic()
        with self._changed:
            due = [p for p in self._unacked if now - p.sent_at >= ACK_TIMEOUT]
            for pending in due:
                if pending.sends >= MAX_SENDS:
                    self._unacked.remove(pending)
                    log.warning("keypad emulator: a key was never acknowledged by the host")
                    continue
                pending.sends += 1
                pending.sent_at = now
                self.line.write(pending.frame)
