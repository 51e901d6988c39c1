"""The evaluator's and the operator's ops, bookings included, and the service's two timers.

docs/protocol.md "Evaluator" and "Operator": a rating of a ticket just done; an operator's
cancel, force_logout, service (open/close, cap), notice, booking_add and booking_cancel.
`Rollover` and `ExpireRatings` come from the service's timers, not from a device.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from contract import messages as m
from contract.protocol import iso
from hall.engine import views
from hall.engine.errors import HallError
from hall.engine.handlers.alarms import bad_rating
from hall.engine.handlers.common import (
    Handled,
    apply_events,
    check_device,
    check_operator,
    known_service,
    known_ticket,
    ticket_result,
)
from hall.engine.handlers.window import close_window
from hall.engine.model import (
    DONE,
    AddBooking,
    Booking,
    BookingAdded,
    BookingCancelled,
    Cancel,
    CancelBooking,
    Event,
    ExpireRatings,
    ForceLogout,
    NoticeChanged,
    QuotaWarning,
    Rate,
    RatingExpired,
    Rollover,
    ServiceChanged,
    SetNotice,
    SetService,
    TicketCancelled,
    TicketRated,
)
from hall.engine.now import Now
from hall.engine.rules import normalize_code

if TYPE_CHECKING:
    from hall.engine.engine import Engine

NOTICE_MAX = 500  # characters of an operator's notice
BOOKING_DAYS_AHEAD = 366  # how far ahead a booking may be made

# -- evaluator -----------------------------------------------------------------------------------


def rate(engine: Engine, cmd: Rate, clock: Now) -> Handled:
    check_device(engine.config, "evaluator", cmd.evaluator)
    evaluator = engine.config.evaluator(cmd.evaluator)
    assert evaluator is not None
    if isinstance(cmd.score, bool) or not isinstance(cmd.score, int) or not 1 <= cmd.score <= 5:
        raise HallError("invalid_request", "评分应为1到5", "score must be 1..5")
    ticket = known_ticket(engine, cmd.ticket)
    if ticket.score is not None:
        raise HallError("already_rated", "该号已评价", "this ticket has already been rated")
    if (
        ticket.status != DONE
        or ticket.window != evaluator.window
        or ticket.rate_until_ts is None
        or clock.ts > ticket.rate_until_ts
    ):
        raise HallError(
            "not_rateable",
            "该号不能在此评价",
            "only a ticket just done at this window can be rated",
        )
    assert ticket.window is not None and ticket.clerk is not None
    event = TicketRated(
        at=clock.at,
        evaluator=evaluator.id,
        ticket=ticket.id,
        window=ticket.window,
        clerk=ticket.clerk,
        service=ticket.service,
        score=cmd.score,
        reasons=tuple(cmd.reasons),
    )
    events: list[Event] = apply_events(engine, [event])
    if cmd.score <= 2:  # 不满意 or 非常不满意: the monitoring room follows it up
        alarm = bad_rating(engine, ticket.id, ticket.number, ticket.window, cmd.score, clock)
        events += apply_events(engine, [alarm])
    result = m.RateResult(
        ticket=views.ticket_message(engine, ticket, clock.ts),
        rating=m.RatingGiven(score=event.score, reasons=tuple(event.reasons)),
    )
    return events, result.to_json()


def expire_ratings(engine: Engine, cmd: ExpireRatings, clock: Now) -> Handled:
    expired = [
        RatingExpired(clock.at, w.id, w.rating)
        for w in engine.state.windows.values()
        if w.rating is not None and w.rating_until_ts is not None and w.rating_until_ts < clock.ts
    ]
    events: list[Event] = apply_events(engine, [*expired])
    return events, {"expired": [e.window for e in expired]}


# -- operator ------------------------------------------------------------------------------------


def cancel(engine: Engine, cmd: Cancel, clock: Now) -> Handled:
    check_operator(engine, cmd.operator)
    ticket = known_ticket(engine, cmd.ticket)
    if ticket.closed:
        raise HallError(
            "invalid_transition", "该号已结束", f"ticket {ticket.number} is {ticket.status}"
        )
    events = apply_events(engine, [TicketCancelled(clock.at, cmd.operator, ticket.id)])
    return events, ticket_result(engine, ticket, clock)


def force_logout(engine: Engine, cmd: ForceLogout, clock: Now) -> Handled:
    check_operator(engine, cmd.operator)
    if engine.config.window(cmd.window) is None:
        raise HallError("unknown_window", "没有这个窗口", f"no window {cmd.window!r}")
    window = engine.state.windows[cmd.window]
    if window.clerk is None:
        raise HallError("not_logged_in", "窗口未登录", "no clerk is logged in at this window")
    return close_window(engine, window, cmd.operator, clock)


def set_service(engine: Engine, cmd: SetService, clock: Now) -> Handled:
    check_operator(engine, cmd.operator)
    service = known_service(engine, cmd.service)
    if cmd.open is None and cmd.cap is None and not cmd.clear_cap:
        raise HallError("invalid_request", "请给出 open 或 cap", "give open or cap")
    if cmd.cap is not None and (isinstance(cmd.cap, bool) or cmd.cap < 0):
        raise HallError("invalid_request", "cap 应为非负整数", "cap must be a whole number >= 0")
    today = engine.state.services[service.code]
    is_open = today.open if cmd.open is None else cmd.open
    cap = None if cmd.clear_cap else (today.cap if cmd.cap is None else cmd.cap)
    was_reached = engine.rules.cap_reached(service, today)
    change = ServiceChanged(clock.at, cmd.operator, service.code, is_open, cap)
    events = apply_events(engine, [change])
    if not was_reached and engine.rules.cap_reached(service, today):
        # A cap lowered to what has been issued already: walk-ins stop now.
        cap_now = engine.rules.cap_of(service, today)
        warning = QuotaWarning(clock.at, service.code, "reached", today.issued_today, cap_now)
        events += apply_events(engine, [warning])
    return events, m.ServiceResult(service=views.service_message(engine, service)).to_json()


def set_notice(engine: Engine, cmd: SetNotice, clock: Now) -> Handled:
    check_operator(engine, cmd.operator)
    if len(cmd.text) > NOTICE_MAX:
        raise HallError(
            "invalid_request", "通知太长", f"a notice has at most {NOTICE_MAX} characters"
        )
    text = cmd.text.strip() or None
    events = apply_events(engine, [NoticeChanged(clock.at, cmd.operator, text)])
    return events, m.NoticeResult(notice=text).to_json()


# -- bookings ------------------------------------------------------------------------------------


def add_booking(engine: Engine, cmd: AddBooking, clock: Now) -> Handled:
    check_operator(engine, cmd.operator)
    service = known_service(engine, cmd.service)
    try:
        day = date.fromisoformat(cmd.day)
        slot = datetime.strptime(cmd.slot, "%H:%M").time()
    except ValueError:
        raise HallError(
            "invalid_request", "日期或时段格式有误", "day is YYYY-MM-DD and slot is HH:MM"
        ) from None
    today = engine.state.business_day
    assert today is not None
    if not today <= day <= today + timedelta(days=BOOKING_DAYS_AHEAD):
        raise HallError(
            "invalid_request",
            "预约日期须为今天或以后一年内",
            f"a booking's day is from {today} to a year ahead",
        )
    code = normalize_code(cmd.code)
    existing = engine.state.bookings.get(code)
    if existing is not None and existing.ticket is not None:
        raise HallError("booking_used", "该预约已取过号", f"booking {code} has been checked in")
    slot_at = iso(datetime.combine(day, slot, tzinfo=engine.zone))
    if existing is not None and (existing.service, existing.day, existing.slot) == (
        service.code,
        day.isoformat(),
        slot_at,
    ):  # the same booking sent again (an import run twice): nothing changes
        return [], m.BookingResult(booking=booking_message(existing), changed=False).to_json()
    event = BookingAdded(clock.at, cmd.operator, code, service.code, day.isoformat(), slot_at)
    events = apply_events(engine, [event])
    booking = booking_message(engine.state.bookings[code])
    return events, m.BookingResult(booking=booking, changed=True).to_json()


def cancel_booking(engine: Engine, cmd: CancelBooking, clock: Now) -> Handled:
    check_operator(engine, cmd.operator)
    booking = engine.rules.booking(engine.state, cmd.code)
    if booking.ticket is not None:
        raise HallError(
            "booking_used", "该预约已取过号", f"booking {booking.code} has been checked in"
        )
    result = m.BookingResult(booking=booking_message(booking)).to_json()
    events = apply_events(engine, [BookingCancelled(clock.at, cmd.operator, booking.code)])
    return events, result


def booking_message(booking: Booking) -> m.Booking:
    """A booking as operator answers carry it (`slot` as the wire's HH:MM)."""
    return m.Booking(
        code=booking.code,
        service=booking.service,
        day=booking.day,
        slot=booking.slot[11:16],
        ticket=booking.ticket,
    )


# -- the service's timers ------------------------------------------------------------------------


def rollover(engine: Engine, cmd: Rollover, clock: Now) -> Handled:
    # handle() has already started the new day if `now` is in one; nothing is left to do.
    day = engine.state.business_day
    return [], {"business_day": day.isoformat() if day else None}
