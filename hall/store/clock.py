"""The hall's time: real, fixed (tests) or scaled (demos that run a day in minutes).

The engine never reads a clock; whoever drives it (HallCore) asks a `Clock` for `now()` and passes the
answer in. Every clock gives an aware datetime in the hall's time zone.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime:
        """The hall's current time, tz-aware, in the hall's zone."""
        ...


def _zone(tz: tzinfo | str) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _aware(at: datetime, what: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must carry a time zone: got the naive {at.isoformat()}")
    return at


class SystemClock:
    """Real time, in the hall's zone."""

    def __init__(self, tz: tzinfo | str) -> None:
        self.tz = _zone(tz)

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def __repr__(self) -> str:
        return f"SystemClock({self.tz})"


class FixedClock:
    """A clock that stands still until told otherwise: `set()` or `advance()`. For tests."""

    def __init__(self, at: datetime, tz: tzinfo | str | None = None) -> None:
        self.tz = _zone(tz) if tz is not None else _aware(at, "a fixed clock's time").tzinfo
        self._at = _aware(at, "a fixed clock's time").astimezone(self.tz)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = _aware(at, "a fixed clock's time").astimezone(self.tz)

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move on by `delta` or by timedelta keywords (`advance(minutes=5)`); returns the new time."""
        self._at = self._at + (delta if delta is not None else timedelta(**parts))
        return self._at

    def __repr__(self) -> str:
        return f"FixedClock({self._at.isoformat()})"


class ScaledClock:
    """Starts at `start` (hall time) when made, and runs on at `speed` times real time.

    Based on a monotonic source, so a change of the machine's wall clock does not make the hall's time
    jump; `speed=60` plays a hall day in 24 minutes.
    """

    def __init__(
        self,
        start: datetime,
        speed: float = 1.0,
        tz: tzinfo | str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"a clock's speed must be above 0: got {speed}")
        self.tz = _zone(tz) if tz is not None else _aware(start, "a clock's start").tzinfo
        self.start = _aware(start, "a clock's start").astimezone(self.tz)
        self.speed = speed
        self._monotonic = monotonic
        self._origin = monotonic()

    def now(self) -> datetime:
        elapsed = (self._monotonic() - self._origin) * self.speed
        return (self.start + timedelta(seconds=elapsed)).astimezone(self.tz)

    def __repr__(self) -> str:
        return f"ScaledClock(start={self.start.isoformat()}, speed={self.speed:g})"


# `2026-11-26T09:00+08:00x60`: an ISO start (offset optional: the hall's zone then), an optional speed.
_SPEC = re.compile(r"^\s*(?P<start>[^x]*?)\s*(?:x\s*(?P<speed>[0-9]+(?:\.[0-9]+)?))?\s*$")


class ClockSpecError(ValueError):
    pass


def parse_clock_spec(text: str, tz: tzinfo | str) -> Clock:
    """The clock of `--clock SPEC` / HALLQ_CLOCK.

    `2026-11-26T09:00+08:00` starts the hall there and runs on in real time; `…x60` runs 60 times as
    fast; a start without an offset is read in the hall's zone; `x60` alone starts now. An empty spec is
    the system clock.
    """
    zone = _zone(tz)
    if not text.strip():
        return SystemClock(zone)
    match = _SPEC.match(text)
    if match is None:
        raise ClockSpecError(_clock_help(text))
    speed = float(match["speed"]) if match["speed"] else 1.0
    if speed <= 0:
        raise ClockSpecError(f"clock {text!r}: the speed after 'x' must be above 0")
    start_text = match["start"]
    if not start_text:
        start = datetime.now(zone)
    else:
        try:
            start = datetime.fromisoformat(start_text)
        except ValueError:
            raise ClockSpecError(_clock_help(text)) from None
        start = start.replace(tzinfo=zone) if start.tzinfo is None else start
    return ScaledClock(start, speed, zone)


def _clock_help(text: str) -> str:
    return (
        f"clock {text!r} is not understood: give a start time and an optional speed, "
        "e.g. 2026-11-26T09:00+08:00 or 2026-11-26T09:00+08:00x60"
    )
