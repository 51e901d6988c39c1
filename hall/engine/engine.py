"""The queue engine: commands in, events out, state queryable. Pure: no clock, no I/O.

`handle(command, now)` checks a command against the state, refuses it with a HallError (leaving the
state untouched) or returns the events it caused, already applied, and the contract's `result`.
`apply(event)` is the only mutator, so the store rebuilds the state by replaying stored events.
When `now` falls in a later business day than the state's, `handle` first rolls the day over (the
service also sends `Rollover` on a timer): a ticket issued at 03:00:01 belongs to the new day.

The engine is split by what a reader looks for:
- this module: construction, `handle`/`apply` dispatch (the handler of each command comes from its
  op's row in `hall/engine/requests.py`'s OPS, or from HALL_COMMANDS below), snapshots and the queries;
- `hall/engine/handlers/kiosk.py`, `hall/engine/handlers/window.py`, `hall/engine/handlers/operator.py`: the command
  handlers of each device class (the operator's module also has the evaluator's ops, bookings and
  the service's timers), with what they share in `hall/engine/handlers/common.py`;
- `hall/engine/handlers/alarms.py`: the open alarms (raised, acknowledged, noted, cleared: issue 19);
- `hall/engine/handlers/cases.py`: the open cases of the time limits (opened by a finish, `close_case`,
  the retained `cases`: issue 21);
- `hall/engine/apply.py`: how each event changes the state;
- `hall/engine/now.py`: business days and event times.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from contract.protocol import iso
from hall.config.schema import HallConfig
from hall.engine import reconcile, views
from hall.engine.apply import APPLIERS, note_kiosk_issue
from hall.engine.handlers import alarms, cases, operator
from hall.engine.handlers.common import Handled, known_ticket
from hall.engine.model import (
    WAITING,
    CallEvent,
    Command,
    DayRolledOver,
    Event,
    ExpireRatings,
    HallState,
    ReconcileAlarms,
    ReconcileConfig,
    Rollover,
    ServiceState,
    WindowState,
    event_type,
    state_from_dict,
    state_to_dict,
)
from hall.engine.now import Now, business_day_of, timestamp
from hall.engine.requests import OPS
from hall.engine.rules import Rules

__all__ = ["Engine", "Outcome", "business_day_of"]

log = logging.getLogger(__name__)

# The hall's own commands, which no device sends: the service's timers and the core's start-up.
HALL_COMMANDS: dict[type[Any], Callable[[Engine, Any, Now], Handled]] = {
    Rollover: operator.rollover,
    ExpireRatings: operator.expire_ratings,
    ReconcileConfig: reconcile.reconcile,
    ReconcileAlarms: alarms.reconcile,
}

# The one handler of each command: the ops' (declared in hall/engine/requests.py's OPS) and the hall's.
HANDLERS: dict[type[Any], Callable[[Engine, Any, Now], Handled]] = {
    **{
        command: op.handler
        for ops in OPS.values()
        for op in ops.values()
        for command in op.commands
    },
    **HALL_COMMANDS,
}


@dataclass(frozen=True, slots=True)
class Outcome:
    events: tuple[Event, ...]
    result: dict[str, Any] = field(default_factory=dict)


class Engine:
    def __init__(
        self, config: HallConfig, state: HallState | None = None, rules: Rules | None = None
    ) -> None:
        self.config = config
        self.rules = rules if rules is not None else Rules(config)
        self.zone = config.site.zone
        self.state = state if state is not None else HallState()
        # Lookups derived from the config once: they never change while the engine runs.
        self.tiers: dict[str, tuple[tuple[str, ...], ...]] = {
            w.id: tuple(tuple(tier) for tier in w.tiers) for w in config.windows
        }
        self.window_services: dict[str, frozenset[str]] = {
            w.id: frozenset(w.services) for w in config.windows
        }
        self.windows_of_service: dict[str, tuple[str, ...]] = {
            s.code: tuple(w.id for w in config.windows if s.code in w.services)
            for s in config.services
        }
        self.prefix = {d.code: d.prefix for d in config.departments}
        # The open cases indexed for `cases` (hall/engine/handlers/cases.py): built when first asked.
        self.case_index: cases.CaseIndex | None = None
        # The last command's `now` and what handle() derived from it: the commands of one batch
        # share their `now`, and the conversions cost more than many a handler.
        self._last_clock: tuple[datetime, Now, date] | None = None
        self._prepare()

    def _prepare(self) -> None:
        """Give every configured window and service its state and rebuild the derived indexes."""
        state = self.state
        for w in self.config.windows:
            state.windows.setdefault(w.id, WindowState(id=w.id))
        for s in self.config.services:
            state.services.setdefault(s.code, ServiceState())
        state.index.clear()
        state.by_number.clear()
        state.kiosk_issues.clear()
        for ticket in sorted(state.tickets.values(), key=lambda t: t.order):
            state.by_number[ticket.number] = ticket.id
            note_kiosk_issue(state, ticket.kiosk, ticket.issued_ts)
            if ticket.status == WAITING:
                state.index.add(ticket)

    # -- snapshots -------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The state as JSON-safe data; `Engine.restore(config, data)` gives an equal state."""
        return state_to_dict(self.state)

    @classmethod
    def restore(
        cls, config: HallConfig, data: dict[str, Any], rules: Rules | None = None
    ) -> Engine:
        return cls(config, state_from_dict(data), rules)

    # -- commands and events ---------------------------------------------------------------------

    def _local(self, now: datetime) -> datetime:
        if now.tzinfo is None:
            raise ValueError("the engine is given tz-aware times: got a naive datetime")
        return now.astimezone(self.zone)

    def handle(self, command: Command, now: datetime) -> Outcome:
        """Apply a command at `now` (tz-aware): its events (already applied) and the `result`.

        Raises HallError to refuse; the state is then exactly as before.
        """
        clock, day = self._clock_at(now)
        handler = HANDLERS.get(type(command))
        if handler is None:
            raise TypeError(f"not an engine command: {command!r}")
        current = self.state.business_day
        if current is not None and day <= current:
            events, result = handler(self, command, clock)
            self._log(events)
            return Outcome(tuple(events), result)
        # A new business day starts before the command; a refusal must undo it too.
        saved = copy.deepcopy(self.state)
        roll = self._rollover_event(day, clock)
        self.apply(roll)
        try:
            events, result = handler(self, command, clock)
        except BaseException:
            self.state = saved
            raise
        all_events = [roll, *events]
        self._log(all_events)
        return Outcome(tuple(all_events), result)

    def _clock_at(self, now: datetime) -> tuple[Now, date]:
        """The command's time in the forms the handlers need, and its business day."""
        last = self._last_clock
        if last is not None and last[0] == now and last[0].tzinfo is now.tzinfo:
            return last[1], last[2]
        local = self._local(now)
        at = iso(local)
        clock = Now(local, at, timestamp(at))
        day = business_day_of(local, self.config.site)
        self._last_clock = (now, clock, day)
        return clock, day

    def _rollover_event(self, day: date, clock: Now) -> DayRolledOver:
        previous = self.state.business_day
        expired = tuple(t.id for t in self.state.tickets.values() if not t.closed)
        return DayRolledOver(
            clock.at, day.isoformat(), previous.isoformat() if previous else None, expired
        )

    def apply(self, event: Event) -> None:
        """Change the state by one event. Deterministic: the same events give the same state."""
        APPLIERS[type(event)](self, event)

    def _log(self, events: Sequence[Event]) -> None:
        if not events or not log.isEnabledFor(logging.INFO):
            return
        for event in events:
            ids = " ".join(
                f"{name}={getattr(event, name)}"
                for name in (
                    "ticket",
                    "case",
                    "number",
                    "window",
                    "clerk",
                    "service",
                    "operator",
                    "seq",
                )
                if getattr(event, name, None) is not None
            )
            log.info("%s %s", event_type(event), ids)

    # -- queries (contract payloads) -------------------------------------------------------------

    def ticket_view(self, ticket_id: str, now: datetime) -> dict[str, Any]:
        """The contract's ticket object with fresh `ahead` and `est_wait_min` (unknown_ticket if none)."""
        return views.ticket_object(
            self, known_ticket(self, ticket_id), int(self._local(now).timestamp())
        )

    def window_view(self, window_id: str) -> dict[str, Any]:
        return views.window_view(self, window_id)

    def rating_view(self, window_id: str) -> dict[str, Any] | None:
        return views.rating_view(self, window_id)

    def board(self, now: datetime) -> dict[str, Any]:
        return views.board(self, self._local(now))

    def queues(self, now: datetime) -> dict[str, Any]:
        return views.queues(self, self._local(now))

    def catalog(self) -> dict[str, Any]:
        return views.catalog(self)

    def next_hours_edge(self, now: datetime) -> datetime | None:
        """When some service next opens or closes: the service republishes `queues` then."""
        return self.rules.next_edge(self._local(now))

    def cases(self, now: datetime) -> dict[str, Any]:
        """The retained `cases`: the open cases with their state on `now`'s business day (the
        day cases are accepted on: a case due today is not overdue before the rollover)."""
        local = self._local(now)
        day = business_day_of(local, self.config.site)
        return cases.cases_message(self, iso(local), day).to_json()

    def call_message(self, event: CallEvent) -> dict[str, Any]:
        return views.call_message(self, event)
