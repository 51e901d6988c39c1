"""The window terminal's ops (docs/protocol.md "Window"): log in and out, call, serve, hand on, pause.

The lifecycle: `call_next`/`call`/`unhold`/`logout` close the current ticket as done first; `finish`
takes a called or serving ticket; `no_show` and `recall` only a called one; `pause` needs no current
ticket. `close_window` is shared with the operator's `force_logout`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hall.config.pins import verify_pin
from hall.engine.errors import HallError
from hall.engine.handlers.common import (
    Handled,
    apply_events,
    call_event,
    calling_window,
    close_current,
    current_ticket,
    done_event,
    known_service,
    known_ticket,
    open_window,
    window_of,
    window_result,
)
from hall.engine.model import (
    CALLED,
    HELD,
    WAITING,
    CallNext,
    CallNumber,
    ClerkLoggedIn,
    ClerkLoggedOut,
    Event,
    Finish,
    Hold,
    Login,
    Logout,
    NoShow,
    Pause,
    Recall,
    Resume,
    Start,
    Ticket,
    TicketCalled,
    TicketCalledBack,
    TicketHeld,
    TicketNoShow,
    TicketRecalled,
    TicketRequeued,
    TicketStarted,
    TicketTransferred,
    TransferToService,
    TransferToWindow,
    Unhold,
    WindowPaused,
    WindowResumed,
    WindowState,
)
from hall.engine.now import Now
from hall.engine.numbering import normalize_number
from hall.engine.policy import pick_next

if TYPE_CHECKING:
    from hall.engine.engine import Engine


def login(engine: Engine, cmd: Login, clock: Now) -> Handled:
    config, window = window_of(engine, cmd.window)
    clerk = engine.config.clerk(cmd.clerk)
    if clerk is None or clerk.id not in config.clerks:
        raise HallError(
            "unknown_clerk",
            "该工作人员不能在本窗口登录",
            "this clerk is not on this window's roster",
        )
    if clerk.pin_hash is not None and (cmd.pin is None or not verify_pin(cmd.pin, clerk.pin_hash)):
        raise HallError("wrong_pin", "密码错误", "wrong PIN")
    if window.clerk == clerk.id:  # a terminal that restarted logs in again: nothing changes
        return [], window_result(engine, window.id, window.current, clock)
    if window.clerk is not None:
        raise HallError(
            "already_logged_in",
            "本窗口已有人登录，请先退出",
            "another clerk is logged in here: log out first",
        )
    for configured in engine.config.windows:  # not a window that a config edit dropped
        other = engine.state.windows[configured.id]
        if other.clerk == clerk.id:
            raise HallError(
                "already_logged_in",
                f"该工作人员已在{other.id}登录",
                f"this clerk is logged in at {other.id}",
            )
    events = apply_events(engine, [ClerkLoggedIn(clock.at, window.id, clerk.id)])
    return events, window_result(engine, window.id, None, clock)


def close_window(engine: Engine, window: WindowState, operator: str | None, clock: Now) -> Handled:
    """Log the clerk out: the current ticket is done, held ones go back to their queues."""
    closed = window.current
    assert window.clerk is not None
    events = close_current(engine, window, clock)
    events += [TicketRequeued(clock.at, window.id, held) for held in window.held]
    events.append(ClerkLoggedOut(clock.at, window.id, window.clerk, operator))
    apply_events(engine, events)
    return events, window_result(engine, window.id, closed, clock)


def logout(engine: Engine, cmd: Logout, clock: Now) -> Handled:
    _, window = open_window(engine, cmd.window)
    return close_window(engine, window, None, clock)


def call_next(engine: Engine, cmd: CallNext, clock: Now) -> Handled:
    _, window = calling_window(engine, cmd.window)
    chosen = pick_next(engine.state.index, window.id, engine.tiers[window.id], clock.ts)
    if chosen is None:
        raise HallError("queue_empty", "当前没有等候的号", "nobody is waiting for this window")
    return _call(engine, window, engine.state.tickets[chosen], clock)


def _call(engine: Engine, window: WindowState, ticket: Ticket, clock: Now) -> Handled:
    events = apply_events(engine, close_current(engine, window, clock))
    events += apply_events(engine, [call_event(engine, TicketCalled, window, ticket, 0, clock)])
    return events, window_result(engine, window.id, ticket.id, clock)


def _on_current(
    engine: Engine, window: WindowState, ticket: Ticket, event: Event, clock: Now
) -> Handled:
    """Apply one event about the window's current ticket; the answer shows both."""
    return apply_events(engine, [event]), window_result(engine, window.id, ticket.id, clock)


def call_number(engine: Engine, cmd: CallNumber, clock: Now) -> Handled:
    _, window = calling_window(engine, cmd.window)
    number = normalize_number(cmd.number)
    found = engine.state.by_number.get(number)
    if found is None:
        raise HallError("unknown_ticket", "今天没有这个号", f"no ticket numbered {number!r} today")
    ticket = engine.state.tickets[found]
    if ticket.status != WAITING:
        raise HallError("invalid_transition", "该号不在等候中", f"ticket {number} is not waiting")
    if ticket.window is not None and ticket.window != window.id:
        raise HallError(
            "invalid_transition",
            "该号已转给其他窗口",
            f"ticket {number} waits for {ticket.window}",
        )
    if ticket.window is None and ticket.service not in engine.window_services[window.id]:
        raise HallError(
            "invalid_transition",
            "本窗口不办理该号的业务",
            f"this window does not serve {ticket.service}",
        )
    return _call(engine, window, ticket, clock)


def recall(engine: Engine, cmd: Recall, clock: Now) -> Handled:
    _, window = open_window(engine, cmd.window)
    ticket = current_ticket(engine, window)
    if ticket.status != CALLED:
        raise HallError(
            "invalid_transition", "已在办理中，无需重呼", "the visitor is already being served"
        )
    if ticket.cap_recalls >= engine.config.limits.recall_cap:
        raise HallError("recall_limit", "已达重呼次数上限", "this ticket cannot be recalled again")
    event = call_event(engine, TicketRecalled, window, ticket, ticket.recalls + 1, clock)
    return _on_current(engine, window, ticket, event, clock)


def start(engine: Engine, cmd: Start, clock: Now) -> Handled:
    _, window = open_window(engine, cmd.window)
    ticket = current_ticket(engine, window)
    if ticket.status != CALLED:
        raise HallError("invalid_transition", "已在办理中", "service has already started")
    return _on_current(engine, window, ticket, TicketStarted(clock.at, window.id, ticket.id), clock)


def finish(engine: Engine, cmd: Finish, clock: Now) -> Handled:
    _, window = open_window(engine, cmd.window)
    ticket = current_ticket(engine, window)
    done = done_event(engine, window, ticket, clock, cmd.outcome)
    return _on_current(engine, window, ticket, done, clock)


def no_show(engine: Engine, cmd: NoShow, clock: Now) -> Handled:
    _, window = open_window(engine, cmd.window)
    ticket = current_ticket(engine, window)
    if ticket.status != CALLED:
        raise HallError(
            "invalid_transition",
            "已在办理中，不能记为未到",
            "the visitor is being served: finish instead",
        )
    return _on_current(engine, window, ticket, TicketNoShow(clock.at, window.id, ticket.id), clock)


def transfer_to_service(engine: Engine, cmd: TransferToService, clock: Now) -> Handled:
    _, window = open_window(engine, cmd.window)
    service = known_service(engine, cmd.service)
    ticket = current_ticket(engine, window)
    event = TicketTransferred(
        clock.at, window.id, ticket.id, service.code, service.department, None
    )
    return _on_current(engine, window, ticket, event, clock)


def transfer_to_window(engine: Engine, cmd: TransferToWindow, clock: Now) -> Handled:
    _, window = open_window(engine, cmd.window)
    if engine.config.window(cmd.target) is None:
        raise HallError("unknown_window", "没有这个窗口", f"no window {cmd.target!r}")
    if cmd.target == window.id:
        raise HallError("invalid_transition", "不能转给本窗口", "cannot transfer to this window")
    ticket = current_ticket(engine, window)
    event = TicketTransferred(
        clock.at, window.id, ticket.id, ticket.service, ticket.department, cmd.target
    )
    return _on_current(engine, window, ticket, event, clock)


def transfer(engine: Engine, cmd: TransferToService | TransferToWindow, clock: Now) -> Handled:
    """The op `transfer`: to a service's queue, or to wait for one window."""
    if isinstance(cmd, TransferToService):
        return transfer_to_service(engine, cmd, clock)
    return transfer_to_window(engine, cmd, clock)


def hold(engine: Engine, cmd: Hold, clock: Now) -> Handled:
    _, window = open_window(engine, cmd.window)
    ticket = current_ticket(engine, window)
    return _on_current(engine, window, ticket, TicketHeld(clock.at, window.id, ticket.id), clock)


def unhold(engine: Engine, cmd: Unhold, clock: Now) -> Handled:
    _, window = calling_window(engine, cmd.window)
    ticket = known_ticket(engine, cmd.ticket)
    if ticket.status != HELD or ticket.id not in window.held:
        raise HallError(
            "invalid_transition", "该号不在本窗口挂起", "this ticket is not held at this window"
        )
    events = apply_events(engine, close_current(engine, window, clock))
    call = call_event(engine, TicketCalledBack, window, ticket, ticket.recalls + 1, clock)
    events += apply_events(engine, [call])
    return events, window_result(engine, window.id, ticket.id, clock)


def pause(engine: Engine, cmd: Pause, clock: Now) -> Handled:
    _, window = open_window(engine, cmd.window)
    if window.paused:
        raise HallError("invalid_transition", "窗口已暂停", "this window is already paused")
    if window.current is not None:
        raise HallError(
            "invalid_transition", "请先办结当前号", "finish the current ticket before pausing"
        )
    events = apply_events(engine, [WindowPaused(clock.at, window.id, cmd.reason)])
    return events, window_result(engine, window.id, None, clock)


def resume(engine: Engine, cmd: Resume, clock: Now) -> Handled:
    _, window = open_window(engine, cmd.window)
    if not window.paused:
        raise HallError("invalid_transition", "窗口未暂停", "this window is not paused")
    events = apply_events(engine, [WindowResumed(clock.at, window.id)])
    return events, window_result(engine, window.id, None, clock)
