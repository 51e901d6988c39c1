"""Payload encoding of the contract: the JSON form, the answer envelope, error codes, times.

Answers are stored as bytes and replayed byte-identical, so there is exactly one encoder.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

VERSION = 1
ID_MAX = 64

# Every error code of the contract (docs/protocol.md); an answer never carries another.
ERROR_CODES = frozenset(
    {
        "invalid_request", "unknown_op", "unknown_device", "forbidden", "rate_limited",
        "storage_error", "unknown_service", "unknown_ticket", "unknown_window", "unknown_clerk",
        "service_closed", "outside_hours", "quota_reached", "appointment_required",
        "unknown_booking", "booking_used", "booking_wrong_day", "reprint_limit", "queue_empty",
        "wrong_pin", "not_logged_in", "already_logged_in", "window_paused", "no_current_ticket",
        "invalid_transition", "recall_limit", "not_rateable", "already_rated", "expired",
        "unknown_alarm", "unknown_case", "case_closed",
    }
)  # fmt: skip


# json.dumps with these options builds a new JSONEncoder for every call; this one, built once,
# gives the same text (it keeps no state between calls, so threads may share it).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dumps(payload: dict[str, Any]) -> bytes:
    """The one JSON encoding of every payload hallq publishes (compact, UTF-8, not ASCII-escaped)."""
    return _ENCODER.encode(payload).encode("utf-8")


def dumps_text(payload: dict[str, Any]) -> str:
    """The same encoding as text (the hall's store keeps its events and snapshots so)."""
    return _ENCODER.encode(payload)


def iso(at: datetime) -> str:
    """ISO 8601 with the offset of the hall's time zone, to the second: 2026-11-26T09:03:12+08:00."""
    if at.tzinfo is None:
        raise ValueError("times on the wire carry the hall's offset: got a naive datetime")
    return at.replace(microsecond=0).isoformat()


def encodable(text: str) -> bool:
    """JSON may carry lone surrogates ("\\ud800") that no UTF-8 answer can echo back."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def valid_request_id(value: Any) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= ID_MAX and encodable(value)


def ok(request_id: str | None, result: dict[str, Any]) -> bytes:
    return dumps({"v": VERSION, "id": request_id, "ok": True, "result": result})


def error(request_id: str | None, code: str, message: str) -> bytes:
    return dumps(
        {"v": VERSION, "id": request_id, "ok": False, "error": {"code": code, "message": message}}
    )
