"""The demo's closing summary for a hall manager: the day as the hall recorded it.

Read from the hall server's own store once it has stopped (every event it committed), not from
the simulation's view: tickets issued and served, the waits from ticket to call, the visitors'
ratings by level, the busiest departments. The developers' figures (answer times, refusals) are
the simulation's summary, shown with `hallq demo --details`.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from hall.config.schema import HallConfig
from hall.engine.model import (
    AlarmAcked,
    AlarmCleared,
    AlarmNoted,
    AlarmRaised,
    TicketCalled,
    TicketCancelled,
    TicketDone,
    TicketIssued,
    TicketNoShow,
    TicketRated,
    event_from_dict,
)
from hall.store.store import db_path

# The evaluators' five levels, best first (docs/protocol.md "Evaluator").
LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


@dataclass
class HallDay:
    """What the hall recorded, counted."""

    first: datetime | None = None
    last: datetime | None = None
    issued: dict[str, TicketIssued] = field(default_factory=dict)  # by ticket id
    waits: dict[str, float] = field(default_factory=dict)  # ticket id -> minutes to its first call
    served: int = 0
    no_show: int = 0
    cancelled: int = 0
    ratings: Counter[int] = field(default_factory=Counter)


def read_day(data_dir: Path) -> HallDay:
    """Every event of the store in `data_dir`, read-only (the hall server has stopped)."""
    day = HallDay()
    path = db_path(data_dir)
    if not path.is_file():
        return day
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT body FROM events ORDER BY id").fetchall()
    finally:
        db.close()
    for (body,) in rows:
        try:
            event = event_from_dict(json.loads(body))
        except (ValueError, KeyError, TypeError):
            continue  # a kind of event this summary does not count
        if isinstance(event, AlarmRaised | AlarmCleared | AlarmAcked | AlarmNoted):
            continue  # the monitoring room's follow-up, not the visitors' day
        at = datetime.fromisoformat(event.at)
        day.first = day.first or at
        day.last = at
        if isinstance(event, TicketIssued):
            day.issued[event.ticket] = event
        elif isinstance(event, TicketCalled) and event.ticket not in day.waits:
            issued_at = datetime.fromisoformat(event.issued_at)
            day.waits[event.ticket] = (at - issued_at).total_seconds() / 60
        elif isinstance(event, TicketDone):
            day.served += 1
        elif isinstance(event, TicketNoShow):
            day.no_show += 1
        elif isinstance(event, TicketCancelled):
            day.cancelled += 1
        elif isinstance(event, TicketRated):
            day.ratings[event.score] += 1
    return day


def summary(day: HallDay, config: HallConfig) -> list[str]:
    """The hall manager's lines (without indentation)."""
    if not day.issued or day.first is None or day.last is None:
        return ["no ticket was issued"]
    services = {s.code: s.name_zh for s in config.services}
    departments = {d.code: d.name_zh for d in config.departments}
    never_called = [t for t in day.issued.values() if t.ticket not in day.waits]
    at_windows = len(day.issued) - day.served - day.no_show - day.cancelled - len(never_called)
    lines = [
        f"hall time {day.first:%H:%M}-{day.last:%H:%M} ({day.first:%a %Y-%m-%d})",
        f"tickets issued {len(day.issued)}: served {day.served}, no-show {day.no_show}, "
        f"cancelled {day.cancelled}; at a window when it stopped {max(at_windows, 0)}, "
        f"still waiting {len(never_called)}",
    ]
    if day.waits:
        longest = max(day.waits, key=lambda t: day.waits[t])
        ticket = day.issued.get(longest)
        what = (
            f" ({ticket.number} {services.get(ticket.service, ticket.service)})" if ticket else ""
        )
        average = sum(day.waits.values()) / len(day.waits)
        lines.append(
            f"wait from ticket to call: {average:.0f} min on average, longest "
            f"{day.waits[longest]:.0f} min{what}"
        )
    if never_called:
        oldest = min(never_called, key=lambda t: t.order)
        waited = (day.last - datetime.fromisoformat(oldest.at)).total_seconds() / 60
        lines.append(f"the longest still waiting: {oldest.number}, {waited:.0f} min so far")
    rated = sum(day.ratings.values())
    if rated:
        satisfied = day.ratings[5] + day.ratings[4] + day.ratings[3]
        levels = ", ".join(f"{name} {day.ratings[score]}" for score, name in LEVELS.items())
        lines.append(
            f"ratings {rated} of {day.served} served: {levels} "
            f"({satisfied * 100 // rated}% basically satisfied or better)"
        )
    else:
        lines.append("ratings: none yet")
    busiest = Counter(t.department for t in day.issued.values()).most_common(3)
    lines.append("most tickets: " + ", ".join(f"{departments.get(d, d)} {n}" for d, n in busiest))
    return lines
