"""The one exception the engine raises to refuse a command, and the answer it becomes."""

from __future__ import annotations

from contract.protocol import ERROR_CODES, error


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


def error_from(request_id: str | None, exc: HallError, language: str) -> bytes:
    """The answer bytes that refuse a request with `exc`, in the hall's language."""
    return error(request_id, exc.code, exc.message(language))
