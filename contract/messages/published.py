"""What the hall publishes on its topics (docs/protocol.md, "What the hall publishes"), and what
devices publish about themselves (`device/{id}/health`). Each carries `"v": 1`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contract.messages.objects import CatalogService, ClerkRef, Ticket, WindowRef, WindowState
from contract.messages.wire import OMIT, TIME, Wire


@dataclass(frozen=True, slots=True, kw_only=True)
class CallMessage(Wire):
    """`calls`: one call, recall or call-back (also each of `board.recent`)."""

    KIND = "calls"
    VERSIONED = True
    seq: int  # +1 per message of the business day: a gap means "redraw from board"
    at: str = field(metadata=TIME)
    ticket: Ticket
    window: WindowRef
    recall: int  # 0 for the first call of the ticket at this window


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowStateMessage(WindowState):
    """`window/{id}/state` (retained)."""

    KIND = "window_state"
    VERSIONED = True


@dataclass(frozen=True, slots=True, kw_only=True)
class RatingMessage(Wire):
    """`window/{id}/rating` (retained; an empty payload means no ticket awaits a rating)."""

    KIND = "window_rating"
    VERSIONED = True
    window: WindowRef
    ticket: Ticket
    clerk: ClerkRef | None = None  # extension: who served it (absent from other halls)
    until: str = field(metadata=TIME)


@dataclass(frozen=True, slots=True, kw_only=True)
class DepartmentWaiting(Wire):
    KIND = "board"
    count: int
    longest_wait_min: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Board(Wire):
    """`board` (retained): everything a hall screen needs to draw from nothing."""

    KIND = "board"
    VERSIONED = True
    seq: int  # of the newest call in `recent` (0 before the day's first)
    at: str = field(metadata=TIME)
    recent: tuple[CallMessage, ...]  # newest first
    windows: tuple[WindowState, ...]
    waiting: Mapping[str, DepartmentWaiting]  # by department code
    notice: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueEntry(Wire):
    KIND = "queues"
    waiting: int
    issued_today: int
    est_wait_min: int
    can_issue: bool
    reason: str | None  # closed / outside_hours / quota_reached / appointment_only
    # Extension: when a service that is outside its hours opens next (for the kiosk).
    next_open: str | None = field(default=None, metadata={**OMIT, **TIME})


@dataclass(frozen=True, slots=True, kw_only=True)
class Queues(Wire):
    """`queues` (retained, coalesced): per service code."""

    KIND = "queues"
    VERSIONED = True
    at: str = field(metadata=TIME)
    services: Mapping[str, QueueEntry]


@dataclass(frozen=True, slots=True, kw_only=True)
class Site(Wire):
    KIND = "catalog"
    id: str
    name: str
    tz: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Department(Wire):
    KIND = "catalog"
    code: str
    name_zh: str
    name_en: str
    prefix: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogWindow(Wire):
    KIND = "catalog"
    id: str
    name: str
    area: str
    no: int = 0  # extension: the window's number
    evaluator: str | None
    clerks: tuple[str, ...]
    roster: tuple[ClerkRef, ...] = ()  # extension: the clerks with their names (never a PIN)
    tiers: tuple[tuple[str, ...], ...]
    services: tuple[str, ...]  # the tiers flattened, in calling order


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogDevices(Wire):
    KIND = "catalog"
    kiosks: tuple[str, ...]
    displays: tuple[str, ...]
    evaluators: tuple[str, ...]
    bridges: tuple[str, ...]
    operators: tuple[str, ...]
    announcers: tuple[str, ...] = ()  # extension: the hall's speakers (hallq announcer)


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalog(Wire):
    """`catalog` (retained): what a kiosk draws its menu from."""

    KIND = "catalog"
    VERSIONED = True
    site: Site
    business_day: str | None  # YYYY-MM-DD
    departments: tuple[Department, ...]
    services: tuple[CatalogService, ...]
    windows: tuple[CatalogWindow, ...]
    devices: CatalogDevices
    notice: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Clock(Wire):
    """`clock` (retained, extension): the hall's clock read `at` at real time `unix` and runs
    `speed` times real time."""

    KIND = "clock"
    VERSIONED = True
    at: str = field(metadata=TIME)
    speed: float
    unix: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Alarm(Wire):
    """`alarm` (not retained)."""

    KIND = "alarm"
    VERSIONED = True
    id: str
    kind: str  # queue_long / device_offline / bad_rating / quota ... (docs/protocol.md)
    severity: str  # info / warn / critical
    subject: str  # hall, a department or service code, a window, device or ticket id
    text: str
    at: str = field(metadata=TIME)  # raised: when its condition arose; cleared: when it ended
    cleared: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmAck(Wire):
    """Who acknowledged an open alarm, and when."""

    KIND = "alarms"
    by: str  # the operator's id
    at: str = field(metadata=TIME)


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmNote(Wire):
    """An operator's follow-up note on an alarm."""

    KIND = "alarms"
    by: str
    at: str = field(metadata=TIME)
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenAlarm(Wire):
    """An open alarm in `alarms` (its `alarm` payload without `"v"`, and its follow-up)."""

    KIND = "alarms"
    id: str
    kind: str
    severity: str
    subject: str
    text: str
    at: str = field(metadata=TIME)
    cleared: bool
    acked: AlarmAck | None  # null until an operator acknowledges it
    notes: tuple[AlarmNote, ...]  # oldest first


@dataclass(frozen=True, slots=True, kw_only=True)
class Alarms(Wire):
    """`alarms` (retained, extension): every open alarm, newest first; republished on each
    change, so a monitor started later sees them all."""

    KIND = "alarms"
    VERSIONED = True
    at: str = field(metadata=TIME)
    alarms: tuple[OpenAlarm, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Health(Wire):
    """`device/{id}/health` (retained, published by each device)."""

    KIND = "device_health"
    VERSIONED = True
    state: str  # ready / paper_near_end / ... for a printer, ok / offline for a bus
    detail: Any  # whatever the device says more: per board or keypad for a bridge
    at: str = field(metadata=TIME)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceSettingsMessage(Wire):
    """`device/{id}/settings` (retained, extension): the device's own section of the hall config
    (`settings`, its shape that of the section) and what of the hall every device needs (`hall`)."""

    KIND = "device_settings"
    VERSIONED = True
    device: str
    class_: str = field(metadata={"wire": "class"})
    settings: Mapping[str, Any]
    hall: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Figures(Wire):
    """One window's, clerk's or service's day in `stats`."""

    KIND = "stats"
    served: int
    mean_service_s: int | None  # start (or call) to finish, held time excluded
    ratings: Mapping[str, int]  # "1".."5" -> count
    rated: int
    good_share: float | None  # 非常满意, 满意 and 基本满意 over all ratings


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowFigures(Wire):
    """A window's day in `stats`: its figures and who served there."""

    KIND = "stats"
    served: int
    mean_service_s: int | None
    ratings: Mapping[str, int]
    rated: int
    good_share: float | None
    clerks: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Stats(Wire):
    """`stats` (retained, extension): the business day's figures per window, clerk and service."""

    KIND = "stats"
    VERSIONED = True
    at: str = field(metadata=TIME)
    business_day: str | None
    levels: Mapping[str, str]
    windows: Mapping[str, WindowFigures]
    clerks: Mapping[str, Figures]
    services: Mapping[str, Figures]


# -- time limits (issue 21) ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseCounts(Wire):
    """Open cases by state: `ok` (in time), `near` (yellow), `overdue` (red)."""

    KIND = "cases"
    ok: int
    near: int
    overdue: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenCase(Wire):
    """One open case (受理, not yet 办结) in `cases`."""

    KIND = "cases"
    id: str  # the ticket id it was accepted under
    number: str
    service: str
    department: str
    window: str  # where it was accepted
    clerk: str
    accepted: str  # YYYY-MM-DD
    due: str  # YYYY-MM-DD: `promised_days` working days after `accepted`
    state: str  # ok / near / overdue on `day`
    days_left: int  # working days from `day` to `due` (negative: working days past it)


@dataclass(frozen=True, slots=True, kw_only=True)
class Cases(Wire):
    """`cases` (retained, extension): the open cases and their state on the hall's date `day`,
    most urgent first; republished at each change, each (re)connect and each change of date."""

    KIND = "cases"
    VERSIONED = True
    at: str = field(metadata=TIME)
    day: str  # YYYY-MM-DD: the date the states are for
    warn_days: int  # a case is `near` with this many working days left or fewer
    counts: CaseCounts
    departments: Mapping[str, CaseCounts]  # department code -> its open cases by state
    cases: tuple[OpenCase, ...]
