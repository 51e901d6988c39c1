"""The requests devices send, one class per op (docs/protocol.md, "Requests and answers").

A device builds one and sends it: `client.request(req.OP, **req.fields())`, or the whole payload
`req.to_json(request_id)`. These classes say what a request looks like; whether the hall accepts
it (lengths, characters, a booking code's form) is the hall's own check (hall/engine/requests.py), which
every request built here passes when its values do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from contract.messages.wire import LOCAL, OMIT, PayloadError, Wire, join_path, load_json
from contract.protocol import VERSION, valid_request_id


@dataclass(frozen=True, slots=True, kw_only=True)
class Request(Wire):
    """Base of the requests: `OP` on the topic of `DEVICE` (kiosk, window, evaluator, operator)."""

    OP: ClassVar[str] = ""
    DEVICE: ClassVar[str] = ""

    def fields(self) -> dict[str, Any]:
        """The op's fields, for `HallClient.request(OP, **fields)`."""
        return Wire.to_json(self)

    def to_json(self, request_id: str | None = None) -> dict[str, Any]:
        """The whole request: `{"v":1,"id":…,"op":…,…fields}` (without `id` when none is given)."""
        head: dict[str, Any] = {"v": VERSION}
        if request_id is not None:
            head["id"] = request_id
        return {**head, "op": self.OP, **self.fields()}

    @classmethod
    def _read(cls, kind: str, path: str, obj: Any) -> Self:
        if isinstance(obj, dict) and "op" in obj and obj["op"] != cls.OP:
            raise PayloadError(
                kind, join_path(path, "op"), f"expected {cls.OP!r}, got {obj['op']!r}"
            )
        return super(Request, cls)._read(kind, path, obj)


# -- kiosk ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Issue(Request):
    KIND, OP, DEVICE = "request issue", "issue", "kiosk"
    # The service; left out when `appointment` is given: the booking names its service.
    service: str | None = field(default=None, metadata=OMIT)
    priority: str | None = field(default=None, metadata=OMIT)  # normal (the default) / priority
    # A booking's code: checks the booking in (the ticket is an appointment).
    appointment: str | None = field(default=None, metadata=OMIT)
    lang: str | None = field(default=None, metadata=OMIT)  # zh / en
    # Why a priority ticket (extension): elderly / disabled / military; implies priority.
    category: str | None = field(default=None, metadata=OMIT)
    deadline: str | None = field(default=None, metadata=OMIT)  # after it: refused `expired`

    def __post_init__(self) -> None:
        if self.service is None and self.appointment is None:
            raise PayloadError(self.KIND, "service", "missing (or give the booking's appointment)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Reprint(Request):
    KIND, OP, DEVICE = "request reprint", "reprint", "kiosk"
    ticket: str  # the ticket's id


@dataclass(frozen=True, slots=True, kw_only=True)
class Status(Request):
    KIND, OP, DEVICE = "request status", "status", "kiosk"
    ticket: str


# -- window --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Login(Request):
    KIND, OP, DEVICE = "request login", "login", "window"
    clerk: str
    pin: str | None = field(default=None, metadata=OMIT)


@dataclass(frozen=True, slots=True, kw_only=True)
class Logout(Request):
    KIND, OP, DEVICE = "request logout", "logout", "window"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallNext(Request):
    KIND, OP, DEVICE = "request call_next", "call_next", "window"


@dataclass(frozen=True, slots=True, kw_only=True)
class Call(Request):
    KIND, OP, DEVICE = "request call", "call", "window"
    number: str  # A012


@dataclass(frozen=True, slots=True, kw_only=True)
class Recall(Request):
    KIND, OP, DEVICE = "request recall", "recall", "window"


@dataclass(frozen=True, slots=True, kw_only=True)
class Start(Request):
    KIND, OP, DEVICE = "request start", "start", "window"


@dataclass(frozen=True, slots=True, kw_only=True)
class Finish(Request):
    KIND, OP, DEVICE = "request finish", "finish", "window"
    # "on_the_spot" (即办) or "accepted" (受理, a case with a due date); none: by the service
    outcome: str | None = field(default=None, metadata=OMIT)


@dataclass(frozen=True, slots=True, kw_only=True)
class NoShow(Request):
    KIND, OP, DEVICE = "request no_show", "no_show", "window"


@dataclass(frozen=True, slots=True, kw_only=True)
class Transfer(Request):
    """To another service's queue, or to a window's own queue: exactly one of the two."""

    KIND, OP, DEVICE = "request transfer", "transfer", "window"
    service: str | None = field(default=None, metadata=OMIT)
    window: str | None = field(default=None, metadata=OMIT)

    def __post_init__(self) -> None:
        if (self.service is None) == (self.window is None):
            raise PayloadError(self.KIND, "", "give either service or window")


@dataclass(frozen=True, slots=True, kw_only=True)
class Hold(Request):
    KIND, OP, DEVICE = "request hold", "hold", "window"


@dataclass(frozen=True, slots=True, kw_only=True)
class Unhold(Request):
    KIND, OP, DEVICE = "request unhold", "unhold", "window"
    ticket: str  # the id of a ticket held at this window


@dataclass(frozen=True, slots=True, kw_only=True)
class Pause(Request):
    KIND, OP, DEVICE = "request pause", "pause", "window"
    reason: str | None = field(default=None, metadata=OMIT)  # at most 100 characters


@dataclass(frozen=True, slots=True, kw_only=True)
class Resume(Request):
    KIND, OP, DEVICE = "request resume", "resume", "window"


# -- evaluator -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Rate(Request):
    KIND, OP, DEVICE = "request rate", "rate", "evaluator"
    ticket: str
    score: int  # 1..5
    reasons: tuple[str, ...] = ()


# -- operator ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelTicket(Request):
    KIND, OP, DEVICE = "request cancel", "cancel", "operator"
    ticket: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ForceLogout(Request):
    KIND, OP, DEVICE = "request force_logout", "force_logout", "operator"
    window: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SetService(Request):
    """Open or close a service for the day, and/or set its cap (`clear_cap`: `"cap": null`,
    back to the config's cap)."""

    KIND, OP, DEVICE = "request service", "service", "operator"
    service: str
    open: bool | None = field(default=None, metadata=OMIT)
    cap: int | None = field(default=None, metadata=OMIT)
    clear_cap: bool = field(default=False, metadata=LOCAL)

    def __post_init__(self) -> None:
        if self.open is None and self.cap is None and not self.clear_cap:
            raise PayloadError(self.KIND, "", "give open or cap")
        if self.clear_cap and self.cap is not None:
            raise PayloadError(self.KIND, "cap", "a cap and clear_cap together")

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"service": self.service}
        if self.open is not None:
            out["open"] = self.open
        if self.cap is not None or self.clear_cap:
            out["cap"] = self.cap
        return out

    @classmethod
    def _build(cls, kind: str, path: str, values: dict[str, Any]) -> Self:
        if "cap" in values and values["cap"] is None:  # "cap": null, not a missing cap
            values = {**values, "clear_cap": True}
        return super(SetService, cls)._build(kind, path, values)


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice(Request):
    KIND, OP, DEVICE = "request notice", "notice", "operator"
    text: str = ""  # empty: clears the notice


@dataclass(frozen=True, slots=True, kw_only=True)
class BookingAdd(Request):
    KIND, OP, DEVICE = "request booking_add", "booking_add", "operator"
    code: str  # B7F3K2
    service: str
    day: str  # YYYY-MM-DD
    slot: str  # HH:MM


@dataclass(frozen=True, slots=True, kw_only=True)
class BookingCancel(Request):
    KIND, OP, DEVICE = "request booking_cancel", "booking_cancel", "operator"
    code: str


# -- alarms (issue 19) ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Help(Request):
    """A kiosk's call for help: raises `kiosk_help` naming the kiosk (answer: `HelpResult`)."""

    KIND, OP, DEVICE = "request help", "help", "kiosk"


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmAckRequest(Request):
    """Acknowledge an open alarm (answer: `AlarmResult`)."""

    KIND, OP, DEVICE = "request alarm_ack", "alarm_ack", "operator"
    alarm: str  # the alarm's id


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmNoteRequest(Request):
    """Add a follow-up note to an open alarm; `close` closes a single-event alarm (bad_rating,
    kiosk_help) with it (answer: `AlarmResult`)."""

    KIND, OP, DEVICE = "request alarm_note", "alarm_note", "operator"
    alarm: str
    text: str  # 1..500 characters
    close: bool = False


# -- time limits (issue 21) ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseCase(Request):
    """Close an open case (办结) from a window: one of the departments its services belong to
    (answer: `CaseResult`)."""

    KIND, OP, DEVICE = "request close_case", "close_case", "window"
    case: str  # the case's id (the ticket id it was accepted under)
    note: str | None = field(default=None, metadata=OMIT)  # up to 500 characters


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorCloseCase(Request):
    """Close any open case (办结) from an operator terminal (answer: `CaseResult`)."""

    KIND, OP, DEVICE = "request close_case", "close_case", "operator"
    case: str
    note: str | None = field(default=None, metadata=OMIT)


_ALL: tuple[type[Request], ...] = (
    Issue, Reprint, Status, Login, Logout, CallNext, Call, Recall, Start, Finish, NoShow, Transfer,
    Hold, Unhold, Pause, Resume, Rate, CancelTicket, ForceLogout, SetService, Notice, BookingAdd,
    BookingCancel, Help, AlarmAckRequest, AlarmNoteRequest, CloseCase, OperatorCloseCase,
)  # fmt: skip

# The request class of each op, by the class of device that sends it.
REQUESTS: dict[str, dict[str, type[Request]]] = {
    device: {cls.OP: cls for cls in _ALL if device == cls.DEVICE}
    for device in ("kiosk", "window", "evaluator", "operator")
}


def decode_request(device_class: str, payload: bytes | str | Any) -> tuple[str, Request]:
    """(id, typed request) of a request payload (bytes, or JSON already decoded); PayloadError if
    it is not one a `device_class` may send."""
    kind = f"request of a {device_class}"
    obj = load_json(kind, payload) if isinstance(payload, bytes | str) else payload
    if not isinstance(obj, dict):
        raise PayloadError(kind, "", "expected an object")
    request_id = obj.get("id")
    if not valid_request_id(request_id):
        raise PayloadError(kind, "id", "expected a string of 1-64 characters")
    version = obj.get("v", VERSION)
    if type(version) is not int or version != VERSION:
        raise PayloadError(kind, "v", f"contract version {VERSION} expected")
    op = obj.get("op")
    cls = REQUESTS.get(device_class, {}).get(op) if isinstance(op, str) else None
    if cls is None:
        raise PayloadError(kind, "op", f"not an op of a {device_class}: {op!r}")
    return str(request_id), cls.from_json(obj)
