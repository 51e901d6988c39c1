"""The kiosk's ops: issue a ticket, reprint one, ask about one (docs/protocol.md "Kiosk")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from contract.protocol import iso
from hall.engine.errors import HallError
from hall.engine.handlers.common import (
    Handled,
    apply_events,
    check_kiosk,
    known_service,
    known_ticket,
    ticket_result,
)
from hall.engine.model import (
    WAITING,
    Event,
    IssueTicket,
    QueryTicket,
    QuotaWarning,
    Reprint,
    TicketIssued,
    TicketReprinted,
)
from hall.engine.now import Now
from hall.engine.numbering import format_number, ticket_id

if TYPE_CHECKING:
    from hall.engine.engine import Engine

PRIORITIES = ("normal", "priority")
LANGS = ("zh", "en")


def issue(engine: Engine, cmd: IssueTicket, clock: Now) -> Handled:
    check_kiosk(engine, cmd.kiosk)
    if cmd.deadline is not None and clock.dt > cmd.deadline:
        # The kiosk has told the visitor that no ticket came: issuing one now would be lost.
        raise HallError(
            "expired", "取号请求已过期，请重新取号", "the request arrived after its deadline"
        )
    code = cmd.service
    if not code and cmd.appointment is not None:
        code = engine.rules.booking(engine.state, cmd.appointment).service  # or unknown_booking
    service = known_service(engine, code)
    if cmd.priority not in PRIORITIES or cmd.lang not in LANGS:
        raise HallError("invalid_request", "请求格式有误", "priority or lang is not valid")
    state = engine.state
    appointment = engine.rules.check_issue(state, cmd, service, clock.dt)
    assert state.business_day is not None
    department = service.department
    seq = state.last_number.get(department, 0) + 1
    number = format_number(engine.prefix[department], seq, engine.config.limits.number_width)
    event = TicketIssued(
        at=clock.at,
        ticket=ticket_id(state.business_day, number),
        number=number,
        seq=seq,
        service=service.code,
        department=department,
        priority=cmd.priority,
        kiosk=cmd.kiosk,
        lang=cmd.lang,
        order=state.issue_order + 1,
        appointment=appointment.code if appointment else None,
        slot=iso(appointment.slot.astimezone(engine.zone)) if appointment else None,
        category=cmd.category,
    )
    today = state.services[service.code]
    before = today.issued_today
    events: list[Event] = apply_events(engine, [event])
    for level, cap in engine.rules.levels_crossed(service, today, before, before + 1):
        events += apply_events(
            engine, [QuotaWarning(clock.at, service.code, level, before + 1, cap)]
        )
    return events, ticket_result(engine, state.tickets[event.ticket], clock)


def reprint(engine: Engine, cmd: Reprint, clock: Now) -> Handled:
    check_kiosk(engine, cmd.kiosk)
    ticket = known_ticket(engine, cmd.ticket)
    if ticket.status != WAITING:
        raise HallError(
            "invalid_transition", "该号已不在等候中", "only a waiting ticket can be reprinted"
        )
    engine.rules.check_reprint(ticket)
    events = apply_events(engine, [TicketReprinted(clock.at, ticket.id, cmd.kiosk)])
    return events, ticket_result(engine, ticket, clock)


def query(engine: Engine, cmd: QueryTicket, clock: Now) -> Handled:
    check_kiosk(engine, cmd.kiosk)
    return [], ticket_result(engine, known_ticket(engine, cmd.ticket), clock)
