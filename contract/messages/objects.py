"""The objects nested in the contract's payloads: a ticket, a window, a clerk, a window's state,
a booking, a service of the catalog. None carries `"v"`: they are parts of a message."""

from __future__ import annotations

from dataclasses import dataclass, field

from contract.messages.wire import OMIT, TIME, Wire

# Ticket statuses (docs/protocol.md, "Ticket object"); kept as text so that a later one is read.
TICKET_STATUSES = (
    "waiting",
    "called",
    "serving",
    "held",
    "done",
    "no_show",
    "expired",
    "cancelled",
)
WINDOW_STATUSES = ("closed", "open", "paused")


@dataclass(frozen=True, slots=True, kw_only=True)
class Ticket(Wire):
    """The contract's ticket object."""

    KIND = "ticket"
    id: str  # unique for ever: 20261126-A012
    number: str  # what the visitor sees: A012
    service: str
    department: str
    priority: str  # normal / priority
    issued_at: str = field(metadata=TIME)
    status: str
    ahead: int  # tickets called before this one (0 unless waiting)
    est_wait_min: int | None  # None: no estimate (it waits for a window that is closed)
    window: str | None  # the window it is at, or waits for
    recalls: int
    reason: str | None = field(default=None, metadata=OMIT)  # why it was cancelled, if said
    window_status: str | None = field(default=None, metadata=OMIT)  # "closed": its window is
    category: str | None = field(default=None, metadata=OMIT)  # elderly / disabled / military


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowRef(Wire):
    """A window as messages name it."""

    KIND = "window"
    id: str
    name: str
    area: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ClerkRef(Wire):
    KIND = "clerk"
    id: str
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowState(Wire):
    """What a window is doing now: `result.window` of the window ops and `board.windows[]` (the
    `window/{id}/state` payload is this with `"v"`: `WindowStateMessage`)."""

    KIND = "window_state"
    window: WindowRef
    status: str  # closed / open / paused
    clerk: ClerkRef | None
    ticket: Ticket | None  # the current ticket
    held: tuple[Ticket, ...]
    since: str | None = field(metadata=TIME)
    reason: str | None  # why it is paused


@dataclass(frozen=True, slots=True, kw_only=True)
class Booking(Wire):
    """A booking as the operator's answers carry it."""

    KIND = "booking"
    code: str
    service: str
    day: str  # YYYY-MM-DD
    slot: str  # HH:MM
    ticket: str | None  # the ticket it was checked in as


@dataclass(frozen=True, slots=True, kw_only=True)
class HoursSpan(Wire):
    KIND = "hours"
    days: str  # mon-fri
    from_: str = field(metadata={"wire": "from"})  # HH:MM
    to: str  # HH:MM (24:00 for the end of the day)


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogService(Wire):
    """A service of the catalog (also the `service` op's result)."""

    KIND = "service"
    code: str
    department: str
    name_zh: str
    name_en: str
    open: bool  # whether an operator has it open at all (whether it issues now is in `queues`)
    needs_appointment: bool
    avg_minutes: float
    promised_days: int
    hours: tuple[HoursSpan, ...]
    cap: int | None  # the cap in force today
