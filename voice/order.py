"""Which calls an announcer says, in `seq` order, each once: also when the retained `board` or a
repeated `calls` message is replayed, and across a restart of the announcer (its `Heard` is saved).

Pure: no I/O besides `HeardFile`. The `calls` messages of a business day carry `seq` 1, 2, 3 ...
(the hall publishes them in order; a broker restart or the hall's outbox may deliver one twice).
The business day is the prefix of the ticket id (`20261126-A001`); a new day starts from nothing.
The retained `board` (`seq` of its newest call, `recent` calls) fills a gap: calls missed while the
announcer was away are said if they are at most `catch_up_seconds` older than the board, and
otherwise only marked heard (a visitor called ten minutes ago has gone to the window, or left).
On its very first start an announcer says nothing of the day's history: the board sets its floor.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

KEEP = 500  # seqs remembered one by one; older ones are below the floor


@dataclass
class Heard:
    """What an announcer has taken in of a business day (saved across restarts)."""

    day: str = ""  # "20261126"; empty: nothing heard yet, ever
    floor: int = 0  # every seq <= floor is heard
    seen: set[int] = field(default_factory=set)  # seqs above the floor that were heard

    def has(self, seq: int) -> bool:
        return seq <= self.floor or seq in self.seen

    def add(self, seq: int) -> None:
        self.seen.add(seq)
        while len(self.seen) > KEEP:
            lowest = min(self.seen)
            self.seen.discard(lowest)
            self.floor = max(self.floor, lowest)

    def as_json(self) -> dict[str, Any]:
        return {"v": 1, "day": self.day, "floor": self.floor, "seen": sorted(self.seen)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Heard:
        return cls(str(data["day"]), int(data["floor"]), {int(s) for s in data["seen"]})


def day_of(call: dict[str, Any]) -> str:
    """The business day of a `calls` message: its ticket id's prefix (else the date of `at`)."""
    ticket = call.get("ticket") if isinstance(call.get("ticket"), dict) else {}
    ticket_id = str((ticket or {}).get("id", ""))
    if "-" in ticket_id and ticket_id.split("-", 1)[0].isdigit():
        return ticket_id.split("-", 1)[0]
    return str(call.get("at", ""))[:10].replace("-", "")


def _seq(message: dict[str, Any]) -> int | None:
    seq = message.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0 else None


def _at(message: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(message.get("at")))
    except ValueError:
        return None


class CallOrder:
    """Feed it every `calls` and `board` message; it returns the calls to say, in order."""

    def __init__(self, heard: Heard | None = None, catch_up_seconds: float = 30.0) -> None:
        self.heard = heard if heard is not None else Heard()
        self.catch_up_seconds = catch_up_seconds

    def _day(self, day: str) -> bool:
        """False for a call of an earlier day; a later day starts afresh."""
        if not day:
            return True  # cannot tell: judge it by its seq
        if self.heard.day and day < self.heard.day:
            return False
        if day != self.heard.day:
            if self.heard.day:
                log.info("business day %s: starting from seq 0", day)
            self.heard = Heard(day)
        return True

    def on_call(self, call: dict[str, Any]) -> list[dict[str, Any]]:
        seq = _seq(call)
        if seq is None or not self._day(day_of(call)) or self.heard.has(seq):
            return []
        self.heard.add(seq)
        return [call]

    def on_board(self, board: dict[str, Any]) -> list[dict[str, Any]]:
        seq = _seq(board)
        recent = board.get("recent") if isinstance(board.get("recent"), list) else []
        calls = sorted(
            (c for c in recent or [] if isinstance(c, dict) and _seq(c) is not None),
            key=lambda c: _seq(c) or 0,
        )
        if seq is None:
            return []
        first_start = not self.heard.day
        day = day_of(calls[-1]) if calls else ""
        if not self._day(day):
            return []
        if first_start:  # the history of the day before this announcer existed: not said
            self.heard.floor = max(self.heard.floor, seq)
            return []
        board_at = _at(board)
        out: list[dict[str, Any]] = []
        for call in calls:
            call_seq = _seq(call)
            assert call_seq is not None
            if day_of(call) != self.heard.day or self.heard.has(call_seq):
                continue
            self.heard.add(call_seq)
            at = _at(call)
            age = (board_at - at).total_seconds() if board_at and at else None
            if age is not None and age <= self.catch_up_seconds:
                out.append(call)
            else:
                log.info("call seq %d (%s): missed %s s ago: not said", call_seq,
                         call.get("ticket", {}).get("number"), age)  # fmt: skip
        # Calls older than the board's recent list are past: below the floor.
        if calls:
            self.heard.floor = max(self.heard.floor, (_seq(calls[0]) or 1) - 1)
        elif seq > self.heard.floor and not self.heard.seen:
            self.heard.floor = seq
        return out


class HeardFile:
    """`Heard` in a small JSON file, replaced atomically on each save."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Heard:
        try:
            return Heard.from_json(json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return Heard()
        except (ValueError, KeyError, TypeError) as exc:
            # Unreadable: start as on a first start (say nothing of the past), and say so.
            log.warning("%s: unreadable (%s): starting as if new", self.path, exc)
            return Heard()

    def save(self, heard: Heard) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f".{self.path.name}.tmp")
        temp.write_text(json.dumps(heard.as_json()), encoding="utf-8")
        os.replace(temp, self.path)
