"""What a window's board shows, from the hall's retained window state: pure, the clock a parameter.

The hall's convention: on a call (a new ticket, or a recall of the same one) the number and window
flash for `flash_seconds`, then stay steady; "暂停服务" (or the Alpha template) when paused; the idle
slogan when closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contract.settings.bus import BoardTemplates
from hardware.led.modes import DisplayMode


@dataclass(frozen=True)
class BoardText:
    text: str
    mode: DisplayMode


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""  # a template naming an unknown field shows nothing there rather than failing


def render(template: str, fields: Mapping[str, str]) -> str:
    try:
        return template.format_map(_Blank(fields))
    except (ValueError, IndexError):
        return template  # a malformed template is shown as written: visible, so it gets fixed


class WindowBoard:
    """One window's board: feed it states, ask it what to show now."""

    def __init__(
        self, window_no: int, window_name: str, templates: BoardTemplates, flash_seconds: float
    ) -> None:
        self.window_no = window_no
        self.window_name = window_name
        self.templates = templates
        self.flash_seconds = flash_seconds
        self._text = render(templates.closed, self._fields({}))
        self._call_key: tuple[str, int] | None = None
        self._flash_until = 0.0

    def on_state(self, state: Mapping[str, Any], now: float) -> BoardText:
        status = state.get("status")
        ticket = state.get("ticket") if isinstance(state.get("ticket"), Mapping) else None
        fields = self._fields(state)
        if status == "paused":
            self._text, self._call_key = render(self.templates.paused, fields), None
        elif status == "open" and ticket is not None:
            self._text = render(self.templates.call, fields)
            key = (str(ticket.get("id", ticket.get("number", ""))), int(ticket.get("recalls") or 0))
            if key != self._call_key and ticket.get("status") in ("called", None):
                self._flash_until = now + self.flash_seconds  # a call or a recall: flash it
            self._call_key = key
        elif status == "open":
            self._text, self._call_key = render(self.templates.open, fields), None
        else:
            self._text, self._call_key = render(self.templates.closed, fields), None
        if self._call_key is None:
            self._flash_until = 0.0
        return self.current(now)

    def current(self, now: float) -> BoardText:
        mode = DisplayMode.FLASH if now < self._flash_until else DisplayMode.STEADY
        return BoardText(self._text, mode)

    def steady_at(self) -> float | None:
        """When the flash ends (a monotonic time), or None when it is not flashing."""
        return self._flash_until or None

    def _fields(self, state: Mapping[str, Any]) -> dict[str, str]:
        ticket = state.get("ticket") if isinstance(state.get("ticket"), Mapping) else {}
        clerk = state.get("clerk") if isinstance(state.get("clerk"), Mapping) else {}
        assert isinstance(ticket, Mapping) and isinstance(clerk, Mapping)
        return {
            "number": str(ticket.get("number", "")),
            "window_no": str(self.window_no),
            "window_name": self.window_name,
            "window_id": str((state.get("window") or {}).get("id", "")),
            "clerk": str(clerk.get("name", "")),
            "reason": str(state.get("reason") or ""),
        }
