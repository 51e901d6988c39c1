"""What the centre reports upward, computed from the stored events (never from a copy that can drift).

`Measures.feed(business_day, event)` takes the store's events in order; `rows(dimension)` gives one
row per service, department, window, clerk, hour or day (and `totals()` the hall's). Pure: no I/O,
no clock; `hall/reports/read.py` reads the store, `hall/reports/cli.py` writes the files.

Who counts where (each figure belongs to the event that made it, with that moment's ticket):
- issued: the issue's service and department, hour of issue; no window or clerk;
- called: each first call at a window (`ticket_called`; recalls and call-backs are not new calls),
  by the calling window and clerk, the ticket's service then, hour of the call;
- served, service time: each `ticket_done` (held time excluded: after a call-back the time counts
  from the call-back, the engine's rule and hall/engine/stats.py's), hour of the finish;
- waiting time: issue -> first call, once per ticket, by the first call's window, clerk and
  service, and the hour the visitor ARRIVED; the target-wait share is over these waits;
- call -> start: each `ticket_started`, from the call (or call-back) before it;
- no-show, transferred (by the service it left), cancelled, expired (at the rollover, by the
  ticket's day and issue hour);
- ratings: each `ticket_rated` by the window, clerk and service it names, hour of the rating.
The day of every figure is the ticket's business day.

Means are `round(sum / n)` seconds (hall/engine/stats.py's rounding, so the two agree); the median is the
middle value (mean of the two middle ones); the 90th percentile is the nearest rank (the value at
position ceil(0.9 n) of the sorted sample).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from hall.config.schema import HallConfig
from hall.engine.cases import REPORT_STATES, Case, add_working_days
from hall.engine.stats import GOOD, LEVELS

DIMENSIONS = ("service", "department", "window", "clerk", "hour", "day")
TOTAL = ("total", "all")
# The event types a report reads (the store's `type` column), so the rest is never parsed.
READ_TYPES = (
    "case_closed",  # time limits: a case closed (办结)
    "ticket_issued",
    "ticket_called",
    "ticket_called_back",
    "ticket_started",
    "ticket_done",
    "ticket_no_show",
    "ticket_transferred",
    "ticket_cancelled",
    "ticket_rated",
    "day_rolled_over",
)
# An event's row in each dimension, in DIMENSIONS order (None: it has none there).
Keys = tuple[str, str, str | None, str | None, str, str]
COUNTS = ("issued", "called", "served", "no_show", "transferred", "cancelled", "expired")


@dataclass(slots=True)
class Figures:
    """The figures of one row (one service, one window, one hour ...)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    waits: list[int] = field(default_factory=list)
    services: list[int] = field(default_factory=list)
    call_to_start: list[int] = field(default_factory=list)
    ratings: dict[int, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    waited_over: int = 0

    def add(self, other: Figures) -> None:
        for name, n in other.counts.items():
            self.counts[name] += n
        self.waits += other.waits
        self.services += other.services
        self.call_to_start += other.call_to_start
        for score, n in other.ratings.items():
            self.ratings[score] += n
        self.waited_over += other.waited_over

    def row(self, target_s: int) -> dict[str, Any]:
        rated = sum(self.ratings.values())
        good = sum(n for score, n in self.ratings.items() if score in GOOD)
        out: dict[str, Any] = dict(self.counts)
        for name, sample in (
            ("wait", self.waits),
            ("service", self.services),
            ("call_to_start", self.call_to_start),
        ):
            out.update(summary(name, sample))
        out["waited_over_target"] = self.waited_over
        out["waited_over_share"] = (
            round(self.waited_over / len(self.waits), 4) if self.waits else None
        )
        out["rated"] = rated
        for score in sorted(LEVELS):
            out[f"rated_{score}"] = self.ratings[score]
        out["good_rate"] = round(good / rated, 4) if rated else None
        out["target_wait_s"] = target_s
        return out


def summary(name: str, sample: list[int]) -> dict[str, Any]:
    """`{name}_mean_s`, `_median_s`, `_p90_s` of a sample of seconds (None when it is empty)."""
    if not sample:
        return {f"{name}_mean_s": None, f"{name}_median_s": None, f"{name}_p90_s": None}
    ordered = sorted(sample)
    return {
        f"{name}_mean_s": round(sum(ordered) / len(ordered)),
        f"{name}_median_s": statistics.median(ordered),
        f"{name}_p90_s": ordered[math.ceil(0.9 * len(ordered)) - 1],
    }


@dataclass(slots=True)
class _Ticket:
    day: str
    service: str
    department: str
    issued_at: str  # made epoch seconds at the first call: many tickets are never called
    issued_hour: str
    window: str | None = None
    clerk: str | None = None
    called: bool = False
    call_ts: int | None = None


@dataclass(frozen=True, slots=True)
class Rating:
    """One rating, for the 好差评 export."""

    ticket: str
    number: str
    service: str
    department: str
    window: str
    clerk: str
    at: str
    score: int
    reasons: tuple[str, ...]


_MINUTES: dict[str, int] = {}  # "2026-11-26T09:03" + offset -> epoch seconds (a cache)


def _ts(at: str) -> int:
    """Epoch seconds of an event's `at` (YYYY-MM-DDTHH:MM:SS+HH:MM, to the second)."""
    minute = at[:16] + at[19:]
    base = _MINUTES.get(minute)
    if base is None:
        if len(_MINUTES) > 100_000:
            _MINUTES.clear()
        base = _MINUTES[minute] = int(datetime.fromisoformat(at[:16] + ":00" + at[19:]).timestamp())
    return base + int(at[17:19])


class Measures:
    def __init__(
        self, config: HallConfig, target_wait_s: int | None = None, department: str | None = None
    ) -> None:
        """`department`: count only what happened to tickets while they were that department's."""
        self.config = config
        self.department = department
        self.target_s = (
            target_wait_s if target_wait_s is not None else config.limits.target_wait_min * 60
        )
        self.tickets: dict[str, _Ticket] = {}
        self.numbers: dict[str, str] = {}
        self.ratings: list[Rating] = []
        self.promised = {s.code: s.promised_days for s in config.services}
        self.cases: list[Case] = []  # accepted (受理) at a finish: see hall/engine/cases.py
        self.on_the_spot = 0  # finishes done on the spot (即办)
        self.closed: dict[str, date] = {}  # case id -> the day it was closed (办结)
        # Each event counts once in its cell (its service, department, window and clerk) and once
        # in its moment (its hour and day); the rows of each dimension and the totals are summed
        # from these when asked for (a few hundred of each: far cheaper than counting each of a
        # month's 400,000 events in seven places as it comes).
        self.cells: dict[tuple[str, str, str | None, str | None], Figures] = {}
        self.moments: dict[tuple[str, str], Figures] = {}
        self._rows_of: dict[Keys, list[Figures]] = {}  # keys -> [cell, moment] (a cache)
        self._summed: dict[tuple[str, str], Figures] | None = None  # the cells summed (a cache)
        self._due: dict[tuple[date, int], date] = {}  # (accepted, days) -> due (a cache)

    def _add(self, keys: Keys) -> list[Figures]:
        """The figures an event counts in: its cell's and its moment's."""
        figs = self._rows_of.get(keys)
        if figs is None:
            if self.department is not None and keys[1] != self.department:
                figs = []
            else:
                cell = self.cells.get(keys[:4])
                if cell is None:
                    cell = self.cells[keys[:4]] = Figures()
                moment = self.moments.get(keys[4:])
                if moment is None:
                    moment = self.moments[keys[4:]] = Figures()
                figs = [cell, moment]
            self._rows_of[keys] = figs
        return figs

    def feed(self, business_day: str, e: dict[str, Any]) -> None:
        self.feed_all(((business_day, e),))

    def feed_all(self, rows: Iterable[tuple[str, dict[str, Any]]]) -> Measures:
        """Take the events in the order they happened.

        One loop with its lookups bound once: a month is 400,000 events, and the per-event cost
        of method calls and attribute lookups was most of the report's time (bench/report.py).
        """
        tickets, rows_of, add, ts = self.tickets, self._rows_of, self._add, _ts
        numbers, target_s = self.numbers, self.target_s
        self._summed = None
        for business_day, e in rows:
            kind = e["type"]
            if kind == "ticket_issued":
                at = e["at"]
                t = tickets[e["ticket"]] = _Ticket(
                    business_day, e["service"], e["department"], at, at[11:13]
                )
                numbers[e["ticket"]] = e["number"]
                keys: Keys = (t.service, t.department, None, None, t.issued_hour, business_day)
                for fig in rows_of.get(keys) or add(keys):
                    fig.counts["issued"] += 1
                continue
            if kind == "case_closed":  # names a case (a ticket of any earlier day), not a ticket
                self.closed[e["case"]] = date.fromisoformat(business_day)  # as the engine
                continue
            if kind == "day_rolled_over":
                for ticket_id in e.get("expired", ()):
                    old = tickets.get(ticket_id)
                    if old is not None:
                        keys = (old.service, old.department, None, None, old.issued_hour, old.day)
                        for fig in add(keys):
                            fig.counts["expired"] += 1
                continue
            maybe = tickets.get(e["ticket"])
            if maybe is None:  # a ticket issued before the period: not this report's
                continue
            t = maybe
            at = e["at"]
            if kind == "ticket_called" or kind == "ticket_called_back":
                t.window, t.clerk, t.call_ts = e["window"], e["clerk"], ts(at)
                if kind == "ticket_called_back":
                    continue
                keys = (t.service, t.department, t.window, t.clerk, at[11:13], t.day)
                for fig in rows_of.get(keys) or add(keys):
                    fig.counts["called"] += 1
                if not t.called:
                    t.called = True
                    wait = max(0, t.call_ts - ts(t.issued_at))
                    over = wait > target_s
                    keys = (t.service, t.department, t.window, t.clerk, t.issued_hour, t.day)
                    for fig in rows_of.get(keys) or add(keys):
                        fig.waits.append(wait)
                        if over:
                            fig.waited_over += 1
                continue
            keys = (t.service, t.department, t.window, t.clerk, at[11:13], t.day)
            if kind == "ticket_started":
                if t.call_ts is not None:
                    since_call = max(0, ts(at) - t.call_ts)
                    for fig in rows_of.get(keys) or add(keys):
                        fig.call_to_start.append(since_call)
                continue
            if kind == "ticket_done":
                t.service, t.clerk = e["service"], e["clerk"]
                keys = (t.service, t.department, t.window, t.clerk, at[11:13], t.day)
                figs = rows_of.get(keys) or add(keys)
                seconds = int(e["seconds"])
                for fig in figs:
                    fig.counts["served"] += 1
                    fig.services.append(seconds)
                if figs:
                    self._note_case(e, t, business_day)
                continue
            if kind == "ticket_no_show":
                for fig in rows_of.get(keys) or add(keys):
                    fig.counts["no_show"] += 1
                continue
            if kind == "ticket_transferred":
                for fig in rows_of.get(keys) or add(keys):
                    fig.counts["transferred"] += 1
                t.service, t.department = e["service"], e["department"]
                t.window = t.clerk = None
                continue
            if kind == "ticket_cancelled":
                for fig in rows_of.get(keys) or add(keys):
                    fig.counts["cancelled"] += 1
                continue
            if kind == "ticket_rated":
                score = int(e["score"])
                t.window, t.clerk, t.service = e["window"], e["clerk"], e["service"]
                keys = (t.service, t.department, t.window, t.clerk, at[11:13], t.day)
                figs = rows_of.get(keys) or add(keys)
                for fig in figs:
                    if score in fig.ratings:
                        fig.ratings[score] += 1
                if figs:
                    self.ratings.append(
                        Rating(
                            e["ticket"],
                            numbers.get(e["ticket"], ""),
                            e["service"],
                            t.department,
                            e["window"],
                            e["clerk"],
                            at,
                            score,
                            tuple(e.get("reasons", ())),
                        )
                    )
        return self

    def _note_case(self, e: dict[str, Any], t: _Ticket, business_day: str) -> None:
        """A finish's case, if it accepted one, accepted on its business day (as the engine)."""
        if "due" in e:  # the hall stored the case's due date (null: done on the spot)
            if e["due"] is None:
                self.on_the_spot += 1
                return
            day, stored = date.fromisoformat(business_day), date.fromisoformat(e["due"])
            self.cases.append(
                Case(e["ticket"], e["service"], t.department, e["window"], e["clerk"], day, stored)
            )
            return
        days = self.promised.get(e["service"], 0)
        outcome = e.get("outcome")  # the clerk's choice; none (a keypad): by the promised days
        if outcome == "on_the_spot" or (outcome is None and days == 0):
            self.on_the_spot += 1
            return
        accepted = date.fromisoformat(business_day)
        due = self._due.get((accepted, days))
        if due is None:
            due = self._due[accepted, days] = add_working_days(self.config.calendar, accepted, days)
        self.cases.append(
            Case(e["ticket"], e["service"], t.department, e["window"], e["clerk"], accepted, due)
        )

    def case_state(self, case: Case, as_of: date) -> str:
        """A case's state on `as_of`: `closed` if the period closed it by then, else as it is open."""
        closed = self.closed.get(case.ticket)
        if closed is not None and closed <= as_of:
            return "closed"
        warn = self.config.limits.case_warn_days
        return case.state(self.config.calendar, as_of, warn)

    def case_states(self, as_of: date) -> dict[str, int]:
        """The period's accepted cases by state on `as_of` (ok / near / overdue / closed)."""
        out = dict.fromkeys(REPORT_STATES, 0)
        for case in self.cases:
            out[self.case_state(case, as_of)] += 1
        return out

    # --- results ----------------------------------------------------------------------------------

    def _all(self) -> dict[tuple[str, str], Figures]:
        """Every row's figures (and the totals'), summed from the cells and the moments."""
        if self._summed is None:
            summed: dict[tuple[str, str], Figures] = {TOTAL: Figures()}

            def into(dimension: str, key: str | None, figures: Figures) -> None:
                if key is not None:
                    fig = summed.get((dimension, key))
                    if fig is None:
                        fig = summed[dimension, key] = Figures()
                    fig.add(figures)

            for cell_keys, cell in self.cells.items():
                summed[TOTAL].add(cell)
                for dimension, key in zip(DIMENSIONS[:4], cell_keys, strict=True):
                    into(dimension, key, cell)
            for (hour, day), moment in self.moments.items():
                into("hour", hour, moment)
                into("day", day, moment)
            self._summed = summed
        return self._summed

    def totals(self) -> dict[str, Any]:
        return self._all()[TOTAL].row(self.target_s)

    def rows(self, dimension: str) -> list[dict[str, Any]]:
        """One row per key of `dimension` (every configured one, also with nothing to count)."""
        if dimension not in DIMENSIONS:
            raise ValueError(f"unknown dimension {dimension!r}: one of {', '.join(DIMENSIONS)}")
        figures = self._all()
        keys = {k for d, k in figures if d == dimension}
        names = self.names(dimension)
        if dimension in ("service", "department", "window", "clerk") and self.department is None:
            order = list(names)
            keys.update(order)
        else:
            order = []
        ordered = [k for k in order if k in keys] + sorted(keys - set(order))
        out = []
        for key in ordered:
            fig = figures.get((dimension, key)) or Figures()
            out.append({"key": key, "name": names.get(key, key), **fig.row(self.target_s)})
        return out

    def sample(self, dimension: str, key: str, which: str) -> list[int]:
        """The seconds behind a row's figures: `waits`, `services` or `call_to_start`."""
        fig = self._all().get((dimension, key))
        if fig is None:
            return []
        values: list[int] = getattr(fig, which)
        return values

    def names(self, dimension: str) -> dict[str, str]:
        c = self.config
        if dimension == "service":
            return {s.code: s.name_zh for s in c.services}
        if dimension == "department":
            return {d.code: d.name_zh for d in c.departments}
        if dimension == "window":
            return {w.id: w.name for w in c.windows}
        if dimension == "clerk":
            return {k.id: k.name for k in c.clerks}
        return {}
