"""The hall screen (综合屏) in plain Python: what to draw, from the hall's topics and the time.

Fed by the link (display/link.py) on the UI thread: `on_catalog`, `on_board`, `on_calls`,
`on_window_state`, `on_stats`, `on_connection`, `on_hall_status`, `on_ping_wait`; `view(now)` says
what to draw at `now` (monotonic seconds, injected so the flash and page timers are tested on a fake
clock). Nothing here imports Kivy or paho.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from display.feed import WEEKDAYS, CallOrder, LinkedScreen, LinkWatch, strings_for
from display.settings import DisplaySettings
from display.sunshine import SunRow, page_at, sunshine_rows

FLASH_SECONDS = 6.0  # the newest call flashes this long after it arrives
BLINK_SECONDS = 0.5  # on, then off, then on ...
RECENT_SHOWN = 6
# What one screen can show legibly from across a hall; a bigger hall's windows page through.
CELLS_PER_PAGE = 16
PAGE_SECONDS = 8.0
DEPARTMENTS_SHOWN = 6  # the longest queues first; departments with nobody waiting are left out


@dataclass(frozen=True)
class WindowCell:
    id: str
    name: str
    main: str  # the ticket number, or the state (暂停服务, 未开放, 等候叫号)
    sub: str  # a pause's reason, the clerk
    state: str  # "serving", "idle", "paused", "closed"; "blank" fills a last page


@dataclass(frozen=True)
class HallView:
    title: str
    clock: str
    page: str  # "hall" or "sunshine"
    newest: str  # 请 A012 号到 5号窗口, or "" before the first call
    flashing: bool  # within FLASH_SECONDS of the newest call
    flash_on: bool  # the blink's phase while flashing
    recent: list[str]
    windows: list[WindowCell]
    waiting: list[str]
    notice: str
    stale: str | None  # the banner, when what is shown may be stale
    sunshine: list[SunRow] = field(default_factory=list)
    window_page: str = ""  # "2/5" when the windows page through

    def texts(self) -> list[str]:
        """Every text the view draws (the glyph check reads them)."""
        found = [self.title, self.clock, self.newest, *self.recent, *self.waiting, self.notice]
        found.append(self.window_page)
        for cell in self.windows:
            found += [cell.name, cell.main, cell.sub]
        for row in self.sunshine:
            found += [row.window, row.clerk, row.served, row.mean_time, row.good_share]
        if self.stale:
            found.append(self.stale)
        return [t for t in found if t]


class HallPresenter(LinkedScreen):
    def __init__(self, settings: DisplaySettings, hall_now: Callable[[], datetime]) -> None:
        self.settings = settings
        self.hall_now = hall_now
        self.language, self.strings = strings_for(settings.languages)
        self.link = LinkWatch(keepalive=settings.keepalive)
        self.order = CallOrder()
        self.site_name = ""
        self.departments: dict[str, str] = {}  # code -> name
        self.clerks: dict[str, str] = {}  # id -> name, from the board and window states
        self.windows: dict[str, dict[str, Any]] = {}  # id -> window state, in hall order
        self.recent: list[dict[str, Any]] = []  # call messages, newest first
        self.waiting: dict[str, dict[str, Any]] = {}
        self.notice = ""
        self.stats: dict[str, Any] | None = None
        self.board_day: str | None = None
        self.newest_at: float | None = None  # when the newest call arrived (monotonic)
        self.started: float | None = None
        self.boards = 0  # boards applied (a redraw), for tests and the state file
        self.gaps = 0

    # -- what is shown at all
    def shows(self, window: dict[str, Any]) -> bool:
        """Whether this screen shows this window (its `windows` list, else its `areas`)."""
        if self.settings.windows:
            return str(window.get("id")) in self.settings.windows
        return not self.settings.areas or window.get("area") in self.settings.areas

    # -- inputs
    def on_catalog(self, payload: dict[str, Any] | None) -> None:
        if not payload:
            return
        site = payload.get("site") or {}
        self.site_name = str(site.get("name") or "")
        self.departments = {
            d["code"]: d.get("name_zh" if self.language == "zh" else "name_en") or d["code"]
            for d in payload.get("departments", [])
        }
        if self.notice == "":
            self.notice = payload.get("notice") or ""

    def on_board(self, payload: dict[str, Any] | None, now: float) -> None:
        """Redraw from nothing: the board is where the hall stands."""
        if not payload:
            return
        seq = int(payload.get("seq", 0))
        day = str(payload.get("at", ""))[:10]
        same_day = self.board_day in (None, day)
        self.board_day = day
        newer_calls = [c for c in self.recent if same_day and int(c["seq"]) > seq]
        board_recent = [c for c in payload.get("recent", []) if self.shows(c.get("window", {}))]
        self.recent = (newer_calls + board_recent)[: RECENT_SHOWN + 1]
        if not same_day or self.order.last is None or seq >= self.order.last:
            self.order.reset(seq)
        self.windows = {}
        for state in payload.get("windows", []):
            self._set_window(state)
        for calls in newer_calls:  # a call newer than the board already moved its window
            self._apply_call_to_window(calls)
        self.waiting = dict(payload.get("waiting") or {})
        self.notice = payload.get("notice") or ""
        self.boards += 1

    def on_calls(self, payload: dict[str, Any] | None, now: float) -> None:
        if not payload or not isinstance(payload.get("seq"), int):
            return
        verdict = self.accept_call(payload["seq"])
        if verdict == "repeat":
            return
        if verdict == "gap":
            self.gaps += 1  # the next board (it follows every batch) redraws what was missed
        if not self.shows(payload.get("window", {})):
            return
        self.recent = [payload, *self.recent][: RECENT_SHOWN + 1]
        self.newest_at = now
        self._apply_call_to_window(payload)

    def accept_call(self, seq: int) -> str:
        """'new', 'repeat' or 'gap': the one place contract/calls.py's CallSequence plugs in."""
        return self.order.accept(seq)

    def on_window_state(self, window_id: str, payload: dict[str, Any] | None) -> None:
        if payload and window_id in self.windows:
            self._set_window(payload)

    def on_stats(self, payload: dict[str, Any] | None) -> None:
        self.stats = payload

    def _set_window(self, state: dict[str, Any]) -> None:
        window = state.get("window") or {}
        if not self.shows(window):
            return
        clerk = state.get("clerk")
        if isinstance(clerk, dict):
            self.clerks[str(clerk.get("id"))] = str(clerk.get("name"))
        self.windows[str(window.get("id"))] = state

    def _apply_call_to_window(self, call: dict[str, Any]) -> None:
        window_id = str(call.get("window", {}).get("id"))
        state = self.windows.get(window_id)
        if state is not None:
            self.windows[window_id] = {**state, "ticket": call.get("ticket"), "status": "open"}

    # -- output
    def call_text(self, call: dict[str, Any]) -> str:
        return self.strings["call"].format(
            number=call.get("ticket", {}).get("number", "?"),
            window=call.get("window", {}).get("name", "?"),
        )

    def clock_text(self) -> str:
        now = self.hall_now()
        return self.strings["date"].format(
            y=now.year,
            m=now.month,
            d=now.day,
            weekday=WEEKDAYS[self.language][now.weekday()],
            hm=now.strftime("%H:%M"),
        )

    def cell(self, state: dict[str, Any]) -> WindowCell:
        window = state.get("window") or {}
        status = state.get("status")
        ticket = state.get("ticket")
        name, wid = str(window.get("name", "")), str(window.get("id", ""))
        if status == "closed":
            return WindowCell(wid, name, self.strings["closed"], "", "closed")
        if status == "paused":
            return WindowCell(
                wid, name, self.strings["paused"], state.get("reason") or "", "paused"
            )
        clerk = state.get("clerk") or {}
        if isinstance(ticket, dict):
            return WindowCell(wid, name, str(ticket.get("number")), "", "serving")
        idle = self.strings["idle_cell"]
        return WindowCell(wid, name, idle, str(clerk.get("name") or ""), "idle")

    def cells(self, now: float) -> tuple[list[WindowCell], str]:
        """The windows on screen now, and which page of them ("2/5"; "" when they all fit): a
        hall with more windows than fit leaves out the closed ones, then pages through the rest."""
        cells = [self.cell(s) for s in self.windows.values()]
        if len(cells) > CELLS_PER_PAGE:
            active = [c for c in cells if c.state != "closed"]
            room = CELLS_PER_PAGE - len(active)  # closed windows fill what the open ones leave
            spare = [c.id for c in cells if c.state == "closed"][: max(0, room)]  # hall order
            keep = {c.id for c in active} | set(spare)
            cells = [c for c in cells if c.id in keep]
        pages = max(1, -(-len(cells) // CELLS_PER_PAGE))
        if pages == 1:
            return cells, ""
        page = int(now / PAGE_SECONDS) % pages
        on_page = cells[page * CELLS_PER_PAGE : (page + 1) * CELLS_PER_PAGE]
        blank = WindowCell("", "", "", "", "blank")  # the last page keeps the grid's shape
        return on_page + [blank] * (CELLS_PER_PAGE - len(on_page)), f"{page + 1}/{pages}"

    def waiting_lines(self) -> list[str]:
        lines = []
        busiest = sorted(
            ((code, f) for code, f in self.waiting.items() if f.get("count", 0) > 0),
            key=lambda item: (-item[1].get("count", 0), -item[1].get("longest_wait_min", 0)),
        )
        for code, figures in busiest[:DEPARTMENTS_SHOWN]:
            lines.append(
                self.strings["waiting"].format(
                    name=self.departments.get(code, code),
                    count=figures.get("count", 0),
                    minutes=figures.get("longest_wait_min", 0),
                )
            )
        return lines

    def view(self, now: float) -> HallView:
        if self.started is None:
            self.started = now
        newest = self.recent[0] if self.recent else None
        flashing = self.newest_at is not None and now - self.newest_at < FLASH_SECONDS
        flash_on = flashing and int((now - (self.newest_at or now)) / BLINK_SECONDS) % 2 == 0
        problem = self.link.problem(self.strings)
        page = page_at(
            now - self.started, self.settings.hall_seconds, self.settings.sunshine_seconds
        )
        windows, window_page = self.cells(now)
        return HallView(
            title=self.site_name or self.settings.name,
            clock=self.clock_text(),
            page=page,
            newest=self.call_text(newest) if newest else self.settings.slogan,
            flashing=flashing,
            flash_on=flash_on,
            recent=[
                self.strings["called_to"].format(
                    number=c["ticket"]["number"], window=c["window"]["name"]
                )
                for c in self.recent[1:]
            ],
            windows=windows,
            window_page=window_page,
            waiting=self.waiting_lines(),
            notice=self.notice,
            stale=self.strings["stale"].format(why=problem) if problem else None,
            sunshine=sunshine_rows(
                self.stats,
                [s.get("window") or {} for s in self.windows.values()],
                self.clerks,
                self.strings,
                {
                    wid: str(s["clerk"].get("name"))
                    for wid, s in self.windows.items()
                    if isinstance(s.get("clerk"), dict)
                },
            )
            if page == "sunshine"
            else [],
        )

    def drawn_state(self) -> dict[str, Any]:
        """What the screen shows, as JSON for the tests to compare with the hall's board."""
        return {
            "seq": self.order.last,
            "boards": self.boards,
            "gaps": self.gaps,
            "windows": {
                wid: {
                    "status": s.get("status"),
                    "ticket": (s.get("ticket") or {}).get("number"),
                }
                for wid, s in self.windows.items()
            },
            "recent": [c["ticket"]["number"] for c in self.recent],
            "stale": self.link.problem(self.strings),
        }
