"""The working calendar: weekends, holidays, make-up working days (调休), and span edges."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from hall.config.calendar import Calendar, Span, is_open, spans_on, weekdays_of

TZ = ZoneInfo("Asia/Shanghai")
# China 2026: National Day 10-01..10-07 off; Saturday 10-10 and Sunday 09-20 are working days.
CAL = Calendar.model_validate(
    {
        "years": [
            {
                "year": 2026,
                "holidays": ["2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"],
                "workdays": ["2026-09-20", "2026-10-10"],
            }
        ],
        "hours": [
            {"days": "mon-fri", "from": "09:00", "to": "12:00"},
            {"days": "mon-fri", "from": "13:30", "to": "17:00"},
            {"days": "sat", "from": "09:00", "to": "12:00"},
        ],
        "weekend": ["sat", "sun"],
    }
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def test_weekday_specs() -> None:
    assert weekdays_of("mon-fri") == {0, 1, 2, 3, 4}
    assert weekdays_of("sat") == {5}
    assert weekdays_of("mon,wed-thu") == {0, 2, 3}
    assert weekdays_of("sat-mon") == {5, 6, 0}


def test_working_days() -> None:
    assert CAL.is_working_day(date(2026, 11, 26))  # a Thursday
    assert not CAL.is_working_day(date(2026, 11, 28))  # a Saturday
    assert not CAL.is_working_day(date(2026, 10, 5))  # a Monday in the National Day holiday
    assert CAL.is_working_day(date(2026, 10, 10))  # make-up Saturday
    assert CAL.is_working_day(date(2026, 9, 20))  # make-up Sunday


@given(
    day=st.dates(min_value=date(2026, 9, 1), max_value=date(2026, 10, 31)),
    n=st.integers(min_value=0, max_value=40),
)
def test_the_nth_working_day_after_is_counted_then_remembered(day: date, n: int) -> None:
    walked, current = 0, day
    while walked < n:
        current += timedelta(days=1)
        walked += CAL.is_working_day(current)
    assert CAL.working_day_after(day, n, 3660) == current
    assert CAL.working_day_after(day, n, 3660) == current  # the remembered answer: the same
    assert CAL.working_day_after(day, n, limit=n) is None or n == 0  # not found within the limit


def test_makeup_saturday_opens_with_monday_hours() -> None:
    spans = spans_on(CAL, CAL.hours, date(2026, 10, 10))
    assert [(s.start.hour, s.end.hour) for s in spans] == [(9, 12), (13, 17)]
    assert is_open(CAL, CAL.hours, at("2026-10-10T15:00"))


def test_holiday_is_closed_all_day() -> None:
    assert spans_on(CAL, CAL.hours, date(2026, 10, 5)) == []
    assert not is_open(CAL, CAL.hours, at("2026-10-05T10:00"))


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        ("2026-11-26T08:59:59", False),
        ("2026-11-26T09:00:00", True),  # the first second of a span is open
        ("2026-11-26T11:59:59", True),
        ("2026-11-26T12:00:00", False),  # its end is closed
        ("2026-11-26T13:29:59", False),
        ("2026-11-26T13:30:00", True),
        ("2026-11-26T17:00:00", False),
    ],
)
def test_span_edges(moment: str, open_: bool) -> None:
    assert is_open(CAL, CAL.hours, at(moment)) is open_


def test_bad_spans_and_years_are_refused() -> None:
    with pytest.raises(ValidationError, match="must be after"):
        Span.model_validate({"days": "mon", "from": "12:00", "to": "09:00"})
    with pytest.raises(ValidationError):
        Span.model_validate({"days": "monday", "from": "09:00", "to": "12:00"})
    with pytest.raises(ValidationError, match="both a holiday and a workday"):
        Calendar.model_validate(
            {"years": [{"year": 2026, "holidays": ["2026-10-10"], "workdays": ["2026-10-10"]}]}
        )
    with pytest.raises(ValidationError, match="not in year"):
        Calendar.model_validate({"years": [{"year": 2026, "holidays": ["2027-01-01"]}]})


def test_a_span_that_names_a_weekend_day_opens_on_it() -> None:
    saturday = date(2026, 11, 28)
    assert not CAL.is_working_day(saturday)  # a day off for the usual mon-fri hours ...
    spans = spans_on(CAL, CAL.hours, saturday)
    assert [(s.start.hour, s.end.hour) for s in spans] == [(9, 12)]  # ... but the sat span opens
    assert is_open(CAL, CAL.hours, at("2026-11-28T10:00"))
    assert not is_open(CAL, CAL.hours, at("2026-11-28T14:00"))
    assert not is_open(CAL, CAL.hours, at("2026-11-29T10:00"))  # nothing names Sunday


def test_a_span_can_run_to_midnight() -> None:
    span = Span.model_validate({"days": "mon-sun", "from": "00:00", "to": "24:00"})
    assert span.as_contract() == {"days": "mon-sun", "from": "00:00", "to": "24:00"}
    assert is_open(CAL, [span], at("2026-11-26T23:59:59"))
    assert is_open(CAL, [span], at("2026-11-26T00:00:00"))
    assert not is_open(CAL, [span], at("2026-10-05T12:00"))  # a holiday still closes it
