"""Time limits (电子监察, issue 21): the engine keeps the open cases, which outlive the day.

- A `ticket_done` that accepts a case (outcome `accepted`, or none and the service's
  `promised_days` > 0: hall/engine/cases.py) carries its due date (`promised_days` working days of the
  hall's calendar later) and opens it in the state: `case_opened` below, called by the
  `ticket_done` applier.
- `CloseCase` (op `close_case`, 办结): a clerk logged in at a window closes a case of any
  department the window serves (a case accepted at one window of a department is often finished
  at another: the one free when the papers come back); an operator closes any case. Event
  `case_closed`, with who and when.
- The rollover keeps the open cases and drops those closed on an earlier day (kept until then so
  that a second close of the same case is told `case_closed`, not `unknown_case`).

The retained `cases` message (`cases_message`) gives each open case its state on a business day
(the day cases are accepted on): the state moves with the calendar, so the service republishes
it when the business day changes.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from datetime import date, datetime
from typing import TYPE_CHECKING

from contract import messages as m
from hall.engine.cases import STATES, case_due, case_state, working_days_between
from hall.engine.errors import HallError
from hall.engine.handlers.common import Handled, apply_events, check_operator, open_window
from hall.engine.model import (
    DUE_UNSTORED,
    CaseClosed,
    CloseCase,
    DayRolledOver,
    OpenCase,
    TicketDone,
)
from hall.engine.now import Now, business_day_of

if TYPE_CHECKING:
    from hall.engine.engine import Engine

NOTE_MAX = 500  # characters of a closing note (hall/engine/requests.py checks it too, from here)
LISTED_PER_DEPARTMENT = 50  # open cases listed in `cases` per department (all are counted)
# ... and in all: an entry is at most ~300 bytes (its codes come from the config), so `cases`
# stays far below the broker's packet limit (hall/tools/broker_config.py PACKET_LIMIT, 1 MB) however
# many departments the hall has (tests/hall/engine/test_cases_engine.py checks it).
LISTED_MAX = 1000


def case_opened(engine: Engine, e: TicketDone) -> None:
    """Part of the `ticket_done` applier: open the case it accepted, if any (`e.due`; None: it
    accepted none, whatever today's config says; an event stored before it carried `due` is
    judged by today's config, as the reports do)."""
    # Its business day (a finish at 01:00, before a 03:00 rollover, is the day before's).
    accepted = business_day_of(datetime.fromisoformat(e.at), engine.config.site)
    due = case_due_iso(engine, e, accepted) if e.due == DUE_UNSTORED else e.due
    if due is None:
        return
    ticket = engine.state.tickets.get(e.ticket)
    index, old = engine.case_index, engine.state.cases.get(e.ticket)
    if index is not None and old is not None:
        index.remove(engine, old)
    case = engine.state.cases[e.ticket] = OpenCase(
        id=e.ticket,
        number=ticket.number if ticket is not None else e.ticket.rpartition("-")[2],
        service=e.service,
        department=ticket.department if ticket is not None else "",
        window=e.window,
        clerk=e.clerk,
        accepted=accepted.isoformat(),
        due=due,
    )
    if index is not None:
        index.add(engine, case)


def case_due_iso(engine: Engine, e: TicketDone, accepted: date) -> str | None:
    due = case_due(engine.config, e.service, e.outcome, accepted)
    return due.isoformat() if due is not None else None


def departments_of_window(engine: Engine, window_id: str) -> frozenset[str]:
    codes = engine.window_services.get(window_id, frozenset())
    return frozenset(s.department for s in engine.config.services if s.code in codes)


def close(engine: Engine, cmd: CloseCase, clock: Now) -> Handled:
    clerk: str | None = None
    if cmd.window is not None:
        _, window = open_window(engine, cmd.window)
        clerk = window.clerk
    elif cmd.operator is not None:
        check_operator(engine, cmd.operator)
    else:  # a bug of the caller: every close names who closes
        raise ValueError("CloseCase names a window or an operator")
    note = cmd.note.strip() if cmd.note else None
    if note is not None and len(note) > NOTE_MAX:
        raise HallError(
            "invalid_request", f"备注最多{NOTE_MAX}字", f"a note has at most {NOTE_MAX} characters"
        )
    case = engine.state.cases.get(cmd.case)
    if case is None:
        raise HallError(
            "unknown_case",
            "没有这个受理件",
            f"no open case {cmd.case!r}: give the ticket id it was accepted under",
        )
    if case.closed is not None:
        raise HallError("case_closed", "该件已办结", f"case {case.id} was closed at {case.closed}")
    if cmd.window is not None and case.department not in departments_of_window(engine, cmd.window):
        raise HallError(
            "forbidden",
            "不是本窗口部门的件，请由该部门窗口或管理员办结",
            f"case {case.id} belongs to department {case.department}, which this window does "
            "not serve: a window of that department or an operator closes it",
        )
    message = case_entry(engine, case, business_day_of(clock.dt, engine.config.site))
    event = CaseClosed(clock.at, case.id, cmd.window, clerk, cmd.operator, note or None)
    events = apply_events(engine, [event])
    return events, m.CaseResult(case=message, closed=clock.at).to_json()


# -- appliers ------------------------------------------------------------------------------------


def case_closed(engine: Engine, e: CaseClosed) -> None:
    case = engine.state.cases.get(e.case)
    if case is not None and case.closed is None:
        if engine.case_index is not None:
            engine.case_index.remove(engine, case)
        case.closed = e.at


def day_rolled_over(engine: Engine, e: DayRolledOver) -> None:
    """Part of the rollover: the cases closed before the new day leave the state."""
    cases = engine.state.cases
    for case_id in [i for i, c in cases.items() if c.closed is not None]:
        del cases[case_id]


# -- views ---------------------------------------------------------------------------------------


# Working days from a date to a due date, per (date, due): a hall has thousands of open cases
# but few distinct due dates, and the calendar walk is the costly part.
_Standing = dict[str, tuple[str, int]]  # due (YYYY-MM-DD) -> (state, working days left)
_Key = tuple[str, str, str]  # (due, accepted, id) of an open case: the most urgent sorts first


def _standing(engine: Engine, day: date, due: str, memo: _Standing) -> tuple[str, int]:
    known = memo.get(due)
    if known is None:
        calendar, warn = engine.config.calendar, engine.config.limits.case_warn_days
        end = date.fromisoformat(due)
        state = case_state(calendar, day, end, warn)
        left = working_days_between(calendar, day, end)
        # Past due over a weekend or holiday no working day has gone by: still at least one late.
        known = memo[due] = (state, min(left, -1) if state == "overdue" else left)
    return known


def _key(case: OpenCase) -> _Key:
    return (case.due, case.accepted, case.id)


class CaseIndex:
    """The open cases (not closed) of each department, most urgent first, and their counts by
    state on `day`: kept up to date by the appliers (`case_opened`, `case_closed`), so that a
    publication of `cases` neither walks nor sorts thousands of open cases (bench/cases.py).
    Built at the first publication, and again when the date changes (states move with it) or
    when something other than an applier changed `HallState.cases` (`Engine.case_index = None`;
    a state put back after a refused command is another dict: `of` tells).
    """

    def __init__(self, engine: Engine, day: date) -> None:
        self.of = engine.state.cases
        self.day = day
        self.memo: _Standing = {}
        self.counts = {d.code: dict.fromkeys(STATES, 0) for d in engine.config.departments}
        self.urgent: dict[str, list[_Key]] = {}
        for case in engine.state.cases.values():
            if case.closed is None:
                self._count(engine, case, 1)
                self.urgent.setdefault(case.department, []).append(_key(case))
        for keys in self.urgent.values():
            keys.sort()

    def _count(self, engine: Engine, case: OpenCase, step: int) -> None:
        state = _standing(engine, self.day, case.due, self.memo)[0]
        self.counts.setdefault(case.department, dict.fromkeys(STATES, 0))[state] += step

    def add(self, engine: Engine, case: OpenCase) -> None:
        self._count(engine, case, 1)
        bisect.insort(self.urgent.setdefault(case.department, []), _key(case))

    def remove(self, engine: Engine, case: OpenCase) -> None:
        keys, key = self.urgent.get(case.department, []), _key(case)
        at = bisect.bisect_left(keys, key)
        if at < len(keys) and keys[at] == key:
            del keys[at]
            self._count(engine, case, -1)

    def listed(self) -> list[_Key]:
        """The cases `cases` lists: each department's most urgent, the most urgent of all."""
        firsts = (keys[:LISTED_PER_DEPARTMENT] for keys in self.urgent.values())
        return heapq.nsmallest(LISTED_MAX, itertools.chain.from_iterable(firsts))


def case_index(engine: Engine, day: date) -> CaseIndex:
    index = engine.case_index
    if index is None or index.day != day or index.of is not engine.state.cases:
        index = engine.case_index = CaseIndex(engine, day)
    return index


def case_entry(
    engine: Engine, case: OpenCase, day: date, memo: _Standing | None = None
) -> m.OpenCase:
    state, left = _standing(engine, day, case.due, {} if memo is None else memo)
    return m.OpenCase(
        id=case.id,
        number=case.number,
        service=case.service,
        department=case.department,
        window=case.window,
        clerk=case.clerk,
        accepted=case.accepted,
        due=case.due,
        state=state,
        days_left=left,
    )


def _counts(by_state: dict[str, int]) -> m.CaseCounts:
    return m.CaseCounts(ok=by_state["ok"], near=by_state["near"], overdue=by_state["overdue"])


def cases_message(engine: Engine, at: str, day: date) -> m.Cases:
    """The retained `cases` on `day`: every open case counted by state, in all and per department
    (every configured one); listed, at most LISTED_PER_DEPARTMENT of each department and
    LISTED_MAX in all, the most urgent first (due date, then the oldest accepted: the overdue,
    then the near), so the payload stays far below the broker's packet limit in a hall with
    thousands of open cases (a terminal shows a screenful, the monitor the red and yellow ones)."""
    index = case_index(engine, day)
    total = {state: sum(c[state] for c in index.counts.values()) for state in STATES}
    cases = engine.state.cases
    return m.Cases(
        at=at,
        day=day.isoformat(),
        warn_days=engine.config.limits.case_warn_days,
        counts=_counts(total),
        departments={code: _counts(by_state) for code, by_state in index.counts.items()},
        cases=tuple(case_entry(engine, cases[key[2]], day, index.memo) for key in index.listed()),
    )
