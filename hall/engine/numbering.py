"""Ticket numbers and ids.

A number is the issuing department's prefix and its daily sequence, zero-padded to
`limits.number_width` and growing past it (`A001`, `AB017`, `A1000`); unique per department per
business day because the sequence only ever goes up within a day. An id adds the business day
(`20261126-A012`), and prefixes are unique in the config, so ids are unique for ever.
"""

from __future__ import annotations

import re
from datetime import date

NUMBER_RE = re.compile(r"^([A-Z]{1,3})([0-9]+)$")


def format_number(prefix: str, seq: int, width: int) -> str:
    if seq < 1:
        raise ValueError(f"a daily sequence starts at 1, got {seq}")
    return f"{prefix}{seq:0{width}d}"


def ticket_id(business_day: date, number: str) -> str:
    return f"{business_day:%Y%m%d}-{number}"


def normalize_number(text: str) -> str:
    """A number as a clerk may type it (` a12 `) in the form tickets carry (`A12`); padding is kept."""
    return text.strip().upper()


def split_number(number: str) -> tuple[str, int] | None:
    """(prefix, sequence) of a well-formed number, or None."""
    match = NUMBER_RE.match(number)
    if match is None:
        return None
    return match.group(1), int(match.group(2))
