"""Commands, events and state of the queue engine.

Commands say what a device asks for; events say what happened; the state is what the events left.
`Engine.apply(event)` is the only thing that changes a `HallState`, so replaying the stored events
rebuilds the state exactly. Everything here is plain data: no clock, no I/O.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Literal, get_args

from hall.engine.policy import QueueIndex

Priority = Literal["normal", "priority"]
Lang = Literal["zh", "en"]

# Ticket statuses of the contract; a closed ticket never changes again (except for being rated).
WAITING = "waiting"
CALLED = "called"
SERVING = "serving"
HELD = "held"
DONE = "done"
NO_SHOW = "no_show"
EXPIRED = "expired"
CANCELLED = "cancelled"
CLOSED_STATUSES = frozenset({DONE, NO_SHOW, EXPIRED, CANCELLED})
AT_WINDOW = frozenset({CALLED, SERVING})


# ---------------------------------------------------------------------------------------------
# Commands: each names its acting device. The engine is given the time separately (handle(cmd, now)).


@dataclass(frozen=True, slots=True)
class IssueTicket:
    kiosk: str
    service: str
    priority: Priority = "normal"
    appointment: str | None = None
    lang: Lang = "zh"
    deadline: datetime | None = None  # on the hall's clock: refused `expired` when it arrives later
    category: str | None = None  # why a priority ticket: elderly / disabled / military


@dataclass(frozen=True, slots=True)
class Reprint:
    kiosk: str
    ticket: str


@dataclass(frozen=True, slots=True)
class QueryTicket:
    kiosk: str
    ticket: str


@dataclass(frozen=True, slots=True)
class Login:
    window: str
    clerk: str
    pin: str | None = None


@dataclass(frozen=True, slots=True)
class Logout:
    window: str


@dataclass(frozen=True, slots=True)
class CallNext:
    window: str


@dataclass(frozen=True, slots=True)
class CallNumber:
    window: str
    number: str


@dataclass(frozen=True, slots=True)
class Recall:
    window: str


@dataclass(frozen=True, slots=True)
class Start:
    window: str


# `finish`'s optional outcome (time limits, 电子监察): done on the spot (即办) or accepted as a case
# (受理); without it, a service promised in 0 days counts as done on the spot (docs/reports.md).
OUTCOMES = ("on_the_spot", "accepted")


@dataclass(frozen=True, slots=True)
class Finish:
    window: str
    outcome: str | None = None  # one of OUTCOMES


@dataclass(frozen=True, slots=True)
class NoShow:
    window: str


@dataclass(frozen=True, slots=True)
class TransferToService:
    window: str
    service: str


@dataclass(frozen=True, slots=True)
class TransferToWindow:
    window: str
    target: str


@dataclass(frozen=True, slots=True)
class Hold:
    window: str


@dataclass(frozen=True, slots=True)
class Unhold:
    window: str
    ticket: str


@dataclass(frozen=True, slots=True)
class Pause:
    window: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Resume:
    window: str


@dataclass(frozen=True, slots=True)
class Rate:
    evaluator: str
    ticket: str
    score: int
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Cancel:
    operator: str
    ticket: str


@dataclass(frozen=True, slots=True)
class ForceLogout:
    operator: str
    window: str


@dataclass(frozen=True, slots=True)
class SetService:
    """Open or close a service, or set its cap, for the rest of the business day.

    `open`/`cap` None: leave as is; `clear_cap`: remove the operator's cap (wire: `"cap": null`).
    """

    operator: str
    service: str
    open: bool | None = None
    cap: int | None = None
    clear_cap: bool = False


@dataclass(frozen=True, slots=True)
class SetNotice:
    operator: str
    text: str  # empty: no notice


@dataclass(frozen=True, slots=True)
class AddBooking:
    """An operator's booking: `code` checks in on `day` (YYYY-MM-DD) for `service`, slot `HH:MM`."""

    operator: str
    code: str
    service: str
    day: str
    slot: str


@dataclass(frozen=True, slots=True)
class CancelBooking:
    operator: str
    code: str


@dataclass(frozen=True, slots=True)
class Rollover:
    """Start the business day that `now` falls in, if it is not the current one (the service's timer)."""


@dataclass(frozen=True, slots=True)
class ExpireRatings:
    """Clear the pending ratings whose time has passed (the service's timer)."""


@dataclass(frozen=True, slots=True)
class ReconcileConfig:
    """Bring the stored state in line with the config the hall started with (hall/engine/reconcile.py)."""


@dataclass(frozen=True, slots=True)
class AlarmCondition:
    """A condition that wants an alarm open, as hall/engine/alarms.py finds it: `since` is the hall's
    epoch second at which it arose (the alarm's `at`)."""

    kind: str
    subject: str
    severity: str
    text: str
    since: int


@dataclass(frozen=True, slots=True)
class ReconcileAlarms:
    """Open an alarm for each condition that holds and has none, clear those whose condition is
    over (the service's timer; `observed`: the device conditions the service sees)."""

    observed: tuple[AlarmCondition, ...] = ()
    # (kind, subject) of alarms not to clear yet: the devices not heard from since the hall
    # started, whose open alarms stand until they say otherwise (a restart loses none).
    keep: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class KioskHelp:
    kiosk: str


@dataclass(frozen=True, slots=True)
class AckAlarm:
    operator: str
    alarm: str


@dataclass(frozen=True, slots=True)
class NoteAlarm:
    operator: str
    alarm: str
    text: str
    close: bool = False


@dataclass(frozen=True, slots=True)
class CloseCase:
    """Close an open case (办结): from a window (`window` set) or an operator (`operator` set)."""

    case: str  # the case's id: the ticket id it was accepted under
    window: str | None = None
    operator: str | None = None
    note: str | None = None


Command = (
    IssueTicket | Reprint | QueryTicket | Login | Logout | CallNext | CallNumber | Recall | Start
    | Finish | NoShow | TransferToService | TransferToWindow | Hold | Unhold | Pause | Resume | Rate
    | Cancel | ForceLogout | SetService | SetNotice | AddBooking | CancelBooking | Rollover
    | ExpireRatings | ReconcileConfig
    | ReconcileAlarms | KioskHelp | AckAlarm | NoteAlarm | CloseCase
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Events: what happened, with everything apply() needs, so replay never consults the clock.
# `at` is ISO 8601 with the hall's offset (contract.protocol.iso).
# An event is declared once: its class here, whose TYPE names it in the store and in snapshots
# (never renamed: stored events carry it) and whose fields are its codec (event_to_dict and
# event_from_dict below read them), in the `Event` union; and its applier in
# hall/engine/apply.py's APPLIERS. tests/hall/engine/test_declarations.py holds each to all three.


@dataclass(frozen=True, slots=True)
class TicketIssued:
    TYPE: ClassVar[str] = "ticket_issued"
    at: str
    ticket: str
    number: str
    seq: int  # the department's daily sequence number
    service: str
    department: str
    priority: str
    kiosk: str
    lang: str
    order: int  # hall-wide issue order: "the oldest" means the smallest order
    appointment: str | None = None
    slot: str | None = None  # the booking's slot time: called first from then on
    category: str | None = None  # a priority ticket's category (elderly / disabled / military)


@dataclass(frozen=True, slots=True)
class TicketReprinted:
    TYPE: ClassVar[str] = "ticket_reprinted"
    at: str
    ticket: str
    kiosk: str


@dataclass(frozen=True, slots=True)
class ClerkLoggedIn:
    TYPE: ClassVar[str] = "clerk_logged_in"
    at: str
    window: str
    clerk: str


@dataclass(frozen=True, slots=True)
class ClerkLoggedOut:
    TYPE: ClassVar[str] = "clerk_logged_out"
    at: str
    window: str
    clerk: str
    operator: str | None = None  # set when an operator forced it


@dataclass(frozen=True, slots=True)
class CallEvent:
    """A message on `calls`: a first call, a recall or a call-back (see the subclasses)."""

    at: str
    window: str
    clerk: str
    ticket: str
    number: str
    service: str
    department: str
    priority: str
    issued_at: str
    seq: int  # the day's call sequence: 1, 2, ... per business day
    recall: int  # 0 on the first call at a window, then counts recalls and call-backs


@dataclass(frozen=True, slots=True)
class TicketCalled(CallEvent):
    TYPE: ClassVar[str] = "ticket_called"


@dataclass(frozen=True, slots=True)
class TicketRecalled(CallEvent):
    TYPE: ClassVar[str] = "ticket_recalled"


@dataclass(frozen=True, slots=True)
class TicketCalledBack(CallEvent):
    TYPE: ClassVar[str] = "ticket_called_back"


@dataclass(frozen=True, slots=True)
class TicketStarted:
    TYPE: ClassVar[str] = "ticket_started"
    at: str
    window: str
    ticket: str


# `TicketDone.due` of an event stored before it carried one (no "due" key, unlike "due": null).
DUE_UNSTORED = "unstored"


@dataclass(frozen=True, slots=True)
class TicketDone:
    TYPE: ClassVar[str] = "ticket_done"
    at: str
    window: str
    clerk: str
    ticket: str
    service: str
    seconds: int  # time at the window, from the start (or the call if never started)
    until: str  # the ticket can be rated until then
    outcome: str | None = None  # `finish`'s outcome, when the clerk chose one (OUTCOMES)
    # YYYY-MM-DD: the finish accepted a case (受理), due then (time limits); None: it accepted
    # none (done on the spot); DUE_UNSTORED: stored before events carried it (judged by config).
    due: str | None = DUE_UNSTORED


@dataclass(frozen=True, slots=True)
class TicketNoShow:
    TYPE: ClassVar[str] = "ticket_no_show"
    at: str
    window: str
    ticket: str


@dataclass(frozen=True, slots=True)
class TicketHeld:
    TYPE: ClassVar[str] = "ticket_held"
    at: str
    window: str
    ticket: str


@dataclass(frozen=True, slots=True)
class TicketRequeued:
    """A held ticket goes back to its service's queue (its window logged out)."""

    TYPE: ClassVar[str] = "ticket_requeued"
    at: str
    window: str
    ticket: str


@dataclass(frozen=True, slots=True)
class TicketTransferred:
    TYPE: ClassVar[str] = "ticket_transferred"
    at: str
    window: str
    ticket: str
    service: str
    department: str
    target: str | None = None  # a window: the ticket waits for it


@dataclass(frozen=True, slots=True)
class WindowPaused:
    TYPE: ClassVar[str] = "window_paused"
    at: str
    window: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class WindowResumed:
    TYPE: ClassVar[str] = "window_resumed"
    at: str
    window: str


@dataclass(frozen=True, slots=True)
class TicketCancelled:
    TYPE: ClassVar[str] = "ticket_cancelled"
    at: str
    operator: str  # an operator's id, or "config" (the hall started with a config without it)
    ticket: str
    reason: str | None = None  # e.g. "config_removed": its service is no longer in the config


@dataclass(frozen=True, slots=True)
class TicketReturned:
    """A ticket at, held by or waiting for a window that the config no longer has goes back to its
    service's queue, at its place in line (its issue order)."""

    TYPE: ClassVar[str] = "ticket_returned"
    at: str
    window: str
    ticket: str
    reason: str = "config_removed"


@dataclass(frozen=True, slots=True)
class WindowRemoved:
    """A window no longer in the config: its state is dropped (its retained topics are cleared)."""

    TYPE: ClassVar[str] = "window_removed"
    at: str
    window: str


@dataclass(frozen=True, slots=True)
class NumberingAdvanced:
    """A department's daily sequence moves up past numbers its prefix already gave today (the
    prefix moved to it from another department mid-day): no number is given twice."""

    TYPE: ClassVar[str] = "numbering_advanced"
    at: str
    department: str
    last: int


@dataclass(frozen=True, slots=True)
class ServiceChanged:
    TYPE: ClassVar[str] = "service_changed"
    at: str
    operator: str
    service: str
    open: bool  # the resulting values
    cap: int | None


@dataclass(frozen=True, slots=True)
class NoticeChanged:
    TYPE: ClassVar[str] = "notice_changed"
    at: str
    operator: str
    text: str | None


@dataclass(frozen=True, slots=True)
class BookingAdded:
    """A booking made or replaced (a code not yet checked in can be booked again)."""

    TYPE: ClassVar[str] = "booking_added"
    at: str
    operator: str
    code: str  # upper case
    service: str
    day: str  # YYYY-MM-DD, the business day it checks in on
    slot: str  # ISO time with the hall's offset: called before walk-ins from then on


@dataclass(frozen=True, slots=True)
class BookingCancelled:
    TYPE: ClassVar[str] = "booking_cancelled"
    at: str
    operator: str
    code: str


@dataclass(frozen=True, slots=True)
class QuotaWarning:
    """A service's issued count reached a level: `warn` (config cap_warn) or `reached` (the cap).

    Changes no state; the service turns it into an `alarm` (kind `quota`).
    """

    TYPE: ClassVar[str] = "quota_warning"
    at: str
    service: str
    level: str  # "warn" | "reached"
    issued: int
    cap: int | None  # the cap in force (None: no cap, only a warning level)


@dataclass(frozen=True, slots=True)
class DayRolledOver:
    TYPE: ClassVar[str] = "day_rolled_over"
    at: str
    business_day: str  # YYYY-MM-DD
    previous: str | None
    expired: tuple[str, ...] = ()  # tickets of the old day that were never served


@dataclass(frozen=True, slots=True)
class TicketRated:
    TYPE: ClassVar[str] = "ticket_rated"
    at: str
    evaluator: str
    ticket: str
    window: str
    clerk: str
    service: str
    score: int
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RatingExpired:
    TYPE: ClassVar[str] = "rating_expired"
    at: str
    window: str
    ticket: str


# Alarms (issue 19): raised, cleared, acknowledged and noted, so a restart neither repeats nor
# loses one (hall/engine/alarms.py finds the conditions; hall/engine/handlers/alarms.py makes these).


@dataclass(frozen=True, slots=True)
class AlarmRaised:
    TYPE: ClassVar[str] = "alarm_raised"
    at: str
    id: str
    kind: str
    severity: str
    subject: str
    text: str
    since: str  # when the condition arose (the alarm's `at` on the wire)


@dataclass(frozen=True, slots=True)
class AlarmCleared:
    TYPE: ClassVar[str] = "alarm_cleared"
    at: str
    id: str
    kind: str
    severity: str
    subject: str
    text: str
    by: str | None = None  # the operator who closed it; None: its condition ended


@dataclass(frozen=True, slots=True)
class AlarmAcked:
    TYPE: ClassVar[str] = "alarm_acked"
    at: str
    id: str
    operator: str


@dataclass(frozen=True, slots=True)
class AlarmNoted:
    TYPE: ClassVar[str] = "alarm_noted"
    at: str
    id: str
    operator: str
    text: str


@dataclass(frozen=True, slots=True)
class CaseClosed:
    """A case closed (办结) by a clerk at a window, or by an operator (then `window`/`clerk` None).

    A case opens with the `ticket_done` that accepted it (hall/engine/handlers/cases.py), so it has no
    event of its own."""

    TYPE: ClassVar[str] = "case_closed"
    at: str
    case: str
    window: str | None
    clerk: str | None
    operator: str | None
    note: str | None = None


AlarmEvent = AlarmRaised | AlarmCleared | AlarmAcked | AlarmNoted

Event = (
    TicketIssued | TicketReprinted | ClerkLoggedIn | ClerkLoggedOut | TicketCalled | TicketRecalled
    | TicketCalledBack | TicketStarted | TicketDone | TicketNoShow | TicketHeld | TicketRequeued
    | TicketTransferred | WindowPaused | WindowResumed | TicketCancelled | ServiceChanged
    | NoticeChanged | DayRolledOver | TicketRated | RatingExpired | BookingAdded | BookingCancelled
    | QuotaWarning | CallEvent | TicketReturned | WindowRemoved | NumberingAdvanced
    | AlarmRaised | AlarmCleared | AlarmAcked | AlarmNoted | CaseClosed
)  # fmt: skip


def _event_types() -> dict[str, type[Any]]:
    """The event classes by their TYPE, read from the `Event` union (CallEvent, a base, has none)."""
    found: dict[str, type[Any]] = {}
    for cls in get_args(Event):
        name = vars(cls).get("TYPE")
        if name is not None:
            assert name not in found, f"two events of type {name!r}"
            found[name] = cls
    return found


EVENT_TYPES = _event_types()
EVENT_NAMES: dict[type[Any], str] = {cls: name for name, cls in EVENT_TYPES.items()}
# Field names per event type, and which of them are tuples (JSON has only lists).
_FIELDS: dict[type[Any], tuple[str, ...]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in EVENT_TYPES.values()
}
_TUPLE_FIELDS: dict[type[Any], frozenset[str]] = {
    cls: frozenset(f.name for f in dataclasses.fields(cls) if str(f.type).startswith("tuple"))
    for cls in EVENT_TYPES.values()
}


def event_type(event: Event) -> str:
    return EVENT_NAMES[type(event)]


def event_to_dict(event: Event) -> dict[str, Any]:
    """The JSON-safe form of an event, with its "type"; `event_from_dict` gives it back exactly."""
    cls = type(event)
    out: dict[str, Any] = {"type": EVENT_NAMES[cls]}
    tuples = _TUPLE_FIELDS[cls]
    for name in _FIELDS[cls]:
        value = getattr(event, name)
        if name == "due" and value == DUE_UNSTORED:
            continue  # an old event's absent due stays absent: replays judge it as before
        out[name] = list(value) if name in tuples else value
    return out


def event_from_dict(data: dict[str, Any]) -> Event:
    cls = EVENT_TYPES.get(data.get("type", ""))
    if cls is None:
        raise ValueError(f"unknown event type {data.get('type')!r}")
    tuples = _TUPLE_FIELDS[cls]
    kwargs = {
        name: (tuple(data[name]) if name in tuples else data[name])
        for name in _FIELDS[cls]
        if name in data
    }
    event: Event = cls(**kwargs)
    return event


# ---------------------------------------------------------------------------------------------
# State. Mutable on purpose (apply() is on the hot path), but only Engine.apply changes it.


@dataclass(slots=True)
class Ticket:
    id: str
    number: str
    service: str
    department: str
    priority: str
    issued_at: str
    issued_ts: int
    order: int
    kiosk: str
    lang: str
    status: str = WAITING
    window: str | None = None  # the window it is at, was closed at, or waits for
    clerk: str | None = None
    recalls: int = 0  # re-calls and call-backs since the first call at this window
    cap_recalls: int = 0  # the re-calls that count toward limits.recall_cap
    appointment: str | None = None
    slot: str | None = None
    slot_ts: int | None = None
    called_ts: int | None = None
    started_ts: int | None = None
    done_at: str | None = None
    rate_until: str | None = None
    rate_until_ts: int | None = None
    score: int | None = None
    reprints: int = 0
    reason: str | None = None  # why it was cancelled or moved by the hall (e.g. "config_removed")
    category: str | None = None  # a priority ticket's category (elderly / disabled / military)

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_STATUSES


@dataclass(slots=True)
class WindowState:
    id: str
    clerk: str | None = None
    paused: bool = False
    reason: str | None = None
    since: str | None = None
    current: str | None = None  # the ticket called or being served
    held: list[str] = field(default_factory=list)
    rating: str | None = None  # the done ticket awaiting a rating here
    rating_until: str | None = None
    rating_until_ts: int | None = None

    @property
    def status(self) -> str:
        if self.clerk is None:
            return "closed"
        return "paused" if self.paused else "open"


@dataclass(slots=True)
class ServiceState:
    open: bool = True  # an operator's closure lasts one business day
    cap: int | None = None  # an operator's cap, for the business day
    issued_today: int = 0
    samples: list[int] = field(default_factory=list)  # recent service times, seconds, oldest first


@dataclass(slots=True)
class Booking:
    code: str
    service: str
    day: str  # YYYY-MM-DD
    slot: str  # ISO with the hall's offset
    ticket: str | None = None  # the ticket it was checked in as: a booking checks in once


@dataclass(slots=True)
class OpenAlarm:
    """An alarm raised and not yet cleared, with its follow-up (the retained `alarms` entry)."""

    id: str
    kind: str
    severity: str
    subject: str
    text: str
    at: str  # when its condition arose
    acked_by: str | None = None
    acked_at: str | None = None
    notes: list[list[str]] = field(default_factory=list)  # [operator, at, text], oldest first


@dataclass(slots=True)
class OpenCase:
    """A case accepted (受理) at a finish, open until closed (办结); it outlives the business day.

    A case closed today stays (with `closed`) until the next rollover, so a second close is told
    apart from an unknown id."""

    id: str  # the ticket id it was accepted under (unique for ever)
    number: str
    service: str
    department: str
    window: str
    clerk: str
    accepted: str  # YYYY-MM-DD, the business day of the finish (hall/engine/now.py)
    due: str  # YYYY-MM-DD, `promised_days` working days later
    closed: str | None = None  # when it was closed (ISO), today


@dataclass(slots=True)
class HallState:
    business_day: date | None = None
    tickets: dict[str, Ticket] = field(default_factory=dict)
    windows: dict[str, WindowState] = field(default_factory=dict)
    services: dict[str, ServiceState] = field(default_factory=dict)
    last_number: dict[str, int] = field(default_factory=dict)  # department -> today's last seq
    call_seq: int = 0  # the seq of the day's last call message
    issue_order: int = 0  # hall-wide, never reset
    recent_calls: list[CallEvent] = field(default_factory=list)  # newest last, at most RECENT_CALLS
    notice: str | None = None
    bookings: dict[str, Booking] = field(default_factory=dict)  # by code; past days pruned
    alarms: dict[str, OpenAlarm] = field(default_factory=dict)  # open alarms by id, oldest first
    alarm_seq: int = 0  # the number of the last alarm raised, never reset
    cases: dict[str, OpenCase] = field(default_factory=dict)  # by id, oldest first; not per day
    # Derived from the tickets (rebuilt on restore), so left out of equality and snapshots.
    index: QueueIndex = field(default_factory=QueueIndex, compare=False, repr=False)
    by_number: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    # kiosk -> epoch seconds of its issues in the last minute (the rate limit), oldest first
    kiosk_issues: dict[str, list[int]] = field(default_factory=dict, compare=False, repr=False)

    RECENT_CALLS: ClassVar[int] = 20

    def oldest_waiting(self) -> dict[str, int]:
        """Each department's longest wait: the issue time (epoch seconds) of its oldest ticket
        at the head of a queue (the board's waiting figures and the wait_long alarm)."""
        oldest: dict[str, int] = {}
        for _, ticket_id in self.index.heads():
            ticket = self.tickets[ticket_id]
            known = oldest.get(ticket.department)
            if known is None or ticket.issued_ts < known:
                oldest[ticket.department] = ticket.issued_ts
        return oldest


# ---------------------------------------------------------------------------------------------
# Snapshots: the JSON-safe form of a state (the store saves it to start from instead of replaying).

SNAPSHOT_FORMAT = 1


def state_to_dict(state: HallState) -> dict[str, Any]:
    return {
        "format": SNAPSHOT_FORMAT,
        "business_day": state.business_day.isoformat() if state.business_day else None,
        "tickets": [_slots_dict(t) for t in state.tickets.values()],
        "windows": [_slots_dict(w) for w in state.windows.values()],
        "services": {code: _slots_dict(s) for code, s in state.services.items()},
        "last_number": dict(state.last_number),
        "call_seq": state.call_seq,
        "issue_order": state.issue_order,
        "recent_calls": [event_to_dict(e) for e in state.recent_calls],
        "notice": state.notice,
        "bookings": [_slots_dict(b) for b in state.bookings.values()],
        "alarms": [_slots_dict(a) for a in state.alarms.values()],
        "alarm_seq": state.alarm_seq,
        "cases": [_slots_dict(c) for c in state.cases.values()],
    }


def state_from_dict(data: dict[str, Any]) -> HallState:
    if data.get("format") != SNAPSHOT_FORMAT:
        raise ValueError(f"unknown snapshot format {data.get('format')!r}")
    day = data["business_day"]
    tickets = [Ticket(**t) for t in data["tickets"]]
    windows = [WindowState(**{**w, "held": list(w["held"])}) for w in data["windows"]]
    recent: list[CallEvent] = []
    for item in data["recent_calls"]:
        event = event_from_dict(item)
        assert isinstance(event, CallEvent)
        recent.append(event)
    return HallState(
        business_day=date.fromisoformat(day) if day else None,
        tickets={t.id: t for t in tickets},
        windows={w.id: w for w in windows},
        services={
            code: ServiceState(**{**s, "samples": list(s["samples"])})
            for code, s in data["services"].items()
        },
        last_number={k: int(v) for k, v in data["last_number"].items()},
        call_seq=int(data["call_seq"]),
        issue_order=int(data["issue_order"]),
        recent_calls=recent,
        notice=data["notice"],
        # Snapshots written before bookings existed have none.
        bookings={b["code"]: Booking(**b) for b in data.get("bookings", [])},
        # Snapshots written before alarms were kept have none.
        alarms={a["id"]: OpenAlarm(**a) for a in data.get("alarms", [])},
        alarm_seq=int(data.get("alarm_seq", 0)),
        # Snapshots written before cases were kept have none.
        cases={c["id"]: OpenCase(**c) for c in data.get("cases", [])},
    )


def _slots_dict(obj: Any) -> dict[str, Any]:
    out = {}
    for name in _field_names(type(obj)):
        value = getattr(obj, name)
        out[name] = list(value) if isinstance(value, list) else value
    return out


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """A dataclass's field names, in order: dataclasses.fields() works them out at each call, and a
    snapshot asks once per ticket (thousands of times)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names
