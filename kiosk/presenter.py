"""What the kiosk shows and what a tap does, in plain Python: no Kivy, no MQTT, no printer.

The app feeds it what the hall publishes (`catalog`, `queues`), the state of its link and printer,
the visitor's taps and the time; the presenter answers with a `KioskView` to draw and calls its
`KioskPort` for what must happen outside (ask the hall for a ticket, print, speak, call for help).
Every rule a visitor meets lives here, so it is tested without a window:

- a tap while a ticket is being issued does nothing (one tap, one ticket);
- no ticket is asked for when the hall, the broker or the printer cannot deliver one, and the
  visitor is told where to go instead;
- a ticket whose print failed stays on screen with its number and is reprinted once the printer is
  back;
- idle on any screen returns home; the ticket screen returns home after a few seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from kiosk.search import ServiceIndex
from kiosk.texts import text

Screen = Literal["home", "department", "search", "priority", "booking", "issuing", "ticket"]
PRIORITY_CATEGORIES = ("elderly", "disabled", "military")
IDLE_SECONDS = 60.0  # no touch for this long: back to the home screen
TICKET_SECONDS = 12.0  # the ticket screen stays this long, then home
MESSAGE_SECONDS = 8.0  # a refusal or notice stays this long
PRINTER_BLOCKING = frozenset({"paper_out", "cover_open", "offline", "error", "unknown_error"})
REFUSAL_REASONS = {
    "service_closed": ("今日暂停办理此事项", "this service is closed today"),
    "outside_hours": ("不在办理时间", "outside its opening hours"),
    "quota_reached": ("今日号已取完", "no tickets left today"),
    "appointment_required": ("此事项需预约", "it needs a booking"),
    "unknown_booking": ("预约码不存在", "the booking code is not known"),
    "booking_used": ("预约已签到", "that booking was already used"),
    "booking_wrong_day": ("不是预约当天", "the booking is for another day"),
    "rate_limited": ("取号太频繁，请稍后再试", "too many tickets: try again shortly"),
}


class KioskPort(Protocol):
    """What the presenter asks of the world; the app implements it, tests record it."""

    def issue(
        self, service: str | None, category: str | None, appointment: str | None, lang: str
    ) -> None: ...

    def print_ticket(self, ticket: Mapping[str, Any], lang: str) -> None: ...

    def reprint(self, ticket_id: str) -> None: ...

    def call_help(self) -> None: ...

    def speak(self, phrase: str, lang: str, number: str = "") -> None: ...


@dataclass(frozen=True)
class Tile:
    code: str
    name: str
    waiting: str
    wait: str
    can_issue: bool
    state: str  # what the visitor reads before tapping: open, closed, opens 14:00 ...


@dataclass(frozen=True)
class TicketShown:
    number: str
    service: str
    windows: str
    ahead: str
    wait: str
    print_failed: bool


@dataclass(frozen=True)
class KioskView:
    """Everything a screen draws, already in the visitor's language."""

    screen: Screen
    language: str
    large: bool
    title: str
    prompt: str
    tiles: tuple[Tile, ...] = ()
    page: int = 0
    pages: int = 1
    search_text: str = ""
    ticket: TicketShown | None = None
    message: str = ""  # a refusal, a notice, or why no ticket can be issued now
    blocked: str = ""  # set when no ticket can be issued at all (hall, broker or printer down)
    allow_priority: bool = False


@dataclass
class _State:
    screen: Screen = "home"
    language: str = "zh"
    large: bool = False
    page: int = 0
    department: str | None = None
    search_text: str = ""
    chosen_service: str | None = None
    booking_code: str = ""
    ticket: dict[str, Any] | None = None
    print_failed: bool = False
    message: str = ""
    message_until: float = 0.0
    last_touch: float = 0.0
    ticket_until: float = 0.0


@dataclass
class KioskPresenter:
    port: KioskPort
    allow_priority: bool = False
    languages: Sequence[str] = ("zh", "en")
    page_size: int = 8
    idle_seconds: float = IDLE_SECONDS
    ticket_seconds: float = TICKET_SECONDS
    catalog: dict[str, Any] = field(default_factory=dict)
    queues: dict[str, Any] = field(default_factory=dict)
    connected: bool = False
    hall_online: bool = False
    printer_state: str = "unknown"
    reprint_waiting: list[str] = field(default_factory=list)
    _index: ServiceIndex = field(default_factory=lambda: ServiceIndex(()))
    _s: _State = field(default_factory=_State)
    _now: float = 0.0

    # -- what the hall and the devices say
    def on_catalog(self, catalog: Mapping[str, Any]) -> None:
        self.catalog = dict(catalog)
        self._index = ServiceIndex.build(self.catalog.get("services", []))
        if self._s.department and self._department(self._s.department) is None:
            self._go_home()

    def on_queues(self, queues: Mapping[str, Any]) -> None:
        self.queues = dict(queues)

    def on_link(self, connected: bool, hall_online: bool) -> None:
        self.connected, self.hall_online = connected, hall_online

    def on_printer(self, state: str) -> None:
        """The printer's state (hardware/printer/state.py names). Back to ready: reprint what failed."""
        self.printer_state = state
        if state not in PRINTER_BLOCKING and self.reprint_waiting and self._can_reach_hall():
            waiting, self.reprint_waiting = self.reprint_waiting, []
            for ticket_id in waiting:
                self.port.reprint(ticket_id)

    # -- the visitor
    def tap_department(self, code: str) -> None:
        if self._touch() and self._department(code) is not None:
            self._s.screen, self._s.department = "department", code
            self._speak("choose_service")

    def tap_service(self, code: str) -> None:
        if not self._touch():
            return
        service = self._service(code)
        if service is None:
            return
        if service.get("needs_appointment"):
            self._s.chosen_service, self._s.booking_code = code, ""
            self._s.screen = "booking"
            return
        queue = self._queue(code)
        if not queue.get("can_issue", False):
            self._show_message(self._state_text(code))
            return
        if self._blocked():
            self._show_message(self._blocked())
            return
        if self.allow_priority:
            self._s.chosen_service, self._s.screen = code, "priority"
            return
        self._issue(code, None, None)

    def choose_priority(self, category: str | None) -> None:
        """None: a regular ticket; else one of PRIORITY_CATEGORIES."""
        if not self._touch() or self._s.screen != "priority" or self._s.chosen_service is None:
            return
        if category is not None and category not in PRIORITY_CATEGORIES:
            return
        self._issue(self._s.chosen_service, category, None)

    def tap_booking(self) -> None:
        if self._touch():
            self._s.chosen_service, self._s.booking_code, self._s.screen = None, "", "booking"

    def type_booking(self, key: str) -> None:
        if self._touch() and self._s.screen == "booking" and len(self._s.booking_code) < 32:
            self._s.booking_code += key

    def clear_booking(self) -> None:
        if self._touch():
            self._s.booking_code = ""

    def submit_booking(self) -> None:
        if not self._touch() or self._s.screen != "booking" or not self._s.booking_code:
            return
        if self._blocked():
            self._show_message(self._blocked())
            return
        self._issue(self._s.chosen_service, None, self._s.booking_code)

    def type_search(self, key: str) -> None:
        if self._touch():
            self._s.search_text = (self._s.search_text + key)[:20]
            self._s.screen = "search"

    def backspace(self) -> None:
        if self._touch():
            self._s.search_text = self._s.search_text[:-1]

    def open_search(self) -> None:
        if self._touch():
            self._s.screen, self._s.search_text = "search", ""

    def next_page(self, step: int = 1) -> None:
        if self._touch():
            self._s.page = max(0, min(self._pages() - 1, self._s.page + step))

    def back(self) -> None:
        if not self._touch():
            return
        if self._s.screen in ("priority", "booking") and self._s.department:
            self._s.screen = "department"
        else:
            self._go_home()

    def home(self) -> None:
        if self._touch():
            self._go_home()

    def toggle_large(self) -> None:
        # Allowed while issuing too: it changes nothing but the type size.
        self._s.last_touch = self._now
        self._s.large = not self._s.large

    def toggle_language(self) -> None:
        self._s.last_touch = self._now
        options = list(self.languages) or ["zh"]
        at = options.index(self._s.language) if self._s.language in options else -1
        self._s.language = options[(at + 1) % len(options)]

    def tap_help(self) -> None:
        self._s.last_touch = self._now
        if self._can_reach_hall():
            self.port.call_help()
            self._show_message(text("help_called", self._s.language))
            self._speak("help_called")
        else:
            self._show_message(text("help_failed", self._s.language))
            self._speak("no_ticket_now")

    # -- answers from the world
    def on_issue_answer(self, ok: bool, result: Mapping[str, Any] | None, code: str = "") -> None:
        """The hall's answer to the pending `issue` (also one resumed after a restart)."""
        lang = self._s.language
        if ok and result is not None and isinstance(result.get("ticket"), dict):
            ticket = dict(result["ticket"])
            self._s.ticket, self._s.print_failed = ticket, False
            self._s.screen, self._s.ticket_until = "ticket", self._now + self.ticket_seconds
            self._s.message = ""
            self._s.last_touch = self._now  # shown now (also a ticket resumed after a restart)
            self.port.print_ticket(ticket, lang)
            self._speak("ticket_issued", str(ticket.get("number", "")))
            self._speak("take_ticket")
            return
        self._go_home()
        if code == "expired":
            self._show_message(text("expired", lang))
        else:
            reason = REFUSAL_REASONS.get(code)
            why = (reason[0] if lang == "zh" else reason[1]) if reason else code or "?"
            self._show_message(text("refused", lang, why=why))
        self._speak("no_ticket_now")

    def on_print_result(self, ticket_id: str, ok: bool) -> None:
        if ok:
            return
        if ticket_id not in self.reprint_waiting:
            self.reprint_waiting.append(ticket_id)
        if self._s.ticket and self._s.ticket.get("id") == ticket_id:
            self._s.print_failed = True
            self._s.ticket_until = self._now + max(self.ticket_seconds, 30.0)

    def on_help_answer(self, ok: bool) -> None:
        if not ok:
            self._show_message(text("help_failed", self._s.language))

    # -- time
    def tick(self, now: float) -> None:
        """Called a few times a second with a monotonic time."""
        self._now = now
        if self._s.message and now >= self._s.message_until:
            self._s.message = ""
        shown_long_enough = self._s.screen == "ticket" and now >= self._s.ticket_until
        idle = (
            self._s.screen not in ("home", "issuing")
            and now - self._s.last_touch >= self.idle_seconds
        )
        if shown_long_enough or idle:
            self._go_home()

    # -- what to draw
    def view(self) -> KioskView:
        s, lang = self._s, self._s.language
        base = KioskView(
            screen=s.screen,
            language=lang,
            large=s.large,
            title=self._hall_name(),
            prompt="",
            message=s.message,
            blocked=self._blocked(),
            allow_priority=self.allow_priority,
        )
        if s.screen == "home":
            departments = self.catalog.get("departments", [])
            start = s.page * self.page_size
            tiles = tuple(
                self._department_tile(d) for d in departments[start : start + self.page_size]
            )
            return replace(
                base,
                prompt=text("home_prompt", lang),
                tiles=tiles,
                page=s.page,
                pages=self._pages(),
            )
        if s.screen == "department" and s.department:
            codes = [
                sv["code"]
                for sv in self.catalog.get("services", [])
                if sv.get("department") == s.department
            ]
            return replace(
                base,
                prompt=self._name(self._department(s.department) or {}),
                tiles=self._greyed(tuple(self._service_tile(c) for c in codes)),
            )
        if s.screen == "search":
            codes = self._index.search(s.search_text)
            prompt = (
                text("search_prompt", lang)
                if not s.search_text or codes
                else text("search_none", lang)
            )
            return replace(
                base,
                prompt=prompt,
                search_text=s.search_text,
                tiles=tuple(self._service_tile(c) for c in codes),
            )
        if s.screen == "priority":
            return replace(base, prompt=text("priority_prompt", lang))
        if s.screen == "booking":
            return replace(base, prompt=text("booking_prompt", lang), search_text=s.booking_code)
        if s.screen == "issuing":
            return replace(base, prompt=text("issuing", lang))
        if s.screen == "ticket" and s.ticket:
            return replace(base, prompt=text("ticket_number", lang), ticket=self._ticket_shown())
        return base

    # -- inside
    def _greyed(self, tiles: tuple[Tile, ...]) -> tuple[Tile, ...]:
        """While no ticket can be issued, every tile looks so (the banner says why)."""
        if not self._blocked():
            return tiles
        return tuple(replace(tile, can_issue=False) for tile in tiles)

    def _touch(self) -> bool:
        """A tap counts unless a ticket is being issued (then every tap does nothing)."""
        self._s.last_touch = self._now
        return self._s.screen != "issuing"

    def _issue(self, service: str | None, category: str | None, appointment: str | None) -> None:
        self._s.screen, self._s.message = "issuing", ""
        self.port.issue(service, category, appointment, self._s.language)

    def _go_home(self) -> None:
        self._s.screen, self._s.department, self._s.page = "home", None, 0
        self._s.search_text, self._s.chosen_service, self._s.booking_code = "", None, ""
        self._s.ticket = None

    def _show_message(self, message: str) -> None:
        self._s.message, self._s.message_until = message, self._now + MESSAGE_SECONDS

    def _speak(self, phrase: str, number: str = "") -> None:
        """A phrase of the voice manifests, in the visitor's language."""
        self.port.speak(phrase, self._s.language, number)

    def _can_reach_hall(self) -> bool:
        return self.connected and self.hall_online

    def _blocked(self) -> str:
        if not self._can_reach_hall():
            return text("offline", self._s.language)
        if self.printer_state in PRINTER_BLOCKING:
            return text("printer_down", self._s.language)
        return ""

    def _pages(self) -> int:
        count = len(self.catalog.get("departments", []))
        return max(1, -(-count // max(1, self.page_size)))

    def _hall_name(self) -> str:
        site = self.catalog.get("site", {})
        if self._s.language == "en" and site.get("name_en"):
            return str(site["name_en"])
        return str(site.get("name", "")) or text("title", self._s.language)

    def _name(self, item: Mapping[str, Any]) -> str:
        if self._s.language == "en" and item.get("name_en"):
            return str(item["name_en"])
        return str(item.get("name_zh", item.get("code", "")))

    def _department(self, code: str) -> dict[str, Any] | None:
        return next((d for d in self.catalog.get("departments", []) if d.get("code") == code), None)

    def _service(self, code: str) -> dict[str, Any] | None:
        return next((s for s in self.catalog.get("services", []) if s.get("code") == code), None)

    def _queue(self, code: str) -> dict[str, Any]:
        services = self.queues.get("services", {})
        queue = services.get(code) if isinstance(services, dict) else None
        return queue if isinstance(queue, dict) else {}

    def _state_text(self, code: str) -> str:
        lang, queue = self._s.language, self._queue(code)
        if queue.get("can_issue"):
            return text("state_open", lang)
        reason = queue.get("reason") or "closed"
        if reason == "outside_hours" and queue.get("next_open"):
            today = str(self.queues.get("at", ""))
            return text("state_next_open", lang, at=_clock_text(str(queue["next_open"]), today))
        key = f"state_{reason}"
        return text(key if key in _STATE_KEYS else "state_closed", lang)

    def _department_tile(self, department: Mapping[str, Any]) -> Tile:
        code, lang = str(department["code"]), self._s.language
        codes = [s["code"] for s in self.catalog.get("services", []) if s.get("department") == code]
        queues = [self._queue(c) for c in codes]
        waiting = sum(int(q.get("waiting", 0)) for q in queues)
        open_queues = [q for q in queues if q.get("can_issue")]
        open_waits = [int(q.get("est_wait_min", 0)) for q in open_queues]
        # What a visitor of this department typically faces: the waits weighted by who waits.
        weight = sum(int(q.get("waiting", 0)) for q in open_queues)
        typical = (
            round(
                sum(int(q.get("est_wait_min", 0)) * int(q.get("waiting", 0)) for q in open_queues)
                / weight
            )
            if weight
            else 0
        )
        can_issue = bool(open_waits) or any(
            (self._service(c) or {}).get("needs_appointment") for c in codes
        )
        return Tile(
            code=code,
            name=self._name(department),
            waiting=text("waiting", lang, n=waiting),
            wait=(
                (text("about_min", lang, m=typical) if typical else text("no_wait", lang))
                if open_waits
                else ""
            ),
            can_issue=can_issue,
            state=text("state_open", lang) if can_issue else text("state_closed", lang),
        )

    def _service_tile(self, code: str) -> Tile:
        lang, queue, service = self._s.language, self._queue(code), self._service(code) or {}
        minutes = int(queue.get("est_wait_min") or 0)
        can_issue = bool(queue.get("can_issue")) or bool(service.get("needs_appointment"))
        state = (
            text("state_appointment_only", lang)
            if service.get("needs_appointment")
            else self._state_text(code)
        )
        return Tile(
            code=code,
            name=self._name(service),
            waiting=text("waiting", lang, n=int(queue.get("waiting", 0))),
            wait=(
                (text("about_min", lang, m=minutes) if minutes else text("no_wait", lang))
                if queue.get("can_issue")
                else ""
            ),
            can_issue=can_issue,
            state=state,
        )

    def _ticket_shown(self) -> TicketShown:
        ticket, lang = self._s.ticket or {}, self._s.language
        service = self._service(str(ticket.get("service", ""))) or {}
        windows = [
            w
            for w in self.catalog.get("windows", [])
            if ticket.get("service") in w.get("services", [])
        ]
        numbers = sorted({int(w["no"]) for w in windows if isinstance(w.get("no"), int)})
        runs = _runs(numbers)
        if lang == "en":
            names = f"window{'s' if len(numbers) > 1 else ''} {', '.join(runs)}" if runs else ""
        else:
            names = f"{'、'.join(runs)}号窗口" if runs else ""
        return TicketShown(
            number=str(ticket.get("number", "")),
            service=self._name(service),
            windows=text("ticket_windows", lang, windows=names) if names else "",
            ahead=text("ticket_ahead", lang, n=ticket.get("ahead", 0)),
            wait=text("ticket_wait", lang, m=ticket.get("est_wait_min", 0)),
            print_failed=self._s.print_failed,
        )


_STATE_KEYS = {
    "state_open",
    "state_closed",
    "state_outside_hours",
    "state_quota_reached",
    "state_appointment_only",
}


def _runs(numbers: list[int]) -> list[str]:
    """[1, 2, 3, 4, 7] -> ["1-4", "7"]: eight windows read as one short line."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return [str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs]


def _clock_text(at: str, today: str) -> str:
    """'2026-11-26T14:00:00+08:00' -> '14:00' when that is today (the hall's date), else
    '11-27 14:00'."""
    day, _, rest = at.partition("T")
    if not rest:
        return day
    return rest[:5] if day == today[:10] else f"{day[5:]} {rest[:5]}"
