"""The hall's answers (`{class}/{id}/resp`): the envelope, and the typed `result` of each op.

answer = Answer.from_bytes(payload)          # PayloadError if it is not an answer
if answer.ok:
    issued = answer.result_as(TicketResult)  # or: result_of("issue", answer)
else:
    answer.error.code, answer.error.message
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

from contract.messages.objects import Booking, CatalogService, Ticket, WindowState
from contract.messages.published import OpenAlarm, OpenCase
from contract.messages.wire import OMIT, TIME, PayloadError, Wire, join_path


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorInfo(Wire):
    KIND = "answer"
    code: str  # one of contract.protocol.ERROR_CODES
    message: str  # Chinese (with English where the hall speaks it)


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer(Wire):
    """`{"v":1,"id":…,"ok":true,"result":{…}}` or `{"v":1,"id":…,"ok":false,"error":{…}}`."""

    KIND = "answer"
    VERSIONED = True
    id: str | None  # null when the request had no valid id
    ok: bool
    result: dict[str, Any] | None = field(
        default=None, metadata=OMIT
    )  # when ok: read it with result_as / result_of
    error: ErrorInfo | None = field(default=None, metadata=OMIT)  # when not ok

    def __post_init__(self) -> None:
        if self.ok and (self.result is None or self.error is not None):
            raise PayloadError(self.KIND, "result", "an ok answer has a result and no error")
        if not self.ok and (self.error is None or self.result is not None):
            raise PayloadError(self.KIND, "error", "a refusal has an error and no result")

    def result_as(self, cls: type[R]) -> R:
        """The result as the typed result `cls`; PayloadError if it is not one, or a refusal."""
        if self.result is None:
            raise PayloadError(self.KIND, "result", "missing: the request was refused")
        return cls._read(f"{self.KIND}.result", "", self.result)

    @classmethod
    def _build(cls, kind: str, path: str, values: dict[str, Any]) -> Self:
        if values.get("ok") is True and "result" not in values:
            raise PayloadError(kind, join_path(path, "result"), "missing")
        if values.get("ok") is False and "error" not in values:
            raise PayloadError(kind, join_path(path, "error"), "missing")
        return super(Answer, cls)._build(kind, path, values)

    @classmethod
    def success(cls, request_id: str | None, result: Wire | dict[str, Any]) -> Answer:
        body = result.to_json() if isinstance(result, Wire) else result
        return cls(id=request_id, ok=True, result=body)

    @classmethod
    def refusal(cls, request_id: str | None, code: str, message: str) -> Answer:
        return cls(id=request_id, ok=False, error=ErrorInfo(code=code, message=message))


R = TypeVar("R", bound=Wire)


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketResult(Wire):
    """`issue`, `reprint`, `status`, `cancel`."""

    KIND = "result"
    ticket: Ticket


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowResult(Wire):
    """Every window op and `force_logout`: the window's new state and, where a ticket is
    involved, that ticket (the key is absent otherwise)."""

    KIND = "result"
    window: WindowState
    ticket: Ticket | None = field(default=None, metadata=OMIT)


@dataclass(frozen=True, slots=True, kw_only=True)
class RatingGiven(Wire):
    KIND = "result"
    score: int
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RateResult(Wire):
    """`rate`: the rated ticket and the rating."""

    KIND = "result"
    ticket: Ticket
    rating: RatingGiven


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceResult(Wire):
    """`service`: the catalog's service object, with the cap in force."""

    KIND = "result"
    service: CatalogService


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeResult(Wire):
    """`notice`: the notice now shown (null: none)."""

    KIND = "result"
    notice: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BookingResult(Wire):
    """`booking_add` (with `changed`: false when the same booking was sent again) and
    `booking_cancel` (without it)."""

    KIND = "result"
    booking: Booking
    changed: bool | None = field(default=None, metadata=OMIT)


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmResult(Wire):
    """`alarm_ack` and `alarm_note`: the alarm with its follow-up (after a closing note, as it was
    when closed)."""

    KIND = "result"
    alarm: OpenAlarm


@dataclass(frozen=True, slots=True, kw_only=True)
class HelpResult(Wire):
    """`help`: the id of the kiosk's `kiosk_help` alarm (the open one, if it had called already)."""

    KIND = "result"
    alarm: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseResult(Wire):
    """`close_case`: the case as it was open (its state on the day it was closed), and when."""

    KIND = "result"
    case: OpenCase
    closed: str = field(metadata=TIME)


_WINDOW_OPS = (
    "login", "logout", "call_next", "call", "recall", "start", "finish", "no_show", "transfer",
    "hold", "unhold", "pause", "resume", "force_logout",
)  # fmt: skip

# The typed result of each op's success.
RESULTS: dict[str, type[Wire]] = {
    "issue": TicketResult,
    "reprint": TicketResult,
    "status": TicketResult,
    "cancel": TicketResult,
    **dict.fromkeys(_WINDOW_OPS, WindowResult),
    "rate": RateResult,
    "service": ServiceResult,
    "notice": NoticeResult,
    "booking_add": BookingResult,
    "booking_cancel": BookingResult,
    "alarm_ack": AlarmResult,
    "alarm_note": AlarmResult,
    "help": HelpResult,
    "close_case": CaseResult,
}


def result_of(op: str, answer: Answer) -> Wire:
    """The typed result of a successful answer to `op`; PayloadError if it is none."""
    cls = RESULTS.get(op)
    if cls is None:
        raise PayloadError(answer.KIND, "result", f"no typed result for op {op!r}")
    return answer.result_as(cls)
