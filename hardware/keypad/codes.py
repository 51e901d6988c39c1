"""What a keypad shows when the hall refuses: `E` and two digits (docs/hardware-serial.md has the
table). The numbers follow the order of the contract's error codes in docs/protocol.md ("Error
codes"); they are part of the documented behaviour: never renumber, only append."""

from __future__ import annotations

ERROR_NUMBERS: dict[str, int] = {
    "invalid_request": 1,
    "unknown_op": 2,
    "unknown_device": 3,
    "forbidden": 4,
    "rate_limited": 5,
    "storage_error": 6,
    "unknown_service": 7,
    "unknown_ticket": 8,
    "unknown_window": 9,
    "unknown_clerk": 10,
    "service_closed": 11,
    "outside_hours": 12,
    "quota_reached": 13,
    "appointment_required": 14,
    "unknown_booking": 15,
    "booking_used": 16,
    "booking_wrong_day": 17,
    "reprint_limit": 18,
    "queue_empty": 19,
    "wrong_pin": 20,
    "not_logged_in": 21,
    "already_logged_in": 22,
    "window_paused": 23,
    "no_current_ticket": 24,
    "invalid_transition": 25,
    "recall_limit": 26,
    "not_rateable": 27,
    "already_rated": 28,
    "expired": 29,
    "unknown_alarm": 30,
    "unknown_case": 31,
    "case_closed": 32,
}
OTHER = 99  # a code the project added after this table: the log line names it


def error_display(code: str) -> str:
    """'E19' for queue_empty."""
    return f"E{ERROR_NUMBERS.get(code, OTHER):02d}"
