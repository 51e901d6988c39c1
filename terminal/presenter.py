"""The window terminal's logic, without a window: what the clerk sees and what each press does.

The hall is the authority. What the terminal shows of its window is the last window state it heard:
the retained `window/{id}/state`, or the `result.window` of an answer (the same object, there first).
A press sends one request and nothing else happens until its answer: a second press meanwhile does
nothing, so a double press never calls two tickets. While the broker or the hall is away every button
is off and a banner says so; after the reconnect the retained state brings the terminal back to the
hall's state by itself.

The port (terminal/link.py in the app, a fake in tests) sends requests; answers come back through
`on_answer`. Time comes from `now` (the hall's clock in the app, a fixed one in tests).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from terminal import texts

PANELS = ("call", "transfer", "unhold", "pause", "close_case")  # ops that need a choice first
NUMBER_KEYS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
SLOW_SECONDS = 0.3


class TerminalPort(Protocol):
    def send(self, op: str, fields: dict[str, Any], request_id: str | None = None) -> None:
        """Send a window request under this id; its answer comes back through on_answer."""


@dataclass(frozen=True)
class ButtonView:
    op: str
    key: str
    label: str
    enabled: bool


@dataclass(frozen=True)
class Choice:
    """One line of a picker: what it shows and the request fields it sends."""

    label: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class TicketView:
    number: str
    service: str
    status: str  # "called" / "serving"
    status_text: str
    waited_min: int
    calls: int  # times called at this window (1 + recalls)


@dataclass(frozen=True)
class QueueRow:
    service: str
    waiting: int
    longest_wait_min: int | None  # none until the hall publishes it


@dataclass(frozen=True)
class CaseRow:
    """An open case (受理件) this window may close, from the retained `cases`."""

    id: str
    number: str
    service: str
    accepted: str  # YYYY-MM-DD (numbers start again each day: the date tells two A001 apart)
    due: str  # YYYY-MM-DD
    state: str  # ok / near / overdue
    state_text: str
    days_left: int


@dataclass(frozen=True)
class DayView:
    served: int
    mean_min: float | None
    ratings: dict[int, int]
    good_share: float | None


@dataclass(frozen=True)
class TerminalView:
    screen: str  # "login" or "work"
    window_name: str
    online: bool
    banner: str  # the outage, or ""
    message: str  # the last refusal or notice, or ""
    busy: bool  # a request is on its way: presses do nothing
    slow: bool  # ... for longer than SLOW_SECONDS: say so (not at once: no extra frame per press)
    status: str  # "open" / "paused" / "closed"
    status_text: str
    clerk: str
    reason: str
    ticket: TicketView | None
    held: list[str]
    buttons: list[ButtonView]
    panel: str | None
    choices: list[Choice]
    typed: str
    queues: list[QueueRow]
    day: DayView | None
    roster: list[tuple[str, str, bool]]  # (id, name, needs a PIN)
    selected_clerk: str | None
    pin_masked: str
    letters: str  # the letters of the hall's ticket prefixes (the call-a-number keypad)
    cases: list[CaseRow] = field(default_factory=list)  # most urgent first
    case_counts: dict[str, int] = field(default_factory=dict)  # ok / near / overdue -> count


@dataclass
class _Pending:
    op: str
    since: datetime
    fields: dict[str, Any] = field(default_factory=dict)
    request_id: str = ""
    repeat: bool = False  # sent again under the id of a request the hall never answered


@dataclass
class TerminalPresenter:
    window_id: str
    port: TerminalPort
    now: Callable[[], datetime]
    state: dict[str, Any] | None = None  # the hall's last word on this window
    catalog: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    queues: Mapping[str, Any] = field(default_factory=dict)
    stats: Mapping[str, Any] = field(default_factory=dict)
    cases: Mapping[str, Any] = field(default_factory=dict)  # the retained `cases`
    connected: bool = False
    hall_online: bool = False
    pending: _Pending | None = None
    unanswered: _Pending | None = None  # the last request that got no answer at all
    message: str = ""
    panel: str | None = None
    typed: str = ""
    selected_clerk: str | None = None
    selected_case: str | None = None  # marked for closing: a second press closes it
    closed_here: set[str] = field(default_factory=set)  # closed, until `cases` says so too
    pin: str = ""
    shown_at_change: int = 0  # counts changes of the drawn state (the bench watches it)

    # -- what the hall says
    def on_window_state(self, value: Mapping[str, Any] | None) -> None:
        if value is None:
            return
        if self.state is None or _drawn(self.state) != _drawn(value):
            self.shown_at_change += 1
        self.state = dict(value)
        if self.status != "open" and self.panel in ("call", "transfer", "unhold", "finish"):
            self.panel = None
        if self.status == "closed":
            self.panel = None

    def on_catalog(self, value: Mapping[str, Any] | None) -> None:
        if value:
            self.catalog = value

    def on_settings(self, value: Mapping[str, Any] | None) -> None:
        if value:
            self.settings = value

    def on_queues(self, value: Mapping[str, Any] | None) -> None:
        if value:
            self.queues = value

    def on_stats(self, value: Mapping[str, Any] | None) -> None:
        if value:
            self.stats = value

    def on_cases(self, value: Mapping[str, Any] | None) -> None:
        if value:
            self.cases = value
            listed = {c.get("id") for c in value.get("cases") or [] if isinstance(c, Mapping)}
            self.closed_here &= listed
            if self.panel == "close_case" and not self._case_rows():
                self.panel = None  # the last one was closed (here or elsewhere)

    def on_link(self, connected: bool, hall_online: bool) -> None:
        self.connected, self.hall_online = connected, hall_online

    def on_answer(self, op: str, ok: bool, result: Mapping[str, Any] | None, code: str) -> None:
        sent, self.pending = self.pending, None
        # No answer at all: the hall may have done it. The same press again goes out under the
        # same id, so the hall answers from its store and does nothing twice.
        self.unanswered = sent if code == "timeout" else None
        if ok:
            self.message = ""
            window = (result or {}).get("window")
            # A repeat's stored answer is as old as the first try: the retained state is newer.
            if isinstance(window, Mapping) and not (sent is not None and sent.repeat):
                self.on_window_state(window)
            if op == "login":
                self.selected_clerk, self.pin = None, ""
            if op == "close_case" and sent is not None:  # `cases` may follow 2 s later
                self.closed_here.add(str(sent.fields.get("case")))
            self.panel, self.typed, self.selected_case = None, "", None
        else:
            self.message = texts.ERRORS.get(code, f"操作未成功（{code}）")
            if op == "login":
                self.pin = ""

    def tick(self) -> None:
        """Called a few times a second: a request the link lost track of frees the buttons (the
        client gives up after its retries long before this)."""
        if self.pending is not None and (self.now() - self.pending.since).total_seconds() > 30:
            self.unanswered, self.pending = self.pending, None
            self.message = texts.ERRORS["timeout"]

    # -- derived state
    @property
    def online(self) -> bool:
        return self.connected and self.hall_online

    @property
    def status(self) -> str:
        if self.state is None or self.state.get("clerk") is None:
            return "closed"
        return str(self.state.get("status") or "closed")

    @property
    def ticket(self) -> Mapping[str, Any] | None:
        ticket = (self.state or {}).get("ticket")
        return ticket if isinstance(ticket, Mapping) else None

    @property
    def held(self) -> list[Mapping[str, Any]]:
        return [t for t in (self.state or {}).get("held") or [] if isinstance(t, Mapping)]

    def enabled(self, op: str) -> bool:
        """Whether a press of `op` would make sense now (the hall decides in the end)."""
        if not self.online or self.status == "closed":
            return False
        if op == "close_case":  # paperwork: also while paused
            return bool(self._case_rows())
        if self.status == "paused":
            return op in ("resume", "logout")
        ticket = self.ticket
        at_window = ticket.get("status") if ticket else None
        return {
            "call_next": True,
            "recall": at_window == "called",
            "call": True,
            "start": at_window == "called",
            "finish": at_window is not None,
            "no_show": at_window == "called",
            "transfer": at_window is not None,
            "hold": at_window is not None,
            "unhold": bool(self.held),
            "pause": at_window is None,
            "resume": False,
            "logout": True,
        }[op]

    # -- presses (buttons and keys)
    def press(self, op: str) -> None:
        """A button or its F-key. Ops that need a choice open their picker first."""
        if self.pending is not None or not self.enabled(op):
            return
        self.message = ""
        if op in PANELS or (op == "finish" and self._promised_days() > 0):
            # A service with a promised time: the clerk says 即办 or 受理 (a case) first.
            self.panel = None if self.panel == op else op
            self.typed, self.selected_case = "", None
            return
        self.panel = None
        self._send(op, {})

    def key(self, name: str) -> None:
        """A key of the keyboard: F1..F12, Escape, Enter, Backspace, or a character."""
        if name in texts.KEY_ACTIONS:
            if self.status == "closed":
                return
            self.press(texts.KEY_ACTIONS[name])
        elif name == "escape":
            self.panel, self.typed, self.selected_case = None, "", None
            self.selected_clerk, self.pin = None, ""
        elif name == "enter":
            if self.status == "closed":
                self.login()
            elif self.panel == "call":
                self.call_typed()
            elif self.panel == "pause":
                self.pause_typed()
        elif name == "backspace":
            self.backspace()
        elif len(name) == 1:
            self.type(name)

    def type(self, char: str) -> None:
        if self.status == "closed":
            if self.selected_clerk is not None and char.isdigit() and len(self.pin) < 12:
                self.pin += char
        elif self.panel == "call" and char.upper() in NUMBER_KEYS and len(self.typed) < 8:
            self.typed += char.upper()
        elif self.panel == "pause" and len(self.typed) < 100 and char.isprintable():
            self.typed += char

    def backspace(self) -> None:
        if self.status == "closed":
            self.pin = self.pin[:-1]
        else:
            self.typed = self.typed[:-1]

    def choose(self, choice: Choice) -> None:
        """A line of the open picker. Closing a case (办结, an official act that no op undoes)
        takes two presses of its line: the first marks it, the second sends."""
        if self.panel is None or self.pending is not None or not self.enabled(self.panel):
            return
        if self.panel == "close_case" and choice.fields.get("case") != self.selected_case:
            self.selected_case = choice.fields.get("case")
            return
        self._send(self.panel, dict(choice.fields))

    def call_typed(self) -> None:
        if self.panel == "call" and self.typed and self.pending is None and self.enabled("call"):
            self._send("call", {"number": self.typed})

    def pause_typed(self) -> None:
        if self.panel == "pause" and self.pending is None and self.enabled("pause"):
            self._send("pause", {"reason": self.typed.strip()} if self.typed.strip() else {})

    def select_clerk(self, clerk_id: str) -> None:
        if self.status != "closed" or self.pending is not None:
            return
        needs_pin = {c: pin for c, _, pin in self.roster()}
        if clerk_id not in needs_pin:
            return
        self.selected_clerk, self.pin, self.message = clerk_id, "", ""
        if not needs_pin[clerk_id]:
            self.login()

    def login(self) -> None:
        if self.selected_clerk is None or self.pending is not None or not self.online:
            return
        if self.status != "closed":
            return
        fields: dict[str, Any] = {"clerk": self.selected_clerk}
        if self.pin:
            fields["pin"] = self.pin
        self._send("login", fields)

    def _send(self, op: str, fields: dict[str, Any]) -> None:
        last = self.unanswered
        repeat = last is not None and last.op == op and last.fields == fields
        request_id = last.request_id if last is not None and repeat else uuid.uuid4().hex
        self.pending = _Pending(op, self.now(), dict(fields), request_id, repeat)
        self.port.send(op, fields, request_id)

    # -- names
    def _service_name(self, code: str) -> str:
        for service in self.catalog.get("services") or []:
            if isinstance(service, Mapping) and service.get("code") == code:
                return str(service.get("name_zh") or code)
        return code

    def _window_entry(self) -> Mapping[str, Any]:
        for window in self.catalog.get("windows") or []:
            if isinstance(window, Mapping) and window.get("id") == self.window_id:
                return window
        return {}

    def roster(self) -> list[tuple[str, str, bool]]:
        """(id, name, needs a PIN) of the clerks who may log in here: names from `catalog`, the
        PIN flags from this window's settings (a clerk the settings do not know: ask for one)."""
        pins = {
            str(c.get("id")): bool(c.get("pin"))
            for c in self.settings.get("roster") or []
            if isinstance(c, Mapping)
        }
        names = {
            str(c.get("id")): str(c.get("name") or c.get("id"))
            for c in self._window_entry().get("roster") or []
            if isinstance(c, Mapping)
        }
        ids = list(names) or list(pins)
        return [(c, names.get(c, c), pins.get(c, True)) for c in ids]

    def _promised_days(self) -> int:
        """The current ticket's service's promised time in working days (0: done on the spot)."""
        ticket = self.ticket
        code = ticket.get("service") if ticket else None
        for service in self.catalog.get("services") or []:
            if isinstance(service, Mapping) and service.get("code") == code:
                days = service.get("promised_days")
                return int(days) if isinstance(days, int) else 0
        return 0

    def _departments(self) -> set[str]:
        """The departments of this window's services: the cases it may close (the hall's rule)."""
        codes = set(self._window_entry().get("services") or [])
        return {
            str(s.get("department"))
            for s in self.catalog.get("services") or []
            if isinstance(s, Mapping) and s.get("code") in codes and s.get("department")
        }

    def _case_rows(self) -> list[CaseRow]:
        departments = self._departments()
        rows = []
        for case in self.cases.get("cases") or []:
            if not isinstance(case, Mapping) or case.get("department") not in departments:
                continue
            if case.get("id") in self.closed_here:
                continue
            state = str(case.get("state"))
            rows.append(
                CaseRow(
                    id=str(case.get("id")),
                    number=str(case.get("number")),
                    service=self._service_name(str(case.get("service"))),
                    accepted=str(case.get("accepted")),
                    due=str(case.get("due")),
                    state=state,
                    state_text=texts.CASE_STATE.get(state, state),
                    days_left=int(case.get("days_left") or 0),
                )
            )
        return rows

    def _choices(self) -> list[Choice]:
        if self.panel == "finish":
            days = self._promised_days()
            return [
                Choice(texts.FINISH_ON_THE_SPOT, {"outcome": "on_the_spot"}),
                Choice(texts.FINISH_ACCEPTED.format(days=days), {"outcome": "accepted"}),
            ]
        if self.panel == "close_case":  # the state last: the widget colours by it
            return [
                Choice(
                    f"{texts.CLOSE_CONFIRM if c.id == self.selected_case else ''}{c.number} "
                    f"{c.service}  {c.accepted[5:]}受理 · {c.due[5:]}到期  {c.state_text}",
                    {"case": c.id},
                )
                for c in self._case_rows()
            ]
        if self.panel == "transfer":
            ticket = self.ticket
            current = ticket.get("service") if ticket else None
            services = [
                Choice(
                    f"转至业务：{self._service_name(str(s.get('code')))}", {"service": s["code"]}
                )
                for s in self.catalog.get("services") or []
                if isinstance(s, Mapping) and s.get("code") and s.get("code") != current
            ]
            windows = [
                Choice(f"转至窗口：{w.get('name') or w.get('id')}", {"window": w["id"]})
                for w in self.catalog.get("windows") or []
                if isinstance(w, Mapping) and w.get("id") and w.get("id") != self.window_id
            ]
            return windows + services
        if self.panel == "unhold":
            return [
                Choice(
                    f"{t.get('number')}  {self._service_name(str(t.get('service')))}",
                    {"ticket": t.get("id")},
                )
                for t in self.held
            ]
        if self.panel == "pause":
            return [Choice(reason, {"reason": reason}) for reason in texts.PAUSE_REASONS]
        return []

    def _queue_rows(self) -> list[QueueRow]:
        services = self.queues.get("services") or {}
        rows = []
        for code in self._window_entry().get("services") or []:
            entry = services.get(code) if isinstance(services, Mapping) else None
            if not isinstance(entry, Mapping):
                continue
            longest = entry.get("longest_wait_min")
            rows.append(
                QueueRow(
                    self._service_name(code),
                    int(entry.get("waiting") or 0),
                    int(longest) if isinstance(longest, (int, float)) else None,
                )
            )
        return rows

    def _day(self) -> DayView | None:
        clerk = (self.state or {}).get("clerk")
        clerks = self.stats.get("clerks") or {}
        if not isinstance(clerk, Mapping) or not isinstance(clerks, Mapping):
            return None
        figures = clerks.get(clerk.get("id"))
        if not isinstance(figures, Mapping):
            return None
        mean: float | None = None
        if isinstance(figures.get("mean_service_s"), (int, float)):
            mean = round(float(figures["mean_service_s"]) / 60, 1)
        elif isinstance(figures.get("mean_service_min"), (int, float)):
            mean = round(float(figures["mean_service_min"]), 1)
        ratings = figures.get("ratings") or {}
        share = figures.get("good_share")
        return DayView(
            served=int(figures.get("served") or 0),
            mean_min=mean,
            ratings={int(k): int(v) for k, v in ratings.items() if str(k).isdigit()},
            good_share=float(share) if isinstance(share, (int, float)) else None,
        )

    def _ticket_view(self) -> TicketView | None:
        ticket = self.ticket
        if ticket is None:
            return None
        waited = 0
        try:
            issued = datetime.fromisoformat(str(ticket.get("issued_at")))
            waited = max(0, int((self.now() - issued).total_seconds() // 60))
        except (TypeError, ValueError):
            pass
        status = str(ticket.get("status"))
        return TicketView(
            number=str(ticket.get("number")),
            service=self._service_name(str(ticket.get("service"))),
            status=status,
            status_text=texts.TICKET_STATUS.get(status, status),
            waited_min=waited,
            calls=1 + int(ticket.get("recalls") or 0),
        )

    def view(self) -> TerminalView:
        status = self.status
        if not self.connected:
            banner = texts.OFFLINE
        elif not self.hall_online:
            banner = texts.HALL_OFFLINE
        else:
            banner = ""
        clerk = (self.state or {}).get("clerk")
        window = (self.state or {}).get("window") or {}
        return TerminalView(
            screen="login" if status == "closed" else "work",
            window_name=str(
                self._window_entry().get("name") or window.get("name") or self.window_id
            ),
            online=self.online,
            banner=banner,
            message=self.message,
            busy=self.pending is not None,
            slow=self.pending is not None
            and (self.now() - self.pending.since).total_seconds() >= SLOW_SECONDS,
            status=status,
            status_text=texts.WINDOW_STATUS.get(status, status),
            clerk=str(clerk.get("name")) if isinstance(clerk, Mapping) else "",
            reason=str((self.state or {}).get("reason") or ""),
            ticket=self._ticket_view(),
            held=[str(t.get("number")) for t in self.held],
            buttons=[
                ButtonView(op, key, label, self.enabled(op))
                for op, (key, label) in texts.ACTIONS.items()
            ],
            panel=self.panel,
            choices=self._choices(),
            typed=self.typed,
            queues=self._queue_rows(),
            day=self._day(),
            roster=self.roster(),
            selected_clerk=self.selected_clerk,
            pin_masked="●" * len(self.pin),
            letters=self._prefix_letters(),
            cases=self._case_rows(),
            case_counts=self._case_counts(),
        )

    def _case_counts(self) -> dict[str, int]:
        """This window's departments' open cases by state: the hall counts them all (it lists
        at most 50 a department), less those closed here that its `cases` (sent at most every
        2 s) still lists, as the list already leaves them out."""
        counts = dict.fromkeys(("ok", "near", "overdue"), 0)
        by_department = self.cases.get("departments") or {}
        departments = self._departments()
        for department in departments:
            found = by_department.get(department) if isinstance(by_department, Mapping) else None
            for state in counts:
                value = found.get(state) if isinstance(found, Mapping) else None
                counts[state] += value if isinstance(value, int) else 0
        for case in self.cases.get("cases") or []:
            if not isinstance(case, Mapping) or case.get("id") not in self.closed_here:
                continue
            was = str(case.get("state"))
            if case.get("department") in departments and counts.get(was, 0) > 0:
                counts[was] -= 1
        return counts

    def _prefix_letters(self) -> str:
        letters = {
            ch
            for d in self.catalog.get("departments") or []
            if isinstance(d, Mapping)
            for ch in str(d.get("prefix") or "")
            if ch in NUMBER_KEYS and ch.isalpha()
        }
        return "".join(sorted(letters))


def _drawn(state: Mapping[str, Any]) -> tuple[Any, ...]:
    """The part of a window state the terminal draws (what changes a frame)."""
    ticket = state.get("ticket") or {}
    return (
        state.get("status"),
        (state.get("clerk") or {}).get("id"),
        ticket.get("id"),
        ticket.get("status"),
        ticket.get("recalls"),
        tuple(t.get("id") for t in state.get("held") or []),
        state.get("reason"),
    )
