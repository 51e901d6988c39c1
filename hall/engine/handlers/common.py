"""What every command handler of the engine shares: lookups that refuse, event builders, results.

A handler is `handler(engine, command, now) -> (events, result)`: it checks the command against
the state, raises a HallError to refuse (before it has applied anything), or applies its events
to the in-memory state through `apply_events` and returns them with the contract's `result` (the
store's durable `commit` of them comes later, in hall/store/core.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeAlias

from contract import messages as m
from contract.protocol import iso
from hall.config.schema import HallConfig, Service, Window
from hall.engine import views
from hall.engine.cases import case_due
from hall.engine.errors import HallError
from hall.engine.model import CallEvent, Event, Ticket, TicketDone, WindowState
from hall.engine.now import Now, business_day_of

if TYPE_CHECKING:
    from hall.engine.engine import Engine

Handled: TypeAlias = tuple[list[Event], dict[str, Any]]


def apply_events(engine: Engine, events: list[Event]) -> list[Event]:
    """Apply `events` in order to the engine's in-memory state and give them back, for the
    handler's answer. Nothing is durable yet: the core stores them after the handler returns."""
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


# The device classes that send requests, as a refusal names them.
_DEVICE_ZH = {"kiosk": "取号机", "window": "窗口", "evaluator": "评价器", "operator": "管理终端"}


def check_device(config: HallConfig, device_class: str, device_id: str) -> None:
    """Refuse `unknown_device` unless `device_id` is a configured device of `device_class`: the one
    membership check, of the request decoder and of the handlers (the table is the config's)."""
    if not config.has_device(device_class, device_id):
        raise HallError(
            "unknown_device",
            f"未知的{_DEVICE_ZH.get(device_class, '设备')}",
            f"unknown {device_class} {device_id!r}: not in the hall's config",
        )


def check_kiosk(engine: Engine, kiosk_id: str) -> None:
    check_device(engine.config, "kiosk", kiosk_id)


def check_operator(engine: Engine, operator_id: str) -> None:
    check_device(engine.config, "operator", operator_id)


def window_of(engine: Engine, window_id: str) -> tuple[Window, WindowState]:
    check_device(engine.config, "window", window_id)
    config = engine.config.window(window_id)
    assert config is not None
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
    # Accepted on the business day (a finish at 01:00, before a 03:00 rollover, is the day's).
    due = case_due(
        engine.config, ticket.service, outcome, business_day_of(clock.dt, engine.config.site)
    )
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
