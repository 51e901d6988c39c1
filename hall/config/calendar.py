"""The hall's working calendar and opening hours: pure functions of the config and a local time.

China's holiday schedule moves working days each year (调休): a public holiday can fall on a weekday
and a Saturday or Sunday can be a make-up working day. The config lists both per year; weekends are
the rest. A make-up working day opens with the hours of the weekday named by `makeup_hours_as`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
AFTER_KEPT = 4096  # answers of Calendar.working_day_after remembered (a day's traffic asks a few)
_UNKNOWN = object()  # not remembered (None is an answer: no such day within the limit)
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DaysSpec = Annotated[
    str,
    StringConstraints(
        pattern=r"^(mon|tue|wed|thu|fri|sat|sun)(-(mon|tue|wed|thu|fri|sat|sun))?(,(mon|tue|wed|thu|fri|sat|sun)(-(mon|tue|wed|thu|fri|sat|sun))?)*$"
    ),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def weekdays_of(spec: str) -> frozenset[int]:
    """'mon-fri' -> {0..4}; 'mon,wed-fri' -> {0, 2, 3, 4}; 'sat-mon' wraps -> {5, 6, 0}."""
    days: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.partition("-")
        start = WEEKDAYS.index(first)
        end = WEEKDAYS.index(last or first)
        day = start
        while True:
            days.add(day)
            if day == end:
                break
            day = (day + 1) % 7
    return frozenset(days)


class Span(Strict):
    """Opening hours on some weekdays: `{days = "mon-fri", from = "09:00", to = "12:00"}`."""

    days: DaysSpec = "mon-fri"
    start: time = Field(alias="from")
    end: time = Field(alias="to")

    @field_validator("end", mode="before")
    @classmethod
    def _midnight(cls, value: object) -> object:
        # "24:00" closes at midnight; a time of day has no 24:00, so it is the last instant before.
        return time.max if value in ("24:00", "24:00:00") else value

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if self.end <= self.start:
            raise ValueError(f"'to' ({self.end:%H:%M}) must be after 'from' ({self.start:%H:%M})")
        return self

    def as_contract(self) -> dict[str, str]:
        end = "24:00" if self.end == time.max else f"{self.end:%H:%M}"
        return {"days": self.days, "from": f"{self.start:%H:%M}", "to": end}


class CalendarYear(Strict):
    year: int = Field(ge=2000, le=2100)
    holidays: list[date] = []  # days off, weekdays included (国庆, 春节 ...)
    workdays: list[date] = []  # make-up working days on a weekend (调休上班)

    @model_validator(mode="after")
    def _consistent(self) -> CalendarYear:
        for day in (*self.holidays, *self.workdays):
            if day.year != self.year:
                raise ValueError(f"{day} is not in year {self.year}: move it to its own year")
        both = set(self.holidays) & set(self.workdays)
        if both:
            raise ValueError(f"{sorted(both)[0]} is both a holiday and a workday: keep one")
        return self


DEFAULT_HOURS = (
    Span.model_validate({"days": "mon-fri", "from": "09:00", "to": "12:00"}),
    Span.model_validate({"days": "mon-fri", "from": "13:30", "to": "17:00"}),
)


class Calendar(Strict):
    weekend: list[Weekday] = ["sat", "sun"]  # days off, unless a make-up working day
    makeup_hours_as: Weekday = "mon"
    years: list[CalendarYear] = []
    hours: list[Span] = list(DEFAULT_HOURS)  # the hall's hours, for services without their own

    def model_post_init(self, __context: object) -> None:
        holidays = {d for y in self.years for d in y.holidays}
        workdays = {d for y in self.years for d in y.workdays}
        object.__setattr__(self, "_holidays", frozenset(holidays))
        object.__setattr__(self, "_workdays", frozenset(workdays))
        object.__setattr__(self, "_weekend", frozenset(WEEKDAYS.index(d) for d in self.weekend))
        object.__setattr__(self, "_after", {})  # (day, n, limit) -> working_day_after's answer

    def is_working_day(self, day: date) -> bool:
        if day in self._holidays:  # type: ignore[attr-defined]
            return False
        if day in self._workdays:  # type: ignore[attr-defined]
            return True
        return day.weekday() not in self._weekend  # type: ignore[attr-defined]

    def working_day_after(self, day: date, n: int, limit: int) -> date | None:
        """The n-th working day after `day` (`day` itself not counted; `day` for n = 0), looking at
        most `limit` days ahead; None if there is none. Remembered: each finish that opens a case
        asks it (its due date), and walking ~30 days cost 6% of a call_next."""
        after: dict[tuple[date, int, int], date | None] = self._after  # type: ignore[attr-defined]
        key = (day, n, limit)
        known = after.get(key, _UNKNOWN)  # one lookup: another thread may clear it meanwhile
        if known is not _UNKNOWN:
            return known  # type: ignore[return-value]
        found, current, answer = 0, day, None
        for _ in range(limit):
            if found == n:
                answer = current
                break
            current += timedelta(days=1)
            if self.is_working_day(current):
                found += 1
        if len(after) >= AFTER_KEPT:
            after.clear()
        after[key] = answer
        return answer

    def hours_weekday(self, day: date) -> int:
        """The weekday whose hours apply on `day` (a make-up working day borrows one)."""
        if day in self._workdays:  # type: ignore[attr-defined]
            return WEEKDAYS.index(self.makeup_hours_as)
        return day.weekday()


def spans_on(calendar: Calendar, spans: Sequence[Span], day: date) -> list[Span]:
    """The spans open on `day`, in time order.

    A public holiday closes everything; a make-up working day (调休上班) opens with the spans of the
    weekday `makeup_hours_as`; any other day opens the spans that name its weekday. So a weekend is
    a day off for the usual mon-fri hours, while a span that names it (a Saturday-morning service)
    opens on it.
    """
    if day in calendar._holidays:  # type: ignore[attr-defined]
        return []
    weekday = calendar.hours_weekday(day)
    return sorted((s for s in spans if weekday in weekdays_of(s.days)), key=lambda s: s.start)


def is_open(calendar: Calendar, spans: Sequence[Span], local: datetime) -> bool:
    """Open at this local wall-clock time: inside a span, from its first second up to (not at) its end."""
    moment = local.time().replace(tzinfo=None)
    return any(s.start <= moment < s.end for s in spans_on(calendar, spans, local.date()))
