"""The contract's error codes and the one exception the engine raises to refuse a command."""

from __future__ import annotations

ERROR_CODES = frozenset(
    {
        "invalid_request", "unknown_op", "unknown_device", "forbidden", "rate_limited",
        "storage_error", "unknown_service", "unknown_ticket", "unknown_window", "unknown_clerk",
        "service_closed", "outside_hours", "quota_reached", "appointment_required",
        "unknown_booking", "booking_used", "booking_wrong_day", "reprint_limit", "queue_empty",
        "wrong_pin", "not_logged_in", "already_logged_in", "window_paused", "no_current_ticket",
        "invalid_transition", "recall_limit", "not_rateable", "already_rated",
    }
)  # fmt: skip


class HallError(Exception):
    """A refused request: a contract error code and a message in Chinese and English."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"not a contract error code: {code!r}")
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en

    def message(self, language: str) -> str:
        # The contract: Chinese, with English where the hall language is English.
        return f"{self.message_zh} ({self.message_en})" if language == "en" else self.message_zh
