"""The hall's clocks and the `--clock` / HALLQ_CLOCK spec."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hall.store.clock import (
    ClockSpecError,
    FixedClock,
    ScaledClock,
    SystemClock,
    parse_clock_spec,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


class FakeMonotonic:
    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


def test_system_clock_is_aware_and_in_the_hall_zone() -> None:
    now = SystemClock("Asia/Shanghai").now()
    assert now.utcoffset() == timedelta(hours=8)
    assert abs((now - datetime.now(SHANGHAI)).total_seconds()) < 5


def test_fixed_clock_stands_still_until_moved() -> None:
    clock = FixedClock(datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI))
    assert clock.now() == clock.now() == datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)
    assert clock.advance(minutes=5) == datetime(2026, 11, 26, 9, 5, tzinfo=SHANGHAI)
    clock.advance(timedelta(hours=1))
    assert clock.now().hour == 10
    clock.set(datetime(2026, 11, 27, 1, 0, tzinfo=ZoneInfo("UTC")))
    assert clock.now() == datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI)
    assert clock.now().utcoffset() == timedelta(hours=8)


def test_fixed_clock_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="time zone"):
        FixedClock(datetime(2026, 11, 26, 9, 0))


def test_scaled_clock_runs_at_its_speed_from_its_start() -> None:
    tick = FakeMonotonic()
    clock = ScaledClock(datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI), 60, monotonic=tick)
    assert clock.now() == datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)
    tick.value += 10  # ten real seconds: ten hall minutes
    assert clock.now() == datetime(2026, 11, 26, 9, 10, tzinfo=SHANGHAI)


def test_scaled_clock_refuses_a_speed_of_zero() -> None:
    with pytest.raises(ValueError, match="speed"):
        ScaledClock(datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI), 0)


@pytest.mark.parametrize(
    ("spec", "start", "speed"),
    [
        ("2026-11-26T09:00+08:00x60", datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI), 60.0),
        ("2026-11-26T09:00+08:00", datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI), 1.0),
        ("2026-11-26T09:00", datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI), 1.0),
        ("2026-11-26 09:30:15x2.5", datetime(2026, 11, 26, 9, 30, 15, tzinfo=SHANGHAI), 2.5),
        ("2026-11-26T01:00Z", datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI), 1.0),
    ],
)
def test_clock_spec_gives_a_start_and_a_speed(spec: str, start: datetime, speed: float) -> None:
    clock = parse_clock_spec(spec, "Asia/Shanghai")
    assert isinstance(clock, ScaledClock)
    assert clock.start == start
    assert clock.start.utcoffset() == timedelta(hours=8)
    assert clock.speed == speed
    assert abs((clock.now() - start).total_seconds()) < 5 * speed


def test_clock_spec_with_only_a_speed_starts_now() -> None:
    clock = parse_clock_spec("x60", SHANGHAI)
    assert isinstance(clock, ScaledClock)
    assert clock.speed == 60
    assert abs((clock.start - datetime.now(SHANGHAI)).total_seconds()) < 5


def test_empty_clock_spec_is_real_time() -> None:
    assert isinstance(parse_clock_spec("", SHANGHAI), SystemClock)


@pytest.mark.parametrize("spec", ["tomorrow", "2026-13-01T09:00", "2026-11-26T09:00x", "x0"])
def test_bad_clock_spec_says_what_to_give(spec: str) -> None:
    with pytest.raises(ClockSpecError, match=r"2026-11-26T09:00\+08:00|above 0"):
        parse_clock_spec(spec, SHANGHAI)
