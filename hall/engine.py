"""The queue engine: commands in, events out, state queryable. Pure: no clock, no I/O.

`handle(command, now)` checks a command against the state, refuses it with a HallError (leaving the
state untouched) or returns the events it caused, already applied, and the contract's `result`.
`apply(event)` is the only mutator, so the store rebuilds the state by replaying stored events.
When `now` falls in a later business day than the state's, `handle` first rolls the day over (the
service also sends `Rollover` on a timer): a ticket issued at 03:00:01 belongs to the new day.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from hall import views
from hall.config import HallConfig, Site, Window
from hall.errors import HallError
from hall.model import (
    AT_WINDOW,
    CALLED,
    CANCELLED,
    DONE,
    HELD,
    NO_SHOW,
    SERVING,
    WAITING,
    AddBooking,
    Booking,
    BookingAdded,
    BookingCancelled,
    CallEvent,
    CallNext,
    CallNumber,
    Cancel,
    CancelBooking,
    ClerkLoggedIn,
    ClerkLoggedOut,
    Command,
    DayRolledOver,
    Event,
    ExpireRatings,
    Finish,
    ForceLogout,
    HallState,
    Hold,
    IssueTicket,
    Login,
    Logout,
    NoShow,
    NoticeChanged,
    Pause,
    QueryTicket,
    QuotaWarning,
    Rate,
    RatingExpired,
    Recall,
    Reprint,
    Resume,
    Rollover,
    ServiceChanged,
    ServiceState,
    SetNotice,
    SetService,
    Start,
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
    TicketStarted,
    TicketTransferred,
    TransferToService,
    TransferToWindow,
    Unhold,
    WindowPaused,
    WindowResumed,
    WindowState,
    event_type,
    state_from_dict,
    state_to_dict,
)
from hall.numbering import format_number, normalize_number, ticket_id
from hall.pins import verify_pin
from hall.policy import pick_next
from hall.protocol import iso
from hall.rules import Rules, normalize_code

log = logging.getLogger(__name__)

NOTICE_MAX = 500  # characters of an operator's notice
PRIORITIES = ("normal", "priority")
LANGS = ("zh", "en")
BOOKING_DAYS_AHEAD = 366  # how far ahead a booking may be made


@dataclass(frozen=True, slots=True)
class Outcome:
    events: tuple[Event, ...]
    result: dict[str, Any] = field(default_factory=dict)


def business_day_of(now: datetime, site: Site) -> date:
    """The business day `now` falls in: it changes at `site.rollover`, local time in the hall's zone."""
    if now.tzinfo is None:
        raise ValueError("the engine is given tz-aware times: got a naive datetime")
    local = now.astimezone(site.zone)
    if local.time() < site.rollover:
        return local.date() - timedelta(days=1)
    return local.date()


def timestamp(at: str) -> int:
    """Epoch seconds of an event's ISO time (events carry seconds, so this is exact)."""
    return int(datetime.fromisoformat(at).timestamp())


@dataclass(frozen=True, slots=True)
class _Now:
    """The time of one command, in the forms the handlers need."""

    dt: datetime  # in the hall's zone
    at: str  # ISO, as events carry it
    ts: int  # epoch seconds of `at`


def _refuse(code: str, zh: str, en: str) -> HallError:
    return HallError(code, zh, en)


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
        self._operators = frozenset(o.id for o in config.operators)
        self._kiosks = frozenset(k.id for k in config.kiosks)
        self._appliers: dict[type[Any], Callable[[Any], None]] = {
            TicketIssued: self._apply_issued,
            TicketReprinted: self._apply_reprinted,
            ClerkLoggedIn: self._apply_logged_in,
            ClerkLoggedOut: self._apply_logged_out,
            TicketCalled: self._apply_called,
            TicketRecalled: self._apply_recalled,
            TicketCalledBack: self._apply_called_back,
            TicketStarted: self._apply_started,
            TicketDone: self._apply_done,
            TicketNoShow: self._apply_no_show,
            TicketHeld: self._apply_held,
            TicketRequeued: self._apply_requeued,
            TicketTransferred: self._apply_transferred,
            WindowPaused: self._apply_paused,
            WindowResumed: self._apply_resumed,
            TicketCancelled: self._apply_cancelled,
            ServiceChanged: self._apply_service_changed,
            NoticeChanged: self._apply_notice,
            DayRolledOver: self._apply_rolled_over,
            TicketRated: self._apply_rated,
            RatingExpired: self._apply_rating_expired,
            BookingAdded: self._apply_booking_added,
            BookingCancelled: self._apply_booking_cancelled,
            QuotaWarning: self._apply_quota_warning,
        }
        self._handlers: dict[type[Any], Callable[[Any, _Now], tuple[list[Event], dict[str, Any]]]]
        self._handlers = {
            IssueTicket: self._issue,
            Reprint: self._reprint,
            QueryTicket: self._query,
            Login: self._login,
            Logout: self._logout,
            CallNext: self._call_next,
            CallNumber: self._call_number,
            Recall: self._recall,
            Start: self._start,
            Finish: self._finish,
            NoShow: self._no_show,
            TransferToService: self._transfer_to_service,
            TransferToWindow: self._transfer_to_window,
            Hold: self._hold,
            Unhold: self._unhold,
            Pause: self._pause,
            Resume: self._resume,
            Rate: self._rate,
            Cancel: self._cancel,
            ForceLogout: self._force_logout,
            SetService: self._set_service,
            SetNotice: self._set_notice,
            AddBooking: self._add_booking,
            CancelBooking: self._cancel_booking,
            Rollover: self._rollover,
            ExpireRatings: self._expire_ratings,
        }
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
            self._note_kiosk_issue(ticket.kiosk, ticket.issued_ts)
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

    # -- commands --------------------------------------------------------------------------------

    def _local(self, now: datetime) -> datetime:
        if now.tzinfo is None:
            raise ValueError("the engine is given tz-aware times: got a naive datetime")
        return now.astimezone(self.zone)

    def handle(self, command: Command, now: datetime) -> Outcome:
        """Apply a command at `now` (tz-aware): its events (already applied) and the `result`.

        Raises HallError to refuse; the state is then exactly as before.
        """
        local = self._local(now)
        at = iso(local)
        clock = _Now(local, at, timestamp(at))
        handler = self._handlers.get(type(command))
        if handler is None:
            raise TypeError(f"not an engine command: {command!r}")
        day = business_day_of(local, self.config.site)
        current = self.state.business_day
        if current is not None and day <= current:
            events, result = handler(command, clock)
            self._log(events)
            return Outcome(tuple(events), result)
        # A new business day starts before the command; a refusal must undo it too.
        saved = copy.deepcopy(self.state)
        roll = self._rollover_event(day, clock)
        self.apply(roll)
        try:
            events, result = handler(command, clock)
        except BaseException:
            self.state = saved
            raise
        all_events = [roll, *events]
        self._log(all_events)
        return Outcome(tuple(all_events), result)

    def _commit(self, events: list[Event]) -> list[Event]:
        for event in events:
            self.apply(event)
        return events

    def _log(self, events: Sequence[Event]) -> None:
        if not events or not log.isEnabledFor(logging.INFO):
            return
        for event in events:
            ids = " ".join(
                f"{name}={getattr(event, name)}"
                for name in ("ticket", "number", "window", "clerk", "service", "operator", "seq")
                if getattr(event, name, None) is not None
            )
            log.info("%s %s", event_type(event), ids)

    # -- lookups that refuse ---------------------------------------------------------------------

    def _ticket(self, ticket_id: str) -> Ticket:
        ticket = self.state.tickets.get(ticket_id)
        if ticket is None:
            raise _refuse("unknown_ticket", "没有这个号", f"no ticket {ticket_id!r} today")
        return ticket

    def _kiosk(self, kiosk_id: str) -> None:
        if kiosk_id not in self._kiosks:
            raise _refuse("unknown_device", "未知的取号机", f"unknown kiosk {kiosk_id!r}")

    def _operator(self, operator_id: str) -> None:
        if operator_id not in self._operators:
            raise _refuse("unknown_device", "未知的管理终端", f"unknown operator {operator_id!r}")

    def _window(self, window_id: str) -> tuple[Window, WindowState]:
        config = self.config.window(window_id)
        if config is None:
            raise _refuse("unknown_device", "未知的窗口", f"unknown window {window_id!r}")
        return config, self.state.windows[window_id]

    def _open_window(self, window_id: str) -> tuple[Window, WindowState]:
        config, window = self._window(window_id)
        if window.clerk is None:
            raise _refuse("not_logged_in", "窗口未登录", "no clerk is logged in at this window")
        return config, window

    def _calling_window(self, window_id: str) -> tuple[Window, WindowState]:
        config, window = self._open_window(window_id)
        if window.paused:
            raise _refuse("window_paused", "窗口暂停服务中", "this window is paused: resume first")
        return config, window

    def _current(self, window: WindowState) -> Ticket:
        if window.current is None:
            raise _refuse("no_current_ticket", "当前没有正在办理的号", "no current ticket")
        return self.state.tickets[window.current]

    # -- event builders --------------------------------------------------------------------------

    def _done_event(self, window: WindowState, ticket: Ticket, clock: _Now) -> TicketDone:
        began = ticket.started_ts if ticket.started_ts is not None else ticket.called_ts
        seconds = max(0, clock.ts - began) if began is not None else 0
        until = iso(clock.dt + timedelta(seconds=self.config.limits.rating_seconds))
        assert window.clerk is not None
        return TicketDone(
            clock.at, window.id, window.clerk, ticket.id, ticket.service, seconds, until
        )

    def _close_current(self, window: WindowState, clock: _Now) -> list[Event]:
        """`call_next`, `call`, `unhold` and `logout` first close the current ticket as done."""
        if window.current is None:
            return []
        return [self._done_event(window, self.state.tickets[window.current], clock)]

    def _call_event(
        self, cls: type[CallEvent], window: WindowState, ticket: Ticket, recall: int, clock: _Now
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
            seq=self.state.call_seq + 1,
            recall=recall,
        )

    def _rollover_event(self, day: date, clock: _Now) -> DayRolledOver:
        previous = self.state.business_day
        expired = tuple(t.id for t in self.state.tickets.values() if not t.closed)
        return DayRolledOver(
            clock.at, day.isoformat(), previous.isoformat() if previous else None, expired
        )

    # -- results ---------------------------------------------------------------------------------

    def _window_result(self, window_id: str, ticket: str | None, clock: _Now) -> dict[str, Any]:
        result: dict[str, Any] = {"window": views.window_state(self, window_id)}
        if ticket is not None:
            result["ticket"] = views.ticket_object(self, self.state.tickets[ticket], clock.ts)
        return result

    def _ticket_result(self, ticket: Ticket, clock: _Now) -> dict[str, Any]:
        return {"ticket": views.ticket_object(self, ticket, clock.ts)}

    # -- kiosk -----------------------------------------------------------------------------------

    def _issue(self, cmd: IssueTicket, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        self._kiosk(cmd.kiosk)
        service = self.config.service(cmd.service)
        if service is None:
            raise _refuse("unknown_service", "没有这项业务", f"no service {cmd.service!r}")
        if cmd.priority not in PRIORITIES or cmd.lang not in LANGS:
            raise _refuse("invalid_request", "请求格式有误", "priority or lang is not valid")
        appointment = self.rules.check_issue(self.state, cmd, service, clock.dt)
        state = self.state
        assert state.business_day is not None
        department = service.department
        seq = state.last_number.get(department, 0) + 1
        number = format_number(self.prefix[department], seq, self.config.limits.number_width)
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
            slot=iso(appointment.slot.astimezone(self.zone)) if appointment else None,
        )
        today = state.services[service.code]
        before = today.issued_today
        self.apply(event)
        events: list[Event] = [event]
        for level, cap in self.rules.levels_crossed(service, today, before, before + 1):
            events += self._commit([QuotaWarning(clock.at, service.code, level, before + 1, cap)])
        return events, self._ticket_result(state.tickets[event.ticket], clock)

    def _reprint(self, cmd: Reprint, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        self._kiosk(cmd.kiosk)
        ticket = self._ticket(cmd.ticket)
        if ticket.status != WAITING:
            raise _refuse(
                "invalid_transition", "该号已不在等候中", "only a waiting ticket can be reprinted"
            )
        self.rules.check_reprint(ticket)
        events = self._commit([TicketReprinted(clock.at, ticket.id, cmd.kiosk)])
        return events, self._ticket_result(ticket, clock)

    def _query(self, cmd: QueryTicket, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        self._kiosk(cmd.kiosk)
        return [], self._ticket_result(self._ticket(cmd.ticket), clock)

    # -- window ----------------------------------------------------------------------------------

    def _login(self, cmd: Login, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        config, window = self._window(cmd.window)
        clerk = self.config.clerk(cmd.clerk)
        if clerk is None or clerk.id not in config.clerks:
            raise _refuse(
                "unknown_clerk",
                "该工作人员不能在本窗口登录",
                "this clerk is not on this window's roster",
            )
        if clerk.pin_hash is not None and (
            cmd.pin is None or not verify_pin(cmd.pin, clerk.pin_hash)
        ):
            raise _refuse("wrong_pin", "密码错误", "wrong PIN")
        if window.clerk == clerk.id:  # a terminal that restarted logs in again: nothing changes
            return [], self._window_result(window.id, window.current, clock)
        if window.clerk is not None:
            raise _refuse(
                "already_logged_in",
                "本窗口已有人登录，请先退出",
                "another clerk is logged in here: log out first",
            )
        for other_id in self.tiers:  # the configured windows (not one a config edit dropped)
            other = self.state.windows[other_id]
            if other.clerk == clerk.id:
                raise _refuse(
                    "already_logged_in",
                    f"该工作人员已在{other.id}登录",
                    f"this clerk is logged in at {other.id}",
                )
        events = self._commit([ClerkLoggedIn(clock.at, window.id, clerk.id)])
        return events, self._window_result(window.id, None, clock)

    def _close_window(
        self, window: WindowState, operator: str | None, clock: _Now
    ) -> tuple[list[Event], dict[str, Any]]:
        closed = window.current
        assert window.clerk is not None
        events = self._close_current(window, clock)
        events += [TicketRequeued(clock.at, window.id, held) for held in window.held]
        events.append(ClerkLoggedOut(clock.at, window.id, window.clerk, operator))
        self._commit(events)
        return events, self._window_result(window.id, closed, clock)

    def _logout(self, cmd: Logout, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        _, window = self._open_window(cmd.window)
        return self._close_window(window, None, clock)

    def _call_next(self, cmd: CallNext, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        _, window = self._calling_window(cmd.window)
        chosen = pick_next(self.state.index, window.id, self.tiers[window.id], clock.ts)
        if chosen is None:
            raise _refuse("queue_empty", "当前没有等候的号", "nobody is waiting for this window")
        return self._call(window, self.state.tickets[chosen], clock)

    def _call(
        self, window: WindowState, ticket: Ticket, clock: _Now
    ) -> tuple[list[Event], dict[str, Any]]:
        events = self._commit(self._close_current(window, clock))
        events += self._commit([self._call_event(TicketCalled, window, ticket, 0, clock)])
        return events, self._window_result(window.id, ticket.id, clock)

    def _call_number(self, cmd: CallNumber, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        _, window = self._calling_window(cmd.window)
        number = normalize_number(cmd.number)
        found = self.state.by_number.get(number)
        if found is None:
            raise _refuse(
                "unknown_ticket", "今天没有这个号", f"no ticket numbered {number!r} today"
            )
        ticket = self.state.tickets[found]
        if ticket.status != WAITING:
            raise _refuse("invalid_transition", "该号不在等候中", f"ticket {number} is not waiting")
        if ticket.window is not None and ticket.window != window.id:
            raise _refuse(
                "invalid_transition",
                "该号已转给其他窗口",
                f"ticket {number} waits for {ticket.window}",
            )
        if ticket.window is None and ticket.service not in self.window_services[window.id]:
            raise _refuse(
                "invalid_transition",
                "本窗口不办理该号的业务",
                f"this window does not serve {ticket.service}",
            )
        return self._call(window, ticket, clock)

    def _recall(self, cmd: Recall, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        _, window = self._open_window(cmd.window)
        ticket = self._current(window)
        if ticket.status != CALLED:
            raise _refuse(
                "invalid_transition", "已在办理中，无需重呼", "the visitor is already being served"
            )
        if ticket.cap_recalls >= self.config.limits.recall_cap:
            raise _refuse(
                "recall_limit", "已达重呼次数上限", "this ticket cannot be recalled again"
            )
        event = self._call_event(TicketRecalled, window, ticket, ticket.recalls + 1, clock)
        return self._commit([event]), self._window_result(window.id, ticket.id, clock)

    def _start(self, cmd: Start, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        _, window = self._open_window(cmd.window)
        ticket = self._current(window)
        if ticket.status != CALLED:
            raise _refuse("invalid_transition", "已在办理中", "service has already started")
        events = self._commit([TicketStarted(clock.at, window.id, ticket.id)])
        return events, self._window_result(window.id, ticket.id, clock)

    def _finish(self, cmd: Finish, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        _, window = self._open_window(cmd.window)
        ticket = self._current(window)
        events = self._commit([self._done_event(window, ticket, clock)])
        return events, self._window_result(window.id, ticket.id, clock)

    def _no_show(self, cmd: NoShow, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        _, window = self._open_window(cmd.window)
        ticket = self._current(window)
        if ticket.status != CALLED:
            raise _refuse(
                "invalid_transition",
                "已在办理中，不能记为未到",
                "the visitor is being served: finish instead",
            )
        events = self._commit([TicketNoShow(clock.at, window.id, ticket.id)])
        return events, self._window_result(window.id, ticket.id, clock)

    def _transfer_to_service(
        self, cmd: TransferToService, clock: _Now
    ) -> tuple[list[Event], dict[str, Any]]:
        _, window = self._open_window(cmd.window)
        service = self.config.service(cmd.service)
        if service is None:
            raise _refuse("unknown_service", "没有这项业务", f"no service {cmd.service!r}")
        ticket = self._current(window)
        event = TicketTransferred(
            clock.at, window.id, ticket.id, service.code, service.department, None
        )
        return self._commit([event]), self._window_result(window.id, ticket.id, clock)

    def _transfer_to_window(
        self, cmd: TransferToWindow, clock: _Now
    ) -> tuple[list[Event], dict[str, Any]]:
        _, window = self._open_window(cmd.window)
        if self.config.window(cmd.target) is None:
            raise _refuse("unknown_window", "没有这个窗口", f"no window {cmd.target!r}")
        if cmd.target == window.id:
            raise _refuse("invalid_transition", "不能转给本窗口", "cannot transfer to this window")
        ticket = self._current(window)
        event = TicketTransferred(
            clock.at, window.id, ticket.id, ticket.service, ticket.department, cmd.target
        )
        return self._commit([event]), self._window_result(window.id, ticket.id, clock)

    def _hold(self, cmd: Hold, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        _, window = self._open_window(cmd.window)
        ticket = self._current(window)
        events = self._commit([TicketHeld(clock.at, window.id, ticket.id)])
        return events, self._window_result(window.id, ticket.id, clock)

    def _unhold(self, cmd: Unhold, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        _, window = self._calling_window(cmd.window)
        ticket = self._ticket(cmd.ticket)
        if ticket.status != HELD or ticket.id not in window.held:
            raise _refuse(
                "invalid_transition", "该号不在本窗口挂起", "this ticket is not held at this window"
            )
        events = self._commit(self._close_current(window, clock))
        call = self._call_event(TicketCalledBack, window, ticket, ticket.recalls + 1, clock)
        events += self._commit([call])
        return events, self._window_result(window.id, ticket.id, clock)

    def _pause(self, cmd: Pause, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        _, window = self._open_window(cmd.window)
        if window.paused:
            raise _refuse("invalid_transition", "窗口已暂停", "this window is already paused")
        if window.current is not None:
            raise _refuse(
                "invalid_transition", "请先办结当前号", "finish the current ticket before pausing"
            )
        events = self._commit([WindowPaused(clock.at, window.id, cmd.reason)])
        return events, self._window_result(window.id, None, clock)

    def _resume(self, cmd: Resume, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        _, window = self._open_window(cmd.window)
        if not window.paused:
            raise _refuse("invalid_transition", "窗口未暂停", "this window is not paused")
        events = self._commit([WindowResumed(clock.at, window.id)])
        return events, self._window_result(window.id, None, clock)

    # -- evaluator -------------------------------------------------------------------------------

    def _rate(self, cmd: Rate, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        evaluator = self.config.evaluator(cmd.evaluator)
        if evaluator is None:
            raise _refuse("unknown_device", "未知的评价器", f"unknown evaluator {cmd.evaluator!r}")
        if isinstance(cmd.score, bool) or not isinstance(cmd.score, int) or not 1 <= cmd.score <= 5:
            raise _refuse("invalid_request", "评分应为1到5", "score must be 1..5")
        ticket = self._ticket(cmd.ticket)
        if ticket.score is not None:
            raise _refuse("already_rated", "该号已评价", "this ticket has already been rated")
        if (
            ticket.status != DONE
            or ticket.window != evaluator.window
            or ticket.rate_until_ts is None
            or clock.ts > ticket.rate_until_ts
        ):
            raise _refuse(
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
        self.apply(event)
        result = self._ticket_result(ticket, clock)
        result["rating"] = {"score": event.score, "reasons": list(event.reasons)}
        return [event], result

    def _expire_ratings(
        self, cmd: ExpireRatings, clock: _Now
    ) -> tuple[list[Event], dict[str, Any]]:
        events: list[Event] = [
            RatingExpired(clock.at, w.id, w.rating)
            for w in self.state.windows.values()
            if w.rating is not None
            and w.rating_until_ts is not None
            and w.rating_until_ts < clock.ts
        ]
        self._commit(events)
        return events, {"expired": [e.window for e in events if isinstance(e, RatingExpired)]}

    # -- operator --------------------------------------------------------------------------------

    def _cancel(self, cmd: Cancel, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        self._operator(cmd.operator)
        ticket = self._ticket(cmd.ticket)
        if ticket.closed:
            raise _refuse(
                "invalid_transition", "该号已结束", f"ticket {ticket.number} is {ticket.status}"
            )
        events = self._commit([TicketCancelled(clock.at, cmd.operator, ticket.id)])
        return events, self._ticket_result(ticket, clock)

    def _force_logout(self, cmd: ForceLogout, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        self._operator(cmd.operator)
        if self.config.window(cmd.window) is None:
            raise _refuse("unknown_window", "没有这个窗口", f"no window {cmd.window!r}")
        window = self.state.windows[cmd.window]
        if window.clerk is None:
            raise _refuse("not_logged_in", "窗口未登录", "no clerk is logged in at this window")
        return self._close_window(window, cmd.operator, clock)

    def _set_service(self, cmd: SetService, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        self._operator(cmd.operator)
        service = self.config.service(cmd.service)
        if service is None:
            raise _refuse("unknown_service", "没有这项业务", f"no service {cmd.service!r}")
        if cmd.open is None and cmd.cap is None and not cmd.clear_cap:
            raise _refuse("invalid_request", "请给出 open 或 cap", "give open or cap")
        if cmd.cap is not None and (isinstance(cmd.cap, bool) or cmd.cap < 0):
            raise _refuse("invalid_request", "cap 应为非负整数", "cap must be a whole number >= 0")
        today = self.state.services[service.code]
        is_open = today.open if cmd.open is None else cmd.open
        cap = None if cmd.clear_cap else (today.cap if cmd.cap is None else cmd.cap)
        was_reached = self.rules.cap_reached(service, today)
        events = self._commit([ServiceChanged(clock.at, cmd.operator, service.code, is_open, cap)])
        if not was_reached and self.rules.cap_reached(service, today):
            # A cap lowered to what has been issued already: walk-ins stop now.
            cap_now = self.rules.cap_of(service, today)
            warning = QuotaWarning(clock.at, service.code, "reached", today.issued_today, cap_now)
            events += self._commit([warning])
        return events, {"service": views.catalog_service(self, service)}

    def _add_booking(self, cmd: AddBooking, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        self._operator(cmd.operator)
        service = self.config.service(cmd.service)
        if service is None:
            raise _refuse("unknown_service", "没有这项业务", f"no service {cmd.service!r}")
        try:
            day = date.fromisoformat(cmd.day)
            slot = datetime.strptime(cmd.slot, "%H:%M").time()
        except ValueError:
            raise _refuse(
                "invalid_request", "日期或时段格式有误", "day is YYYY-MM-DD and slot is HH:MM"
            ) from None
        today = self.state.business_day
        assert today is not None
        if not today <= day <= today + timedelta(days=BOOKING_DAYS_AHEAD):
            raise _refuse(
                "invalid_request",
                "预约日期须为今天或以后一年内",
                f"a booking's day is from {today} to a year ahead",
            )
        code = normalize_code(cmd.code)
        existing = self.state.bookings.get(code)
        if existing is not None and existing.ticket is not None:
            raise _refuse("booking_used", "该预约已取过号", f"booking {code} has been checked in")
        slot_at = iso(datetime.combine(day, slot, tzinfo=self.zone))
        if existing is not None and (existing.service, existing.day, existing.slot) == (
            service.code,
            day.isoformat(),
            slot_at,
        ):  # the same booking sent again (an import run twice): nothing changes
            return [], {"booking": _booking_object(existing), "changed": False}
        event = BookingAdded(clock.at, cmd.operator, code, service.code, day.isoformat(), slot_at)
        events = self._commit([event])
        return events, {"booking": _booking_object(self.state.bookings[code]), "changed": True}

    def _cancel_booking(
        self, cmd: CancelBooking, clock: _Now
    ) -> tuple[list[Event], dict[str, Any]]:
        self._operator(cmd.operator)
        booking = self.rules.booking(self.state, cmd.code)
        if booking.ticket is not None:
            raise _refuse(
                "booking_used", "该预约已取过号", f"booking {booking.code} has been checked in"
            )
        result = {"booking": _booking_object(booking)}
        events = self._commit([BookingCancelled(clock.at, cmd.operator, booking.code)])
        return events, result

    def _set_notice(self, cmd: SetNotice, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        self._operator(cmd.operator)
        if len(cmd.text) > NOTICE_MAX:
            raise _refuse(
                "invalid_request", "通知太长", f"a notice has at most {NOTICE_MAX} characters"
            )
        text = cmd.text.strip() or None
        events = self._commit([NoticeChanged(clock.at, cmd.operator, text)])
        return events, {"notice": text}

    def _rollover(self, cmd: Rollover, clock: _Now) -> tuple[list[Event], dict[str, Any]]:
        # handle() has already started the new day if `now` is in one; nothing is left to do.
        day = self.state.business_day
        return [], {"business_day": day.isoformat() if day else None}

    # -- apply: the only mutator -------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        """Change the state by one event. Deterministic: the same events give the same state."""
        self._appliers[type(event)](event)

    def _apply_issued(self, e: TicketIssued) -> None:
        state = self.state
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
        )
        state.tickets[ticket.id] = ticket
        state.by_number[ticket.number] = ticket.id
        self._note_kiosk_issue(e.kiosk, ticket.issued_ts)
        if e.appointment is not None:
            booking = state.bookings.get(e.appointment)
            if booking is not None:
                booking.ticket = ticket.id
        state.last_number[e.department] = e.seq
        state.issue_order = max(state.issue_order, e.order)
        self._service_state(e.service).issued_today += 1
        state.index.add(ticket)

    def _note_kiosk_issue(self, kiosk: str, ts: int) -> None:
        recent = self.state.kiosk_issues.setdefault(kiosk, [])
        recent.append(ts)
        while recent and recent[0] <= ts - 60:
            del recent[0]

    def _apply_booking_added(self, e: BookingAdded) -> None:
        self.state.bookings[e.code] = Booking(e.code, e.service, e.day, e.slot)

    def _apply_booking_cancelled(self, e: BookingCancelled) -> None:
        self.state.bookings.pop(e.code, None)

    def _apply_quota_warning(self, e: QuotaWarning) -> None:
        pass  # a record for the alarm and the statistics: it changes no state

    def _apply_reprinted(self, e: TicketReprinted) -> None:
        self.state.tickets[e.ticket].reprints += 1

    def _apply_logged_in(self, e: ClerkLoggedIn) -> None:
        window = self._window_state(e.window)
        window.clerk = e.clerk
        window.paused = False
        window.reason = None
        window.since = e.at

    def _apply_logged_out(self, e: ClerkLoggedOut) -> None:
        window = self._window_state(e.window)
        window.clerk = None
        window.paused = False
        window.reason = None
        window.since = e.at

    def _record_call(self, e: CallEvent) -> None:
        state = self.state
        state.call_seq = e.seq
        state.recent_calls.append(e)
        if len(state.recent_calls) > HallState.RECENT_CALLS:
            del state.recent_calls[0]

    def _apply_called(self, e: TicketCalled) -> None:
        ticket = self.state.tickets[e.ticket]
        self.state.index.remove(ticket)
        ticket.status = CALLED
        ticket.window = e.window
        ticket.clerk = e.clerk
        ticket.recalls = 0
        ticket.cap_recalls = 0
        ticket.called_ts = timestamp(e.at)
        ticket.started_ts = None
        self._window_state(e.window).current = ticket.id
        self._record_call(e)

    def _apply_recalled(self, e: TicketRecalled) -> None:
        ticket = self.state.tickets[e.ticket]
        ticket.recalls = e.recall
        ticket.cap_recalls += 1
        self._record_call(e)

    def _apply_called_back(self, e: TicketCalledBack) -> None:
        ticket = self.state.tickets[e.ticket]
        window = self._window_state(e.window)
        window.held.remove(ticket.id)
        window.current = ticket.id
        ticket.status = CALLED
        ticket.clerk = e.clerk
        ticket.recalls = e.recall
        ticket.called_ts = timestamp(e.at)  # service time counts from the call-back
        ticket.started_ts = None
        self._record_call(e)

    def _apply_started(self, e: TicketStarted) -> None:
        ticket = self.state.tickets[e.ticket]
        ticket.status = SERVING
        ticket.started_ts = timestamp(e.at)

    def _apply_done(self, e: TicketDone) -> None:
        state = self.state
        ticket = state.tickets[e.ticket]
        window = self._window_state(e.window)
        ticket.status = DONE
        ticket.done_at = e.at
        ticket.rate_until = e.until
        ticket.rate_until_ts = timestamp(e.until)
        window.current = None
        samples = self._service_state(e.service).samples
        samples.append(e.seconds)
        excess = len(samples) - self.config.limits.estimate_samples
        if excess > 0:
            del samples[:excess]
        if self.config.evaluator_of(e.window) is not None:  # the evaluator's screen asks for it
            window.rating = ticket.id
            window.rating_until = e.until
            window.rating_until_ts = ticket.rate_until_ts

    def _apply_no_show(self, e: TicketNoShow) -> None:
        self.state.tickets[e.ticket].status = NO_SHOW
        self._window_state(e.window).current = None

    def _apply_held(self, e: TicketHeld) -> None:
        window = self._window_state(e.window)
        self.state.tickets[e.ticket].status = HELD
        window.current = None
        window.held.append(e.ticket)

    def _wait_again(self, ticket: Ticket, target: str | None) -> None:
        ticket.status = WAITING
        ticket.window = target
        ticket.clerk = None
        ticket.recalls = 0
        ticket.cap_recalls = 0
        ticket.called_ts = None
        ticket.started_ts = None
        self.state.index.add(ticket)

    def _apply_requeued(self, e: TicketRequeued) -> None:
        ticket = self.state.tickets[e.ticket]
        self._window_state(e.window).held.remove(ticket.id)
        self._wait_again(ticket, None)

    def _apply_transferred(self, e: TicketTransferred) -> None:
        ticket = self.state.tickets[e.ticket]
        self._window_state(e.window).current = None
        ticket.service = e.service
        ticket.department = e.department
        # A booking's slot was for the old service: in the new queue the ticket waits by its age.
        ticket.slot = None
        ticket.slot_ts = None
        self._wait_again(ticket, e.target)

    def _apply_paused(self, e: WindowPaused) -> None:
        window = self._window_state(e.window)
        window.paused = True
        window.reason = e.reason
        window.since = e.at

    def _apply_resumed(self, e: WindowResumed) -> None:
        window = self._window_state(e.window)
        window.paused = False
        window.reason = None
        window.since = e.at

    def _apply_cancelled(self, e: TicketCancelled) -> None:
        state = self.state
        ticket = state.tickets[e.ticket]
        if ticket.status == WAITING:
            state.index.remove(ticket)
        elif ticket.status in AT_WINDOW and ticket.window is not None:
            state.windows[ticket.window].current = None
        elif ticket.status == HELD and ticket.window is not None:
            state.windows[ticket.window].held.remove(ticket.id)
        ticket.status = CANCELLED

    def _apply_service_changed(self, e: ServiceChanged) -> None:
        today = self._service_state(e.service)
        today.open = e.open
        today.cap = e.cap

    def _apply_notice(self, e: NoticeChanged) -> None:
        self.state.notice = e.text

    def _apply_rolled_over(self, e: DayRolledOver) -> None:
        # The old day's tickets leave the live state (their events stay in the store for statistics):
        # unserved ones are expired, and no ticket of the old day can be called, rated or reprinted.
        # `e.expired` names them for the record; the live state simply starts empty.
        state = self.state
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

    def _apply_rated(self, e: TicketRated) -> None:
        self.state.tickets[e.ticket].score = e.score
        window = self._window_state(e.window)
        if window.rating == e.ticket:
            window.rating = None
            window.rating_until = None
            window.rating_until_ts = None

    def _apply_rating_expired(self, e: RatingExpired) -> None:
        window = self._window_state(e.window)
        if window.rating == e.ticket:
            window.rating = None
            window.rating_until = None
            window.rating_until_ts = None

    # Events name windows and services of the config they were made under; one that a later config
    # dropped must not stop a replay, so apply() creates its state rather than fail.
    def _window_state(self, window_id: str) -> WindowState:
        window = self.state.windows.get(window_id)
        if window is None:
            window = self.state.windows[window_id] = WindowState(id=window_id)
        return window

    def _service_state(self, code: str) -> ServiceState:
        today = self.state.services.get(code)
        if today is None:
            today = self.state.services[code] = ServiceState()
        return today

    # -- queries (contract payloads) -------------------------------------------------------------

    def ticket(self, ticket_id: str) -> Ticket | None:
        return self.state.tickets.get(ticket_id)

    def ticket_view(self, ticket_id: str, now: datetime) -> dict[str, Any]:
        """The contract's ticket object with fresh `ahead` and `est_wait_min` (unknown_ticket if none)."""
        return views.ticket_object(self, self._ticket(ticket_id), int(self._local(now).timestamp()))

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

    def call_message(self, event: CallEvent) -> dict[str, Any]:
        return views.call_message(self, event)


def _booking_object(booking: Booking) -> dict[str, Any]:
    """A booking as operator answers carry it (`slot` as the wire's HH:MM)."""
    return {
        "code": booking.code,
        "service": booking.service,
        "day": booking.day,
        "slot": booking.slot[11:16],
        "ticket": booking.ticket,
    }
