"""Time limits (电子监察) as far as the stored events tell them today: the cases a period accepted.

Each service's `promised_days` is its promised completion time in working days. A finish with
`outcome` "accepted" (受理) makes a case, "on_the_spot" (即办) does not; a finish without one (a
keypad's) follows the promised days: 0 is on the spot, more is a case. A case is due on the
`promised_days`-th working day after the business day it was finished (the hall's calendar: weekends,
holidays and make-up working days). An open case is `ok` with more than `[limits]
case_warn_days` (WARN_DAYS by default) working days left, `near` (yellow) within them, `overdue`
(red) past its due day; the op `close_case` closes it (hall/engine/handlers/cases.py keeps the open ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from hall.config.calendar import Calendar

if TYPE_CHECKING:
    from hall.config.schema import HallConfig

WARN_DAYS = 1  # working days left at which a case turns yellow (default of [limits] case_warn_days)
STATES = ("ok", "near", "overdue")  # of an open case
REPORT_STATES = (*STATES, "closed")  # reports also count the cases closed (办结, op close_case)
STATE_NAMES = {
    "ok": "正常 in time",
    "near": "临期 near due",
    "overdue": "超期 overdue",
    "closed": "已办结 closed",
}
MAX_SEARCH_DAYS = 3660  # a calendar with no working day at all must not loop forever


def add_working_days(calendar: Calendar, day: date, n: int) -> date:
    """The n-th working day after `day` (`day` itself not counted); `day` for n = 0."""
    found = calendar.working_day_after(day, n, MAX_SEARCH_DAYS)
    if found is not None:
        return found
    raise ValueError(
        f"no {n} working days within {MAX_SEARCH_DAYS} days of {day}: check [calendar]"
    )


def case_due(config: HallConfig, service: str, outcome: str | None, day: date) -> date | None:
    """The due date of the case a finish of `service` on `day` accepts, or None if it accepts
    none: `outcome` "accepted" always, "on_the_spot" never, none by the service's promised days."""
    found = config.service(service)
    days = found.promised_days if found is not None else 0
    if outcome == "on_the_spot" or (outcome is None and days == 0):
        return None
    return add_working_days(config.calendar, day, days)


def working_days_between(calendar: Calendar, start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (negative if `end` is earlier)."""
    if end < start:
        return -working_days_between(calendar, end, start)
    return sum(
        1
        for k in range(1, (end - start).days + 1)
        if calendar.is_working_day(start + timedelta(days=k))
    )


@dataclass(frozen=True, slots=True)
class Case:
    ticket: str
    service: str
    department: str
    window: str
    clerk: str
    accepted: date
    due: date

    def state(self, calendar: Calendar, as_of: date, warn_days: int = WARN_DAYS) -> str:
        return case_state(calendar, as_of, self.due, warn_days)


def case_state(calendar: Calendar, as_of: date, due: date, warn_days: int = WARN_DAYS) -> str:
    """ok / near / overdue of a case open on `as_of` that is due on `due`."""
    if as_of > due:
        return "overdue"
    return "near" if working_days_between(calendar, as_of, due) <= warn_days else "ok"
