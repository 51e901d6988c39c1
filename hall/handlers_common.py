"""What every command handler of the engine shares: lookups that refuse, event builders, results.

A handler is `handler(engine, command, now) -> (events, result)`: it checks the command against
the state, raises a HallError to refuse (before it has applied anything), or applies its events
through `commit` and returns them with the contract's `result`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeAlias

from contract import messages as m
from contract.protocol import iso
from hall import views
from hall.cases import case_due
from hall.config import Service, Window
from hall.engine_time import Now
from hall.errors import HallError
from hall.model import CallEvent, Event, Ticket, TicketDone, WindowState

if TYPE_CHECKING:
    from hall.engine import Engine

Handled: TypeAlias = tuple[list[Event], dict[str, Any]]


def commit(engine: Engine, events: list[Event]) -> list[Event]:
    """Apply `events` in order and give them back, for the handler's answer."""
    for event in events:
        engine.apply(event)
    return events


# -- lookups that refuse -------------------------------------------------------------------------


def known_ticket(engine: Engine, ticket_id: str) -> Ticket:
    ticket = engine.state.tickets.get(ticket_id)
    if ticket is None:
        raise HallError("unknown_ticket", "没有这个号", f"no ticket {ticket_id!r} today")
    return ticket


def known_service(engine: Engine, code: str) -> Service:
    service = engine.config.service(code)
    if service is None:
        raise HallError("unknown_service", "没有这项业务", f"no service {code!r}")
    return service


def check_kiosk(engine: Engine, kiosk_id: str) -> None:
    if kiosk_id not in engine.kiosk_ids:
        raise HallError("unknown_device", "未知的取号机", f"unknown kiosk {kiosk_id!r}")


def check_operator(engine: Engine, operator_id: str) -> None:
    if operator_id not in engine.operator_ids:
        raise HallError("unknown_device", "未知的管理终端", f"unknown operator {operator_id!r}")


def window_of(engine: Engine, window_id: str) -> tuple[Window, WindowState]:
    config = engine.config.window(window_id)
    if config is None:
        raise HallError("unknown_device", "未知的窗口", f"unknown window {window_id!r}")
    return config, engine.state.windows[window_id]


def open_window(engine: Engine, window_id: str) -> tuple[Window, WindowState]:
    """A window with a clerk logged in."""
    config, window = window_of(engine, window_id)
    if window.clerk is None:
        raise HallError("not_logged_in", "窗口未登录", "no clerk is logged in at this window")
    return config, window


def calling_window(engine: Engine, window_id: str) -> tuple[Window, WindowState]:
    """A window that may call: a clerk logged in and not paused."""
    config, window = open_window(engine, window_id)
    if window.paused:
        raise HallError("window_paused", "窗口暂停服务中", "this window is paused: resume first")
    return config, window


def current_ticket(engine: Engine, window: WindowState) -> Ticket:
    if window.current is None:
        raise HallError("no_current_ticket", "当前没有正在办理的号", "no current ticket")
    return engine.state.tickets[window.current]


# -- event builders ------------------------------------------------------------------------------


def done_event(
    engine: Engine, window: WindowState, ticket: Ticket, clock: Now, outcome: str | None = None
) -> TicketDone:
    began = ticket.started_ts if ticket.started_ts is not None else ticket.called_ts
    seconds = max(0, clock.ts - began) if began is not None else 0
    until = iso(clock.dt + timedelta(seconds=engine.config.limits.rating_seconds))
    assert window.clerk is not None
    # A case's due date goes into the event: a later calendar or promised time changes no case.
    due = case_due(engine.config, ticket.service, outcome, clock.dt.date())
    return TicketDone(
        clock.at,
        window.id,
        window.clerk,
        ticket.id,
        ticket.service,
        seconds,
        until,
        outcome,
        due.isoformat() if due is not None else None,
    )


def close_current(engine: Engine, window: WindowState, clock: Now) -> list[Event]:
    """`call_next`, `call`, `unhold` and `logout` first close the current ticket as done."""
    if window.current is None:
        return []
    return [done_event(engine, window, engine.state.tickets[window.current], clock)]


def call_event(
    engine: Engine,
    cls: type[CallEvent],
    window: WindowState,
    ticket: Ticket,
    recall: int,
    clock: Now,
) -> CallEvent:
    assert window.clerk is not None
    return cls(
        at=clock.at,
        window=window.id,
        clerk=window.clerk,
        ticket=ticket.id,
        number=ticket.number,
        service=ticket.service,
        department=ticket.department,
        priority=ticket.priority,
        issued_at=ticket.issued_at,
        seq=engine.state.call_seq + 1,
        recall=recall,
    )


# -- results -------------------------------------------------------------------------------------


def window_result(engine: Engine, window_id: str, ticket: str | None, clock: Now) -> dict[str, Any]:
    return m.WindowResult(
        window=views.window_state_message(engine, window_id),
        ticket=None
        if ticket is None
        else views.ticket_message(engine, engine.state.tickets[ticket], clock.ts),
    ).to_json()


def ticket_result(engine: Engine, ticket: Ticket, clock: Now) -> dict[str, Any]:
    return m.TicketResult(ticket=views.ticket_message(engine, ticket, clock.ts)).to_json()
