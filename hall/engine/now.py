"""The engine's view of time: business days, event times as epoch seconds, one command's `now`.

The engine never reads a clock: every command comes with its `now` (tz-aware) and every event
carries its `at`, so these are the only conversions it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from hall.config.schema import Site


def business_day_of(now: datetime, site: Site) -> date:
    """The business day `now` falls in: it changes at `site.rollover`, local time in the hall's zone."""
    if now.tzinfo is None:
        raise ValueError("the engine is given tz-aware times: got a naive datetime")
    local = now.astimezone(site.zone)
    if local.time() < site.rollover:
        return local.date() - timedelta(days=1)
    return local.date()


def timestamp(at: str) -> int:
    """Epoch seconds of an event's ISO time (events carry seconds, so this is exact)."""
    return int(datetime.fromisoformat(at).timestamp())


@dataclass(frozen=True, slots=True)
class Now:
    """The time of one command, in the forms the handlers need."""

    dt: datetime  # in the hall's zone
    at: str  # ISO, as events carry it
    ts: int  # epoch seconds of `at`
