"""Time limits (电子监察, issue 21): the engine keeps the open cases, which outlive the day.

- A `ticket_done` that accepts a case (outcome `accepted`, or none and the service's
  `promised_days` > 0: hall/cases.py) carries its due date (`promised_days` working days of the
  hall's calendar later) and opens it in the state: `case_opened` below, called by the
  `ticket_done` applier.
- `CloseCase` (op `close_case`, 办结): a clerk logged in at a window closes a case of any
  department the window serves (a case accepted at one window of a department is often finished
  at another: the one free when the papers come back); an operator closes any case. Event
  `case_closed`, with who and when.
- The rollover keeps the open cases and drops those closed on an earlier day (kept until then so
  that a second close of the same case is told `case_closed`, not `unknown_case`).

The retained `cases` message (`cases_message`) gives each open case its state on a date: the
state moves with the calendar, so the service republishes it when the date changes.
"""

from __future__ import annotations

import heapq
from datetime import date
from typing import TYPE_CHECKING

from contract import messages as m
from hall.cases import STATES, case_due, case_state, working_days_between
from hall.engine_time import Now
from hall.errors import HallError
from hall.handlers_common import Handled, apply_events, check_operator, open_window
from hall.model import DUE_UNSTORED, CaseClosed, CloseCase, DayRolledOver, OpenCase, TicketDone

if TYPE_CHECKING:
    from hall.engine import Engine

NOTE_MAX = 500  # characters of a closing note
LISTED_PER_DEPARTMENT = 50  # open cases listed in `cases` per department (all are counted)


def case_opened(engine: Engine, e: TicketDone) -> None:
    """Part of the `ticket_done` applier: open the case it accepted, if any (`e.due`; None: it
    accepted none, whatever today's config says; an event stored before it carried `due` is
    judged by today's config, as the reports do)."""
    accepted = date.fromisoformat(e.at[:10])  # the hall's local date (`at` carries its offset)
    due = case_due_iso(engine, e, accepted) if e.due == DUE_UNSTORED else e.due
    if due is None:
        return
    ticket = engine.state.tickets.get(e.ticket)
    engine.state.cases[e.ticket] = OpenCase(
        id=e.ticket,
        number=ticket.number if ticket is not None else e.ticket.rpartition("-")[2],
        service=e.service,
        department=ticket.department if ticket is not None else "",
        window=e.window,
        clerk=e.clerk,
        accepted=accepted.isoformat(),
        due=due,
    )


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
            "invalid_request", "备注最多500字", f"a note has at most {NOTE_MAX} characters"
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
    message = case_entry(engine, case, clock.dt.date())
    event = CaseClosed(clock.at, case.id, cmd.window, clerk, cmd.operator, note or None)
    events = apply_events(engine, [event])
    return events, m.CaseResult(case=message, closed=clock.at).to_json()


# -- appliers ------------------------------------------------------------------------------------


def case_closed(engine: Engine, e: CaseClosed) -> None:
    case = engine.state.cases.get(e.case)
    if case is not None:
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


def _standing(engine: Engine, day: date, due: str, memo: _Standing) -> tuple[str, int]:
    known = memo.get(due)
    if known is None:
        calendar, warn = engine.config.calendar, engine.config.limits.case_warn_days
        end = date.fromisoformat(due)
        known = memo[due] = (
            case_state(calendar, day, end, warn),
            working_days_between(calendar, day, end),
        )
    return known


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
    (every configured one); listed, at most LISTED_PER_DEPARTMENT of each department, the most
    urgent first (due date, then the oldest accepted), so the payload stays small in a hall with
    thousands of open cases (a terminal shows a screenful, the monitor the red and yellow ones)."""
    memo: _Standing = {}
    total = dict.fromkeys(STATES, 0)
    counts = {d.code: dict.fromkeys(STATES, 0) for d in engine.config.departments}
    by_department: dict[str, list[OpenCase]] = {}
    for case in list(engine.state.cases.values()):  # one step: safe beside the worker
        if case.closed is not None:
            continue
        standing = memo.get(case.due) or _standing(engine, day, case.due, memo)
        state = standing[0]
        total[state] += 1
        counts.setdefault(case.department, dict.fromkeys(STATES, 0))[state] += 1
        by_department.setdefault(case.department, []).append(case)
    listed = [
        case
        for cases in by_department.values()
        for case in heapq.nsmallest(
            LISTED_PER_DEPARTMENT, cases, key=lambda c: (c.due, c.accepted, c.id)
        )
    ]
    listed.sort(key=lambda c: (c.due, c.accepted, c.id))
    return m.Cases(
        at=at,
        day=day.isoformat(),
        warn_days=engine.config.limits.case_warn_days,
        counts=_counts(total),
        departments={code: _counts(by_state) for code, by_state in counts.items()},
        cases=tuple(case_entry(engine, c, day, memo) for c in listed),
    )
