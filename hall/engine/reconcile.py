"""The stored state against the config the hall starts with: what a config change does to today.

A config may change between two starts of the server (a window taken out mid-day, a service
dropped, a prefix moved to another department). The stored state still names them, so at start the
core sends `ReconcileConfig` and this handler records, as events in the log:
- a removed service's waiting tickets (and those at or held by a removed window) are cancelled, with
  the reason `config_removed`, which the ticket's status then shows;
- tickets at, held by or waiting for a removed window go back to their service's queue, at their
  place in line (`TicketReturned`);
- a removed window's state is dropped (`WindowRemoved`); the service clears its retained topics;
- a department whose prefix already gave numbers today (the prefix moved to it) continues after the
  highest of them (`NumberingAdvanced`): no visitor gets a number someone else holds.

`plan` computes the events without applying them: `hallq check-config --data DIR` prints them with
`describe` before the config is applied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hall.engine.handlers.common import Handled, apply_events
from hall.engine.model import (
    WAITING,
    Event,
    NumberingAdvanced,
    ReconcileConfig,
    Ticket,
    TicketCancelled,
    TicketReturned,
    WindowRemoved,
)
from hall.engine.now import Now
from hall.engine.numbering import split_number

if TYPE_CHECKING:
    from hall.engine.engine import Engine

REASON = "config_removed"
BY_CONFIG = "config"  # the `operator` of a cancellation the config caused


def reconcile(engine: Engine, cmd: ReconcileConfig, clock: Now) -> Handled:
    events = apply_events(engine, plan(engine, clock.at))
    return events, {"changes": len(events)}


def plan(engine: Engine, at: str) -> list[Event]:
    """The events that bring the state in line with engine.config (none if it already is)."""
    state, config = engine.state, engine.config
    services = {s.code for s in config.services}
    windows = {w.id for w in config.windows}
    open_tickets = sorted((t for t in state.tickets.values() if not t.closed), key=_order)
    events: list[Event] = []
    handled: set[str] = set()
    for ticket in open_tickets:
        gone_window = ticket.window is not None and ticket.window not in windows
        if ticket.service not in services and (ticket.status == WAITING or gone_window):
            events.append(TicketCancelled(at, BY_CONFIG, ticket.id, REASON))
            handled.add(ticket.id)
    removed = sorted(w for w in state.windows if w not in windows)
    for window_id in removed:
        window = state.windows[window_id]
        for ticket_id in ([window.current] if window.current else []) + list(window.held):
            if ticket_id not in handled:
                events.append(TicketReturned(at, window_id, ticket_id, REASON))
                handled.add(ticket_id)
    for ticket in open_tickets:
        waits_for_gone = ticket.status == WAITING and ticket.window is not None
        if waits_for_gone and ticket.window not in windows and ticket.id not in handled:
            assert ticket.window is not None
            events.append(TicketReturned(at, ticket.window, ticket.id, REASON))
            handled.add(ticket.id)
    events += [WindowRemoved(at, window_id) for window_id in removed]
    events += _numbering(engine, at)
    return events


def _order(ticket: Ticket) -> int:
    return ticket.order


def _numbering(engine: Engine, at: str) -> list[Event]:
    state = engine.state
    day = state.business_day
    if day is None:
        return []
    today = f"{day:%Y%m%d}-"
    highest: dict[str, int] = {}
    for ticket in state.tickets.values():
        parts = split_number(ticket.number) if ticket.id.startswith(today) else None
        if parts is not None:
            highest[parts[0]] = max(highest.get(parts[0], 0), parts[1])
    events: list[Event] = []
    for department in engine.config.departments:
        given = highest.get(department.prefix, 0)
        if given > state.last_number.get(department.code, 0):
            events.append(NumberingAdvanced(at, department.code, given))
    return events


def describe(engine: Engine, events: list[Event]) -> list[str]:
    """One line per event, for an operator (before the events are applied)."""
    tickets = engine.state.tickets
    lines = []
    for event in events:
        if isinstance(event, TicketCancelled):
            t = tickets[event.ticket]
            lines.append(
                f"ticket {t.number} ({t.status}, service {t.service}): cancelled "
                f"({event.reason}): its service is no longer in the config"
            )
        elif isinstance(event, TicketReturned):
            t = tickets[event.ticket]
            lines.append(
                f"ticket {t.number} ({t.status} at window {event.window}): back in line for "
                f"{t.service}, at its place: window {event.window} is no longer in the config"
            )
        elif isinstance(event, WindowRemoved):
            lines.append(f"window {event.window}: removed; its retained state is cleared")
        elif isinstance(event, NumberingAdvanced):
            lines.append(
                f"department {event.department}: today's numbers continue after {event.last} "
                "(its prefix already gave them today)"
            )
    return lines
