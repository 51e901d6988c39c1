"""The window screen (窗口屏) in plain Python: one window's number, service and clerk, large.

It draws from the retained `window/{id}/state` (and the board's copy of it at connect), flashes when
`calls` calls to this window, shows 暂停服务 and the reason when paused, and its idle slogan when
the window is closed. Fed on the UI thread by the link, like the hall presenter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from display.feed import CallOrder, LinkedScreen, LinkWatch, strings_for
from display.hall_presenter import BLINK_SECONDS, FLASH_SECONDS
from display.settings import DisplaySettings

SERVICES_SHOWN = 36  # characters of the services line; a long roster ends "… 等 12 项业务"


def services_line(names: list[str], limit: int = SERVICES_SHOWN) -> str:
    """The window's services on one line: as many whole names as fit in `limit` characters, then
    how many there are in all."""
    line = "、".join(names)
    if len(line) <= limit:
        return line
    shown: list[str] = []
    for name in names:
        if len("、".join([*shown, name])) > limit - 8:
            break
        shown.append(name)
    return f"{'、'.join(shown)} 等 {len(names)} 项业务"


@dataclass(frozen=True)
class WindowView:
    title: str  # 5号窗口
    state: str  # "serving", "idle", "paused", "closed"
    number: str  # the ticket at the window, else ""
    headline: str  # 请 A012 号到 5号窗口 / 暂停服务 / the slogan
    detail: str  # the pause's reason, the services
    clerk: str
    flashing: bool
    flash_on: bool
    stale: str | None

    def texts(self) -> list[str]:
        found = [self.title, self.number, self.headline, self.detail, self.clerk, self.stale or ""]
        return [t for t in found if t]


class WindowPresenter(LinkedScreen):
    def __init__(self, settings: DisplaySettings) -> None:
        assert settings.window is not None
        self.settings = settings
        self.window_id = settings.window
        self.language, self.strings = strings_for(settings.languages)
        self.link = LinkWatch(keepalive=settings.keepalive)
        self.order = CallOrder()
        self.state: dict[str, Any] | None = None
        self.services: list[str] = []  # names of this window's services, from the catalog
        self.called_at: float | None = None
        self.boards = 0
        self.board_day: str | None = None

    def on_catalog(self, payload: dict[str, Any] | None) -> None:
        if not payload:
            return
        key = "name_zh" if self.language == "zh" else "name_en"
        names = {
            s["code"]: s.get(key) or s.get("name_zh") or s["code"] for s in payload["services"]
        }
        for window in payload.get("windows", []):
            if window.get("id") == self.window_id:
                self.services = [names.get(code, code) for code in window.get("services", [])]

    def on_board(self, payload: dict[str, Any] | None, now: float) -> None:
        if not payload:
            return
        seq, day = int(payload.get("seq", 0)), str(payload.get("at", ""))[:10]
        if self.order.last is None or seq >= self.order.last or day != self.board_day:
            self.order.reset(seq)  # an older board (retained, at connect) keeps the calls seen
        self.board_day = day
        for state in payload.get("windows", []):
            if (state.get("window") or {}).get("id") == self.window_id:
                self.state = state
        self.boards += 1

    def on_window_state(self, window_id: str, payload: dict[str, Any] | None) -> None:
        if payload and window_id == self.window_id:
            self.state = payload

    def on_calls(self, payload: dict[str, Any] | None, now: float) -> None:
        if not payload or not isinstance(payload.get("seq"), int):
            return
        if self.accept_call(payload["seq"]) == "repeat":
            return
        if (payload.get("window") or {}).get("id") != self.window_id:
            return
        self.called_at = now
        base = self.state or {"window": payload.get("window"), "clerk": None, "reason": None}
        self.state = {**base, "status": "open", "ticket": payload.get("ticket")}

    def accept_call(self, seq: int) -> str:
        """'new', 'repeat' or 'gap' (contract/calls.py's CallSequence plugs in here)."""
        return self.order.accept(seq)

    def on_stats(self, payload: dict[str, Any] | None) -> None:
        pass  # a window screen shows no figures

    def view(self, now: float) -> WindowView:
        state = self.state or {}
        window = state.get("window") or {}
        title = str(window.get("name") or self.settings.name or self.window_id)
        clerk = state.get("clerk") or {}
        clerk_text = self.strings["clerk"].format(name=clerk["name"]) if clerk else ""
        services = services_line(self.services)
        ticket = state.get("ticket")
        status = state.get("status", "closed")
        flashing = self.called_at is not None and now - self.called_at < FLASH_SECONDS
        flash_on = flashing and int((now - (self.called_at or now)) / BLINK_SECONDS) % 2 == 0
        problem = self.link.problem(self.strings)
        stale = self.strings["stale"].format(why=problem) if problem else None
        if status == "closed":
            return WindowView(
                title, "closed", "", self.settings.slogan, "", "", False, False, stale
            )
        if status == "paused":
            reason = str(state.get("reason") or "")
            return WindowView(
                title, "paused", "", self.strings["paused"], reason, clerk_text, False, False, stale
            )
        if isinstance(ticket, dict):
            number = str(ticket.get("number"))
            headline = self.strings["call"].format(number=number, window=title)
            return WindowView(
                title, "serving", number, headline, services, clerk_text, flashing, flash_on, stale
            )
        return WindowView(
            title, "idle", "", self.strings["idle"], services, clerk_text, False, False, stale
        )

    def drawn_state(self) -> dict[str, Any]:
        state = self.state or {}
        return {
            "seq": self.order.last,
            "boards": self.boards,
            "windows": {
                self.window_id: {
                    "status": state.get("status"),
                    "ticket": (state.get("ticket") or {}).get("number"),
                }
            },
            "stale": self.link.problem(self.strings),
        }
