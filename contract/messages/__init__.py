"""The contract's payloads as frozen typed classes (docs/protocol.md, "Message types").

The hall builds what it publishes through them; devices read what they receive through them:

    from contract import messages
    call = messages.parse("calls", payload)       # a CallMessage, or PayloadError
    state = messages.decode_window_state(payload) # None for an empty (cleared) retained payload

Every class has `from_json(obj)` / `from_bytes(payload)` and `to_json()`. Keys a class does not
know are ignored (the contract grows); anything else wrong raises `PayloadError` (a ValueError)
that names the payload and the field: `calls.ticket.number: missing`.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from contract.messages.answers import (
    RESULTS,
    AlarmResult,
    Answer,
    BookingResult,
    CaseResult,
    ErrorInfo,
    HelpResult,
    NoticeResult,
    RateResult,
    RatingGiven,
    ServiceResult,
    TicketResult,
    WindowResult,
    result_of,
)
from contract.messages.objects import (
    Booking,
    CatalogService,
    ClerkRef,
    HoursSpan,
    Ticket,
    WindowRef,
    WindowState,
)
from contract.messages.published import (
    Alarm,
    AlarmAck,
    AlarmNote,
    Alarms,
    Board,
    CallMessage,
    CaseCounts,
    Cases,
    Catalog,
    CatalogDevices,
    CatalogWindow,
    Clock,
    Department,
    DepartmentWaiting,
    DeviceSettingsMessage,
    Figures,
    Health,
    OpenAlarm,
    OpenCase,
    QueueEntry,
    Queues,
    RatingMessage,
    Site,
    Stats,
    WindowFigures,
    WindowStateMessage,
)
from contract.messages.requests import REQUESTS, Request, decode_request
from contract.messages.wire import PayloadError, Wire, load_json

__all__ = [
    "PUBLISHED",
    "REQUESTS",
    "RESULTS",
    "Alarm",
    "AlarmAck",
    "AlarmNote",
    "AlarmResult",
    "Alarms",
    "Answer",
    "Board",
    "Booking",
    "BookingResult",
    "CallMessage",
    "CaseCounts",
    "CaseResult",
    "Cases",
    "Catalog",
    "CatalogDevices",
    "CatalogService",
    "CatalogWindow",
    "ClerkRef",
    "Clock",
    "Department",
    "DepartmentWaiting",
    "DeviceSettingsMessage",
    "ErrorInfo",
    "Figures",
    "Health",
    "HelpResult",
    "HoursSpan",
    "NoticeResult",
    "OpenAlarm",
    "OpenCase",
    "PayloadError",
    "QueueEntry",
    "Queues",
    "RateResult",
    "RatingGiven",
    "RatingMessage",
    "Request",
    "ServiceResult",
    "Site",
    "Stats",
    "Ticket",
    "TicketResult",
    "WindowFigures",
    "WindowRef",
    "WindowResult",
    "WindowState",
    "WindowStateMessage",
    "Wire",
    "decode_alarm",
    "decode_alarms",
    "decode_board",
    "decode_call",
    "decode_cases",
    "decode_catalog",
    "decode_clock",
    "decode_health",
    "decode_queues",
    "decode_rating",
    "decode_request",
    "decode_window_state",
    "parse",
    "read_or_warn",
    "result_of",
]  # fmt: skip

log = logging.getLogger(__name__)

W = TypeVar("W", bound=Wire)
_WARNED_MAX = 100
_warned: set[str] = set()


def read_or_warn(cls: type[W], value: Any) -> W | None:
    """The message `cls` in a decoded payload, or None when it is not one: for a device that
    then shows what it can of it. The first time each problem is seen it is logged (a warning
    that names the field), so a sender that breaks the contract is found without flooding."""
    try:
        return cls.from_json(value)
    except PayloadError as bad:
        problem = str(bad)
        if problem not in _warned:
            if len(_warned) >= _WARNED_MAX:
                _warned.clear()
            _warned.add(problem)
            log.warning("a payload outside the contract (shown as far as it goes): %s", problem)
        return None


# The payload type of each topic (by the name contract/topics.py gives it) and of an answer.
PUBLISHED: dict[str, type[Wire]] = {
    "calls": CallMessage,
    "board": Board,
    "window_state": WindowStateMessage,
    "window_rating": RatingMessage,
    "queues": Queues,
    "catalog": Catalog,
    "clock": Clock,
    "alarm": Alarm,
    "alarms": Alarms,
    "cases": Cases,
    "device_health": Health,
    "device_settings": DeviceSettingsMessage,
    "stats": Stats,
    "answer": Answer,
}


def parse(kind: str, payload: bytes | str | Any) -> Any:
    """The typed message of topic `kind` (a key of PUBLISHED) in `payload` (the bytes received,
    or JSON already decoded); PayloadError if it is not one. An empty payload (a cleared retained
    topic) is None."""
    cls = PUBLISHED.get(kind)
    if cls is None:
        raise KeyError(f"no payload type for {kind!r}: one of {sorted(PUBLISHED)}")
    if isinstance(payload, bytes | str):
        if not payload:
            return None
        payload = load_json(cls.KIND, payload)
    return cls.from_json(payload)


def decode_call(payload: bytes | str) -> CallMessage:
    return CallMessage.from_bytes(payload)


def decode_board(payload: bytes | str) -> Board | None:
    return Board.from_bytes(payload) if payload else None


def decode_window_state(payload: bytes | str) -> WindowStateMessage | None:
    return WindowStateMessage.from_bytes(payload) if payload else None


def decode_rating(payload: bytes | str) -> RatingMessage | None:
    return RatingMessage.from_bytes(payload) if payload else None


def decode_queues(payload: bytes | str) -> Queues | None:
    return Queues.from_bytes(payload) if payload else None


def decode_catalog(payload: bytes | str) -> Catalog | None:
    return Catalog.from_bytes(payload) if payload else None


def decode_clock(payload: bytes | str) -> Clock | None:
    return Clock.from_bytes(payload) if payload else None


def decode_alarm(payload: bytes | str) -> Alarm:
    return Alarm.from_bytes(payload)


def decode_alarms(payload: bytes | str) -> Alarms | None:
    return Alarms.from_bytes(payload) if payload else None


def decode_cases(payload: bytes | str) -> Cases | None:
    return Cases.from_bytes(payload) if payload else None


def decode_health(payload: bytes | str) -> Health | None:
    return Health.from_bytes(payload) if payload else None
