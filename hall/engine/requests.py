"""Wire to command: decode a device's request payload into an engine command.

`decode_request` either returns a `Request` or raises `RequestError` carrying the contract error and
the request id (None when the id is missing or invalid: the answer then says `"id": null` and is not
stored). It never raises anything else, whatever the bytes (tests fuzz it). Plain checks, no pydantic:
this is on the hot path of every request.

`OPS` is the one table of the contract's ops: each op is declared once, as an `Op` (its name, the
device class that sends it, its parser, the command type(s) the parser makes, and the engine's
handler). The decoder here, the engine's dispatch (hall/engine/engine.py) and the tests that hold the
table to the contract and to docs/protocol.md all read it. docs/architecture.md says how to add one.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from contract.protocol import VERSION, encodable, valid_request_id
from hall.config.schema import HallConfig
from hall.engine.errors import HallError
from hall.engine.handlers import alarms, cases, kiosk, operator, window
from hall.engine.handlers.common import Handled, check_device
from hall.engine.model import (
    OUTCOMES,
    AckAlarm,
    AddBooking,
    CallNext,
    CallNumber,
    Cancel,
    CancelBooking,
    CloseCase,
    Command,
    Finish,
    ForceLogout,
    Hold,
    IssueTicket,
    KioskHelp,
    Login,
    Logout,
    NoShow,
    NoteAlarm,
    Pause,
    QueryTicket,
    Rate,
    Recall,
    Reprint,
    Resume,
    SetNotice,
    SetService,
    Start,
    TransferToService,
    TransferToWindow,
    Unhold,
)
from hall.engine.now import Now

if TYPE_CHECKING:
    from hall.engine.engine import Engine

log = logging.getLogger(__name__)

MAX_PAYLOAD = 16 * 1024  # bytes; the largest real request (a notice) is far smaller
MAX_ID = 64  # ticket ids, service codes, clerk ids, booking codes ...
MAX_PIN = 32
MAX_REASON = 100  # a pause reason
MAX_REASONS = 10  # rating reasons, each at most MAX_ID characters
MAX_NOTICE = 500
MAX_CAP = 1_000_000
# Every text field refuses C0 control characters (U+0000..U+001F, and DEL): none has a use in an id,
# a PIN, a pause reason or a notice (a notice is one line on every screen), and a NUL or an ESC
# could reach a printer, an LED board or a log line. Lone surrogates ("\ud800" as a JSON escape)
# are refused too: no UTF-8 answer, store row or screen could carry them.
# Every one of them is one line, so also refused: C1 controls (U+0080..U+009F: U+0085 is a line
# break, U+009B a terminal's CSI), the Unicode line and paragraph separators (U+2028, U+2029) and
# the bidirectional embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069), which
# reorder what a screen or a log shows ("Trojan Source").
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
BOOKING_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
BOOKING_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
BOOKING_SLOT = re.compile(r"^[0-9]{2}:[0-9]{2}$")


@dataclass(frozen=True, slots=True)
class Request:
    request_id: str
    command: Command
    op: str


class RequestError(Exception):
    """A request that cannot become a command; `request_id` is None if it had no valid id."""

    def __init__(self, request_id: str | None, error: HallError) -> None:
        super().__init__(f"{request_id}: {error}")
        self.request_id = request_id
        self.error = error


class _Invalid(Exception):
    """A field is wrong; turned into `invalid_request` with the request's id."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en


def _text(
    data: dict[str, Any], key: str, *, limit: int = MAX_ID, required: bool = True
) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise _Invalid(f"缺少 {key}", f"{key} is missing")
        return None
    if not isinstance(value, str) or not value:
        raise _Invalid(f"{key} 应为非空字符串", f"{key} must be a non-empty string")
    if len(value) > limit:
        raise _Invalid(f"{key} 太长", f"{key} is longer than {limit} characters")
    _check_text(value, key)
    return value


def _check_text(value: str, key: str) -> None:
    if not encodable(value):
        raise _Invalid(f"{key} 含有无效字符", f"{key} is not valid Unicode (a lone surrogate)")
    if _CONTROL.search(value):
        raise _Invalid(
            f"{key} 不能含控制字符或换行",
            f"{key} must not contain control characters, line breaks or direction overrides",
        )


def _matching(data: dict[str, Any], key: str, pattern: re.Pattern[str], form: str) -> str:
    value = _required(data, key)
    if not pattern.match(value):
        raise _Invalid(f"{key} 格式应为 {form}", f"{key} must look like {form}")
    return value


def _required(data: dict[str, Any], key: str, limit: int = MAX_ID) -> str:
    value = _text(data, key, limit=limit)
    assert value is not None
    return value


def _choice(data: dict[str, Any], key: str, choices: tuple[str, ...]) -> Any:
    value = data.get(key)
    if value is None:
        return choices[0]
    if not isinstance(value, str) or value not in choices:
        raise _Invalid(f"{key} 只能是 {'/'.join(choices)}", f"{key} must be one of {choices}")
    return value


def _integer(value: Any, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _Invalid(
            f"{key} 应为 {low} 到 {high} 的整数", f"{key} must be a whole number {low}..{high}"
        )
    return value


# -- per-op parsers: (device id, payload) -> command -------------------------------------------


PRIORITY_CATEGORIES = ("elderly", "disabled", "military")


def _issue(device: str, data: dict[str, Any]) -> IssueTicket:
    appointment = _text(data, "appointment", required=False)
    # Checking in by booking code alone: the booking names its service ("" until the engine looks).
    by_code = appointment is not None and data.get("service") is None
    category = None
    if data.get("category") is not None:
        category = _choice(data, "category", PRIORITY_CATEGORIES)
    priority = _choice(data, "priority", ("normal", "priority"))
    if category is not None:
        priority = "priority"  # a category is a reason for priority: the kiosk's permission applies
    return IssueTicket(
        kiosk=device,
        service="" if by_code else _required(data, "service"),
        priority=priority,
        appointment=appointment,
        lang=_choice(data, "lang", ("zh", "en")),
        deadline=_moment(data, "deadline"),
        category=category,
    )


def _moment(data: dict[str, Any], key: str) -> datetime | None:
    """An optional ISO 8601 time with its offset (2026-11-26T09:03:12+08:00)."""
    value = data.get(key)
    if value is None:
        return None
    form = "ISO 8601 with an offset, e.g. 2026-11-26T09:03:12+08:00"
    if not isinstance(value, str) or len(value) > 40:
        raise _Invalid(f"{key} 应为带时区的时间", f"{key} must be {form}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Invalid(f"{key} 应为带时区的时间", f"{key} must be {form}") from None
    if moment.tzinfo is None:
        raise _Invalid(f"{key} 应为带时区的时间", f"{key} must be {form}")
    return moment


def _reprint(device: str, data: dict[str, Any]) -> Reprint:
    return Reprint(device, _required(data, "ticket"))


def _status(device: str, data: dict[str, Any]) -> QueryTicket:
    return QueryTicket(device, _required(data, "ticket"))


def _login(device: str, data: dict[str, Any]) -> Login:
    return Login(
        device, _required(data, "clerk"), _text(data, "pin", limit=MAX_PIN, required=False)
    )


def _transfer(device: str, data: dict[str, Any]) -> TransferToService | TransferToWindow:
    service = _text(data, "service", required=False)
    window = _text(data, "window", required=False)
    if (service is None) == (window is None):
        raise _Invalid(
            "转移须给出 service 或 window 之一", "transfer needs either service or window"
        )
    if service is not None:
        return TransferToService(device, service)
    assert window is not None
    return TransferToWindow(device, window)


def _finish(device: str, data: dict[str, Any]) -> Finish:
    outcome = data.get("outcome")
    if outcome is not None and outcome not in OUTCOMES:
        raise _Invalid(
            f"outcome 只能是 {'/'.join(OUTCOMES)}", f"outcome must be one of {', '.join(OUTCOMES)}"
        )
    return Finish(device, outcome)


def _rate(device: str, data: dict[str, Any]) -> Rate:
    reasons = data.get("reasons")
    if reasons is None:
        reasons = []
    if (
        not isinstance(reasons, list)
        or len(reasons) > MAX_REASONS
        or not all(isinstance(r, str) and 0 < len(r) <= MAX_ID for r in reasons)
    ):
        raise _Invalid("reasons 应为短字符串列表", "reasons must be a short list of short strings")
    for reason in reasons:
        _check_text(reason, "reasons")
    return Rate(
        evaluator=device,
        ticket=_required(data, "ticket"),
        score=_integer(data.get("score"), "score", 1, 5),
        reasons=tuple(reasons),
    )


def _service(device: str, data: dict[str, Any]) -> SetService:
    service = _required(data, "service")
    if "open" not in data and "cap" not in data:
        raise _Invalid("须给出 open 或 cap", "give open or cap")
    is_open = data.get("open")
    if is_open is not None and not isinstance(is_open, bool):
        raise _Invalid("open 应为 true 或 false", "open must be true or false")
    cap = data.get("cap")
    if cap is not None:
        cap = _integer(cap, "cap", 0, MAX_CAP)
    return SetService(device, service, is_open, cap, clear_cap="cap" in data and cap is None)


def _notice(device: str, data: dict[str, Any]) -> SetNotice:
    text = data.get("text")
    if text is None:
        text = ""
    if not isinstance(text, str) or len(text) > MAX_NOTICE:
        raise _Invalid(
            "text 应为不超过500字的字符串", f"text must be a string of at most {MAX_NOTICE}"
        )
    _check_text(text, "text")
    return SetNotice(device, text)


def _booking_add(device: str, data: dict[str, Any]) -> AddBooking:
    return AddBooking(
        operator=device,
        code=_matching(data, "code", BOOKING_CODE, "B7F3K2 (letters, digits, - or _)"),
        service=_required(data, "service"),
        day=_matching(data, "day", BOOKING_DAY, "2026-11-27"),
        slot=_matching(data, "slot", BOOKING_SLOT, "09:30"),
    )


def _booking_cancel(device: str, data: dict[str, Any]) -> CancelBooking:
    return CancelBooking(device, _matching(data, "code", BOOKING_CODE, "B7F3K2"))


def _alarm_note(device: str, data: dict[str, Any]) -> NoteAlarm:
    close = data.get("close", False)
    if not isinstance(close, bool):
        raise _Invalid("close 应为 true 或 false", "close must be true or false")
    text = _required(data, "text", limit=MAX_NOTICE)
    return NoteAlarm(device, _required(data, "alarm"), text, close)


def _close_case(by: str) -> Callable[[str, dict[str, Any]], CloseCase]:
    """`close_case` {case, note?} from a window or an operator (`by`: the device class)."""

    def parse(device: str, data: dict[str, Any]) -> CloseCase:
        case = _required(data, "case")
        note = _text(data, "note", limit=cases.NOTE_MAX, required=False)
        if by == "window":
            return CloseCase(case, window=device, note=note)
        return CloseCase(case, operator=device, note=note)

    return parse


C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class Op(Generic[C]):
    """One op of the contract, declared once (see the module's docstring)."""

    name: str  # the request's "op"
    device: str  # the device class that sends it: "kiosk", "window", "evaluator" or "operator"
    commands: tuple[type[C], ...]  # what `parse` may make (one type, but two for `transfer`)
    parse: Callable[[str, dict[str, Any]], C]  # (device id, request) -> command; _Invalid if bad
    handler: Callable[[Engine, C, Now], Handled]  # the engine's: hall/engine/handlers/*.py


def _op(
    name: str,
    device: str,
    commands: tuple[type[C], ...],
    parse: Callable[[str, dict[str, Any]], C],
    handler: Callable[[Engine, C, Now], Handled],
) -> Op[Any]:
    """An op; through this generic function mypy checks that its parser makes what its handler
    takes (an `Op(...)` written into the table would be checked as `Op[Any]`)."""
    return Op(name, device, commands, parse, handler)


def _table(*ops: Op[Any]) -> dict[str, dict[str, Op[Any]]]:
    """The ops by device class, then by name."""
    table: dict[str, dict[str, Op[Any]]] = {}
    for op in ops:
        by_name = table.setdefault(op.device, {})
        assert op.name not in by_name, f"op {op.name!r} of a {op.device} is declared twice"
        by_name[op.name] = op
    return table


# `transfer` makes one of two commands: typed as both, so that mypy checks its parser and handler.
_TRANSFERS: tuple[type[TransferToService | TransferToWindow], ...] = (
    TransferToService,
    TransferToWindow,
)

# fmt: off
OPS = _table(
    _op("issue", "kiosk", (IssueTicket,), _issue, kiosk.issue),
    _op("reprint", "kiosk", (Reprint,), _reprint, kiosk.reprint),
    _op("status", "kiosk", (QueryTicket,), _status, kiosk.query),
    _op("help", "kiosk", (KioskHelp,), lambda d, _: KioskHelp(d), alarms.kiosk_help),
    _op("login", "window", (Login,), _login, window.login),
    _op("logout", "window", (Logout,), lambda d, _: Logout(d), window.logout),
    _op("call_next", "window", (CallNext,), lambda d, _: CallNext(d), window.call_next),
    _op("call", "window", (CallNumber,), lambda d, p: CallNumber(d, _required(p, "number")),
        window.call_number),
    _op("recall", "window", (Recall,), lambda d, _: Recall(d), window.recall),
    _op("start", "window", (Start,), lambda d, _: Start(d), window.start),
    _op("finish", "window", (Finish,), _finish, window.finish),
    _op("no_show", "window", (NoShow,), lambda d, _: NoShow(d), window.no_show),
    _op("transfer", "window", _TRANSFERS, _transfer, window.transfer),
    _op("hold", "window", (Hold,), lambda d, _: Hold(d), window.hold),
    _op("unhold", "window", (Unhold,), lambda d, p: Unhold(d, _required(p, "ticket")),
        window.unhold),
    _op("pause", "window", (Pause,),
        lambda d, p: Pause(d, _text(p, "reason", limit=MAX_REASON, required=False)), window.pause),
    _op("resume", "window", (Resume,), lambda d, _: Resume(d), window.resume),
    _op("rate", "evaluator", (Rate,), _rate, operator.rate),
    _op("cancel", "operator", (Cancel,), lambda d, p: Cancel(d, _required(p, "ticket")),
        operator.cancel),
    _op("force_logout", "operator", (ForceLogout,),
        lambda d, p: ForceLogout(d, _required(p, "window")), operator.force_logout),
    _op("service", "operator", (SetService,), _service, operator.set_service),
    _op("notice", "operator", (SetNotice,), _notice, operator.set_notice),
    _op("booking_add", "operator", (AddBooking,), _booking_add, operator.add_booking),
    _op("booking_cancel", "operator", (CancelBooking,), _booking_cancel, operator.cancel_booking),
    _op("alarm_ack", "operator", (AckAlarm,), lambda d, p: AckAlarm(d, _required(p, "alarm")),
        alarms.ack),
    _op("alarm_note", "operator", (NoteAlarm,), _alarm_note, alarms.note),
    _op("close_case", "window", (CloseCase,), _close_case("window"), cases.close),
    _op("close_case", "operator", (CloseCase,), _close_case("operator"), cases.close),
)
# fmt: on


def _invalid(request_id: str | None, zh: str, en: str) -> RequestError:
    return RequestError(request_id, HallError("invalid_request", zh, en))


def decode_request(
    config: HallConfig, device_class: str, device_id: str, payload: bytes
) -> Request:
    """The command a device's request asks for; RequestError (and nothing else) if it cannot be one."""
    try:
        return _decode(config, device_class, device_id, payload)
    except RequestError:
        raise
    except Exception as exc:  # a bug here must not stop the hall: answer it as a bad request
        log.exception("decoding a %s request from %s failed", device_class, device_id)
        raise _invalid(
            None, "请求无法处理", f"request could not be decoded: {type(exc).__name__}"
        ) from exc


def _decode(config: HallConfig, device_class: str, device_id: str, payload: bytes) -> Request:
    if len(payload) > MAX_PAYLOAD:
        raise _invalid(None, "请求太大", f"a request has at most {MAX_PAYLOAD} bytes")
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        raise _invalid(None, "请求不是有效的JSON", "the request is not JSON") from None
    if not isinstance(data, dict):
        raise _invalid(None, "请求应为JSON对象", "the request must be a JSON object")
    request_id = data.get("id")
    if not valid_request_id(request_id):
        raise _invalid(None, "请求缺少有效的 id", "the request needs an id of 1-64 characters")
    assert isinstance(request_id, str)
    try:
        if device_class not in OPS:  # a display, a bridge ... sends no requests of its own
            raise HallError(
                "unknown_device", "该类设备不能发请求", f"a {device_class} sends no requests"
            )
        check_device(config, device_class, device_id)
    except HallError as unknown:
        raise RequestError(request_id, unknown) from None
    version = data.get("v", VERSION)
    if type(version) is not int or version != VERSION:
        raise _invalid(request_id, "不支持的协议版本", f"contract version must be {VERSION}")
    op = data.get("op")
    if not isinstance(op, str):
        raise _invalid(request_id, "请求缺少 op", "the request needs an op")
    declared = OPS.get(device_class, {}).get(op)
    if declared is None:
        raise RequestError(
            request_id,
            HallError("unknown_op", "不支持的操作", f"{device_class} has no op {op[:MAX_ID]!r}"),
        )
    try:
        command: Command = declared.parse(device_id, data)
    except _Invalid as bad:
        raise _invalid(request_id, bad.zh, bad.en) from None
    return Request(request_id, command, op)
