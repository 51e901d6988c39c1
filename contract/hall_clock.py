"""Following the hall's clock from its retained `clock` topic (the extension in docs/protocol.md).

The hall may run on a scaled clock (`hallq server --clock 2026-11-26T09:00+08:00x60`): a simulated
visitor's ten minutes at a window are then ten seconds of real time. The hall publishes
`{"v":1,"at":…,"speed":S,"unix":U}` (its clock read `at` at real time `unix` and runs S times real
time); this follower turns that into `now()` and waits measured in hall time.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

log = logging.getLogger(__name__)

MAX_SLICE = 0.25  # real seconds: a wait looks at the clock again this often (it may change)


@dataclass(frozen=True)
class ClockReading:
    at: datetime  # the hall's time ...
    unix: float  # ... at this real (UTC wall clock) time
    speed: float  # hall seconds per real second (0: the hall's clock stands still)


def parse_clock(value: dict[str, Any] | None) -> ClockReading | None:
    """A `clock` payload, or None if it is not one (an old hall, a cleared topic)."""
    if not isinstance(value, dict):
        return None
    try:
        at = datetime.fromisoformat(str(value["at"]))
        speed = float(value["speed"])
        unix = float(value["unix"])
    except (KeyError, TypeError, ValueError):
        return None
    if at.tzinfo is None or speed < 0:
        return None
    return ClockReading(at, unix, speed)


class HallClock:
    """The hall's time as the last `clock` message tells it; real time in `tz` until one arrives
    (or at `fallback_speed` times real time, from when this object was made)."""

    def __init__(self, tz: tzinfo, fallback_speed: float = 1.0) -> None:
        self.tz = tz
        self._lock = threading.Lock()
        self._received = threading.Event()
        now = time.time()
        self._reading = ClockReading(datetime.now(tz), now, fallback_speed)

    def on_clock(self, topic: str, value: dict[str, Any] | None) -> None:
        """subscribe_json callback for the `clock` topic."""
        reading = parse_clock(value)
        if reading is None:
            return
        with self._lock:
            old = self._reading
            self._reading = reading
        if not self._received.is_set() or old.speed != reading.speed:
            log.info("hall clock: %s, speed %g", reading.at.isoformat(), reading.speed)
        self._received.set()

    def wait_received(self, timeout: float) -> bool:
        return self._received.wait(timeout)

    @property
    def received(self) -> bool:
        return self._received.is_set()

    @property
    def speed(self) -> float:
        with self._lock:
            return self._reading.speed

    def now(self) -> datetime:
        with self._lock:
            reading = self._reading
        elapsed = (time.time() - reading.unix) * reading.speed
        return (reading.at + timedelta(seconds=elapsed)).astimezone(self.tz)

    def real_seconds(self, hall_seconds: float) -> float:
        """How long `hall_seconds` of hall time last in real time now (inf if the clock stands)."""
        speed = self.speed
        return hall_seconds / speed if speed > 0 else float("inf")

    def sleep_until(self, target: datetime, stop: threading.Event) -> bool:
        """Wait until the hall's clock reads `target`; False if `stop` was set first. The clock is
        read again every MAX_SLICE, so a hall restarted on another clock is followed."""
        while not stop.is_set():
            remaining = (target - self.now()).total_seconds()
            if remaining <= 0:
                return True
            stop.wait(min(self.real_seconds(remaining), MAX_SLICE))
        return False

    def sleep(self, hall_seconds: float, stop: threading.Event) -> bool:
        """Wait `hall_seconds` of hall time; False if `stop` was set first."""
        return self.sleep_until(self.now() + timedelta(seconds=hall_seconds), stop)
