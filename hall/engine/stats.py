"""The retained `stats` payload (docs/protocol.md): the business day's figures per window, per clerk
and per service, for the sunshine page (阳光公示), the window terminals and the monitoring room.

A pure function of the engine's state and `now`: no I/O, no clock of its own. A service time runs
from the start (or the call, if the clerk never pressed start) to the finish; a ticket held and
called back counts from the call-back, so held time is excluded (the engine's own rule for its
estimates).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from contract.protocol import VERSION, iso
from hall.engine.model import DONE, Ticket

if TYPE_CHECKING:
    from hall.engine.engine import Engine

# The evaluator's five levels (score -> name); the good ones are 非常满意, 满意 and 基本满意.
LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
GOOD = frozenset({5, 4, 3})


@dataclass
class Figures:
    served: int = 0
    seconds: int = 0
    ratings: dict[int, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    clerks: set[str] = field(default_factory=set)

    def add(self, ticket: Ticket, seconds: int) -> None:
        self.served += 1
        self.seconds += seconds
        if ticket.score in self.ratings:
            self.ratings[ticket.score] += 1
        if ticket.clerk:
            self.clerks.add(ticket.clerk)

    def as_json(self, with_clerks: bool) -> dict[str, Any]:
        rated = sum(self.ratings.values())
        good = sum(n for score, n in self.ratings.items() if score in GOOD)
        body: dict[str, Any] = {
            "served": self.served,
            "mean_service_s": round(self.seconds / self.served) if self.served else None,
            "ratings": {str(score): self.ratings[score] for score in sorted(self.ratings)},
            "rated": rated,
            "good_share": round(good / rated, 4) if rated else None,
        }
        if with_clerks:
            body["clerks"] = sorted(self.clerks)
        return body


def service_seconds(ticket: Ticket) -> int | None:
    """How long a done ticket was served (held time excluded), or None if it cannot be told."""
    if ticket.done_at is None:
        return None
    began = ticket.started_ts if ticket.started_ts is not None else ticket.called_ts
    if began is None:
        return None
    return max(0, int(datetime.fromisoformat(ticket.done_at).timestamp()) - began)


def stats(engine: Engine, now: datetime) -> dict[str, Any]:
    """The `stats` payload of the business day at `now`."""
    by: dict[str, dict[str, Figures]] = {
        "windows": defaultdict(Figures),
        "clerks": defaultdict(Figures),
        "services": defaultdict(Figures),
    }
    for ticket in engine.state.tickets.values():
        if ticket.status != DONE:
            continue
        seconds = service_seconds(ticket)
        if seconds is None:
            continue
        if ticket.window:
            by["windows"][ticket.window].add(ticket, seconds)
        if ticket.clerk:
            by["clerks"][ticket.clerk].add(ticket, seconds)
        by["services"][ticket.service].add(ticket, seconds)
    day = engine.state.business_day
    return {
        "v": VERSION,
        "at": iso(now),
        "business_day": day.isoformat() if day else None,
        "levels": {str(score): name for score, name in sorted(LEVELS.items())},
        "windows": {
            w.id: by["windows"][w.id].as_json(with_clerks=True) for w in engine.config.windows
        },
        "clerks": {cid: f.as_json(with_clerks=False) for cid, f in sorted(by["clerks"].items())},
        "services": {
            s.code: by["services"][s.code].as_json(with_clerks=False)
            for s in engine.config.services
        },
    }
