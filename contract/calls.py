"""Calls in order, for every screen that shows or announces them (display, LED bridge, terminal).

The hall numbers its calls with `seq` (1, 2, 3 … per business day) and may send one twice (after a
crash it republishes what the broker had not acknowledged). `board` is the whole picture, with the
`seq` of the newest call in it. A screen feeds both to one CallSequence:

    sequence = CallSequence(redraw=lambda: draw(latest_board))
    if sequence.on_call(call): announce(call)       # a new call, in order
    if sequence.on_board(board): draw(board)        # not older than what is shown

It drops a `seq` already shown, and when a call skips a `seq` (a call was missed while the screen was
away) it still shows it but asks for a redraw from `board`, where the missed ones are. The day comes
from the ticket id (`20261126-A001`), so the hall's rollover (seq starts again at 1) is a new day,
not a call from the past. Pure: no clock, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_TICKET_DAY = re.compile(r"^(\d{4})(\d{2})(\d{2})-")


def _day_of_ticket(ticket: Any) -> str | None:
    if isinstance(ticket, dict):
        match = _TICKET_DAY.match(str(ticket.get("id", "")))
        if match:
            return f"{match[1]}-{match[2]}-{match[3]}"
    return None


def call_day(call: dict[str, Any]) -> str | None:
    """The business day (YYYY-MM-DD) of a `calls` message: its ticket's, else the date of `at`."""
    day = _day_of_ticket(call.get("ticket"))
    if day is None and isinstance(call.get("at"), str):
        day = call["at"][:10]
    return day


def board_day(board: dict[str, Any]) -> str | None:
    """The business day of a `board`: `business_day` if it says so, else its newest call's, else
    the date of `at` (a board before the day's first call)."""
    day = board.get("business_day")
    if isinstance(day, str):
        return day
    recent = board.get("recent")
    if isinstance(recent, list) and recent and isinstance(recent[0], dict):
        day = call_day(recent[0])
        if day is not None:
            return day
    at = board.get("at")
    return at[:10] if isinstance(at, str) else None


def _seq(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class CallSequence:
    """Which `calls` to show and which `board`s to draw; `redraw()` when a call was missed."""

    def __init__(self, redraw: Callable[[], None]) -> None:
        self._redraw = redraw
        self.day: str | None = None
        self.seq: int | None = None  # the newest seq shown or drawn on `day`

    def on_call(self, call: dict[str, Any]) -> bool:
        """True: a new call, show it. False: already shown, older, or not a call."""
        seq, day = _seq(call.get("seq")), call_day(call) or self.day
        if seq is None or seq == 0:
            return False
        if self.seq is not None and day is not None and self.day is not None:
            if day < self.day:
                return False  # the day before the rollover
            if day == self.day and seq <= self.seq:
                return False  # shown already (a repeat after a crash, or older)
        expected = 1 if self.seq is None or day != self.day else self.seq + 1
        missed = self.seq is not None and seq != expected
        self.day, self.seq = day, seq
        if missed:
            self._redraw()
        return True

    def on_board(self, board: dict[str, Any]) -> bool:
        """True: draw this board (it is not older than what is shown); its calls count as shown."""
        seq, day = _seq(board.get("seq")), board_day(board) or self.day
        if seq is None:
            return False
        known = self.seq is not None and day is not None and self.day is not None
        if known and (day < self.day or (day == self.day and seq < self.seq)):  # type: ignore[operator]
            return False  # an older picture (a board that crossed a newer call)
        self.day, self.seq = day, seq
        return True
