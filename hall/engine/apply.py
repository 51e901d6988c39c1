"""How each event changes the engine's state: the only mutators, so replay gives the same state.

`Engine.apply(event)` calls the one function of the event's type in `APPLIERS`. Every function reads
the event alone (and the config's limits): never the clock or the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from hall.engine.handlers import alarms, cases
from hall.engine.model import (
    AT_WINDOW,
    CALLED,
    CANCELLED,
    DONE,
    HELD,
    NO_SHOW,
    SERVING,
    WAITING,
    AlarmAcked,
    AlarmCleared,
    AlarmNoted,
    AlarmRaised,
    Booking,
    BookingAdded,
    BookingCancelled,
    CallEvent,
    CaseClosed,
    ClerkLoggedIn,
    ClerkLoggedOut,
    DayRolledOver,
    HallState,
    NoticeChanged,
    NumberingAdvanced,
    QuotaWarning,
    RatingExpired,
    ServiceChanged,
    ServiceState,
    Ticket,
    TicketCalled,
    TicketCalledBack,
    TicketCancelled,
    TicketDone,
    TicketHeld,
    TicketIssued,
    TicketNoShow,
    TicketRated,
    TicketRecalled,
    TicketReprinted,
    TicketRequeued,
    TicketReturned,
    TicketStarted,
    TicketTransferred,
    WindowPaused,
    WindowRemoved,
    WindowResumed,
    WindowState,
)
from hall.engine.now import timestamp

if TYPE_CHECKING:
    from hall.engine.engine import Engine


# Events name windows and services of the config they were made under; one that a later config
# dropped must not stop a replay, so the appliers create its state rather than fail.
def window_state(state: HallState, window_id: str) -> WindowState:
    window = state.windows.get(window_id)
    if window is None:
        window = state.windows[window_id] = WindowState(id=window_id)
    return window


def service_state(state: HallState, code: str) -> ServiceState:
    today = state.services.get(code)
    if today is None:
        today = state.services[code] = ServiceState()
    return today


def note_kiosk_issue(state: HallState, kiosk: str, ts: int) -> None:
    """Keep each kiosk's issue times of the last minute, for its rate limit."""
    recent = state.kiosk_issues.setdefault(kiosk, [])
    recent.append(ts)
    while recent and recent[0] <= ts - 60:
        del recent[0]


# -- kiosk ---------------------------------------------------------------------------------------


def issued(engine: Engine, e: TicketIssued) -> None:
    state = engine.state
    ticket = Ticket(
        id=e.ticket,
        number=e.number,
        service=e.service,
        department=e.department,
        priority=e.priority,
        issued_at=e.at,
        issued_ts=timestamp(e.at),
        order=e.order,
        kiosk=e.kiosk,
        lang=e.lang,
        appointment=e.appointment,
        slot=e.slot,
        slot_ts=timestamp(e.slot) if e.slot else None,
        category=e.category,
    )
    state.tickets[ticket.id] = ticket
    state.by_number[ticket.number] = ticket.id
    note_kiosk_issue(state, e.kiosk, ticket.issued_ts)
    if e.appointment is not None:
        booking = state.bookings.get(e.appointment)
        if booking is not None:
            booking.ticket = ticket.id
    state.last_number[e.department] = e.seq
    state.issue_order = max(state.issue_order, e.order)
    service_state(state, e.service).issued_today += 1
    state.index.add(ticket)


def reprinted(engine: Engine, e: TicketReprinted) -> None:
    engine.state.tickets[e.ticket].reprints += 1


def quota_warning(engine: Engine, e: QuotaWarning) -> None:
    pass  # a record for the alarm and the statistics: it changes no state


# -- window --------------------------------------------------------------------------------------


def _set_window(
    window: WindowState, clerk: str | None, paused: bool, reason: str | None, at: str
) -> None:
    """A login, logout, pause or resume: who is at the window, whether paused and why, since when."""
    window.clerk = clerk
    window.paused = paused
    window.reason = reason
    window.since = at


def logged_in(engine: Engine, e: ClerkLoggedIn) -> None:
    _set_window(window_state(engine.state, e.window), e.clerk, False, None, e.at)


def logged_out(engine: Engine, e: ClerkLoggedOut) -> None:
    _set_window(window_state(engine.state, e.window), None, False, None, e.at)


def paused(engine: Engine, e: WindowPaused) -> None:
    window = window_state(engine.state, e.window)
    _set_window(window, window.clerk, True, e.reason, e.at)


def resumed(engine: Engine, e: WindowResumed) -> None:
    window = window_state(engine.state, e.window)
    _set_window(window, window.clerk, False, None, e.at)


def _record_call(state: HallState, e: CallEvent) -> None:
    state.call_seq = e.seq
    state.recent_calls.append(e)
    if len(state.recent_calls) > HallState.RECENT_CALLS:
        del state.recent_calls[0]


def called(engine: Engine, e: TicketCalled) -> None:
    state = engine.state
    ticket = state.tickets[e.ticket]
    state.index.remove(ticket)
    ticket.status = CALLED
    ticket.window = e.window
    ticket.clerk = e.clerk
    ticket.recalls = 0
    ticket.cap_recalls = 0
    ticket.called_ts = timestamp(e.at)
    ticket.started_ts = None
    window_state(state, e.window).current = ticket.id
    _record_call(state, e)


def recalled(engine: Engine, e: TicketRecalled) -> None:
    ticket = engine.state.tickets[e.ticket]
    ticket.recalls = e.recall
    ticket.cap_recalls += 1
    _record_call(engine.state, e)


def called_back(engine: Engine, e: TicketCalledBack) -> None:
    state = engine.state
    ticket = state.tickets[e.ticket]
    window = window_state(state, e.window)
    window.held.remove(ticket.id)
    window.current = ticket.id
    ticket.status = CALLED
    ticket.clerk = e.clerk
    ticket.recalls = e.recall
    ticket.called_ts = timestamp(e.at)  # service time counts from the call-back
    ticket.started_ts = None
    _record_call(state, e)


def started(engine: Engine, e: TicketStarted) -> None:
    ticket = engine.state.tickets[e.ticket]
    ticket.status = SERVING
    ticket.started_ts = timestamp(e.at)


def done(engine: Engine, e: TicketDone) -> None:
    state = engine.state
    ticket = state.tickets[e.ticket]
    window = window_state(state, e.window)
    ticket.status = DONE
    ticket.done_at = e.at
    ticket.rate_until = e.until
    ticket.rate_until_ts = timestamp(e.until)
    window.current = None
    samples = service_state(state, e.service).samples
    samples.append(e.seconds)
    excess = len(samples) - engine.config.limits.estimate_samples
    if excess > 0:
        del samples[:excess]
    if engine.config.evaluator_of(e.window) is not None:  # the evaluator's screen asks for it
        window.rating = ticket.id
        window.rating_until = e.until
        window.rating_until_ts = ticket.rate_until_ts
    cases.case_opened(
        engine, e
    )  # a case accepted (受理) opens here (hall/engine/handlers/cases.py)


def no_show(engine: Engine, e: TicketNoShow) -> None:
    engine.state.tickets[e.ticket].status = NO_SHOW
    window_state(engine.state, e.window).current = None


def held(engine: Engine, e: TicketHeld) -> None:
    window = window_state(engine.state, e.window)
    engine.state.tickets[e.ticket].status = HELD
    window.current = None
    window.held.append(e.ticket)


def _wait_again(state: HallState, ticket: Ticket, target: str | None) -> None:
    ticket.status = WAITING
    ticket.window = target
    ticket.clerk = None
    ticket.recalls = 0
    ticket.cap_recalls = 0
    ticket.called_ts = None
    ticket.started_ts = None
    state.index.add(ticket)


def requeued(engine: Engine, e: TicketRequeued) -> None:
    state = engine.state
    ticket = state.tickets[e.ticket]
    window_state(state, e.window).held.remove(ticket.id)
    _wait_again(state, ticket, None)


def transferred(engine: Engine, e: TicketTransferred) -> None:
    state = engine.state
    ticket = state.tickets[e.ticket]
    window_state(state, e.window).current = None
    ticket.service = e.service
    ticket.department = e.department
    # A booking's slot was for the old service: in the new queue the ticket waits by its age.
    ticket.slot = None
    ticket.slot_ts = None
    _wait_again(state, ticket, e.target)


# -- evaluator -----------------------------------------------------------------------------------


def _clear_rating(window: WindowState, ticket: str) -> None:
    """The evaluator stops asking about `ticket` (rated or expired), if it still was."""
    if window.rating == ticket:
        window.rating = None
        window.rating_until = None
        window.rating_until_ts = None


def rated(engine: Engine, e: TicketRated) -> None:
    engine.state.tickets[e.ticket].score = e.score
    _clear_rating(window_state(engine.state, e.window), e.ticket)


def rating_expired(engine: Engine, e: RatingExpired) -> None:
    _clear_rating(window_state(engine.state, e.window), e.ticket)


# -- operator ------------------------------------------------------------------------------------


def cancelled(engine: Engine, e: TicketCancelled) -> None:
    state = engine.state
    ticket = state.tickets[e.ticket]
    if ticket.status == WAITING:
        state.index.remove(ticket)
    elif ticket.status in AT_WINDOW and ticket.window is not None:
        state.windows[ticket.window].current = None
    elif ticket.status == HELD and ticket.window is not None:
        state.windows[ticket.window].held.remove(ticket.id)
    ticket.status = CANCELLED
    ticket.reason = e.reason


def returned(engine: Engine, e: TicketReturned) -> None:
    state = engine.state
    ticket = state.tickets[e.ticket]
    window = state.windows.get(e.window)
    if ticket.status == WAITING:
        state.index.remove(ticket)  # waiting for that window: now for any window of its service
    elif window is not None and window.current == ticket.id:
        window.current = None
    elif window is not None and ticket.id in window.held:
        window.held.remove(ticket.id)
    _wait_again(state, ticket, None)
    ticket.reason = e.reason


def window_removed(engine: Engine, e: WindowRemoved) -> None:
    engine.state.windows.pop(e.window, None)


def numbering_advanced(engine: Engine, e: NumberingAdvanced) -> None:
    last = engine.state.last_number
    last[e.department] = max(last.get(e.department, 0), e.last)


def service_changed(engine: Engine, e: ServiceChanged) -> None:
    today = service_state(engine.state, e.service)
    today.open = e.open
    today.cap = e.cap


def notice_changed(engine: Engine, e: NoticeChanged) -> None:
    engine.state.notice = e.text


def booking_added(engine: Engine, e: BookingAdded) -> None:
    engine.state.bookings[e.code] = Booking(e.code, e.service, e.day, e.slot)


def booking_cancelled(engine: Engine, e: BookingCancelled) -> None:
    engine.state.bookings.pop(e.code, None)


# -- the day -------------------------------------------------------------------------------------


def rolled_over(engine: Engine, e: DayRolledOver) -> None:
    # The old day's tickets leave the live state (their events stay in the store for statistics):
    # unserved ones are expired, and no ticket of the old day can be called, rated or reprinted.
    # `e.expired` names them for the record; the live state simply starts empty.
    state = engine.state
    state.business_day = date.fromisoformat(e.business_day)
    state.tickets.clear()
    state.by_number.clear()
    state.index.clear()
    state.last_number.clear()
    state.kiosk_issues.clear()
    # Bookings of days that are over can never check in again.
    for code in [c for c, b in state.bookings.items() if b.day < e.business_day]:
        del state.bookings[code]
    state.call_seq = 0
    state.recent_calls.clear()
    for window in state.windows.values():
        if window.clerk is not None:
            window.since = e.at
        window.clerk = None
        window.paused = False
        window.reason = None
        window.current = None
        window.held.clear()
        window.rating = None
        window.rating_until = None
        window.rating_until_ts = None
    for today in state.services.values():  # operators' closures and caps last one day
        today.open = True
        today.cap = None
        today.issued_today = 0
    cases.day_rolled_over(engine, e)  # open cases stay; those closed before today go


# The one applier of each event type (an event's other half is its class in hall/engine/model.py).
APPLIERS: dict[type[Any], Callable[[Engine, Any], None]] = {
    TicketIssued: issued,
    TicketReprinted: reprinted,
    QuotaWarning: quota_warning,
    ClerkLoggedIn: logged_in,
    ClerkLoggedOut: logged_out,
    WindowPaused: paused,
    WindowResumed: resumed,
    TicketCalled: called,
    TicketRecalled: recalled,
    TicketCalledBack: called_back,
    TicketStarted: started,
    TicketDone: done,
    TicketNoShow: no_show,
    TicketHeld: held,
    TicketRequeued: requeued,
    TicketTransferred: transferred,
    TicketRated: rated,
    RatingExpired: rating_expired,
    TicketCancelled: cancelled,
    ServiceChanged: service_changed,
    NoticeChanged: notice_changed,
    BookingAdded: booking_added,
    BookingCancelled: booking_cancelled,
    DayRolledOver: rolled_over,
    TicketReturned: returned,
    WindowRemoved: window_removed,
    NumberingAdvanced: numbering_advanced,
    # the open alarms: their appliers are with their handlers
    AlarmRaised: alarms.raised,
    AlarmCleared: alarms.alarm_cleared,
    AlarmAcked: alarms.acked,
    AlarmNoted: alarms.noted,
    CaseClosed: cases.case_closed,  # the open cases (hall/engine/handlers/cases.py)
}
