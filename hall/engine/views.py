"""The contract's JSON payloads (docs/protocol.md), drawn from the engine's state and config.

Pure functions of the engine: no I/O, no clock (the caller gives `now`). Each payload is built as
its typed message (contract/messages) and handed on as `to_json()`, the dict the hall encodes and
publishes. Every payload of a topic carries `"v": 1`; objects nested in answers (a ticket, a
window's state in `result.window`) do not. The views used once per batch (`board`, `queues`) cost
O(windows + services), not O(tickets).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from contract import messages as m
from contract.protocol import VERSION, dumps, iso
from hall.config.schema import Clerk, HallConfig, Service, Window
from hall.engine.estimate import minutes_per_visitor, wait_minutes, windows_serving
from hall.engine.model import CALLED, WAITING, CallEvent, Ticket, WindowState
from hall.engine.policy import ahead_of
from hall.engine.rules import OUTSIDE_HOURS

if TYPE_CHECKING:
    from hall.engine.engine import Engine


def window_ref(config: Window) -> m.WindowRef:
    return m.WindowRef(id=config.id, name=config.name, area=config.area)


def window_object(config: Window) -> dict[str, Any]:
    return window_ref(config).to_json()


def _clerk_ref(clerk: Clerk | None) -> m.ClerkRef | None:
    return m.ClerkRef(id=clerk.id, name=clerk.name) if clerk else None


def _window_of_event(engine: Engine, window_id: str) -> m.WindowRef:
    # A call of a window that a later config dropped still shows (in `board.recent`) by its id.
    config = engine.config.window(window_id)
    if config is None:
        return m.WindowRef(id=window_id, name=window_id, area="")
    return window_ref(config)


def _window_config(engine: Engine, window_id: str) -> Window:
    config = engine.config.window(window_id)
    if config is None:
        raise KeyError(f"no window {window_id!r} in the config")
    return config


def ticket_estimate(engine: Engine, ticket: Ticket, now_ts: int) -> tuple[int, int | None]:
    """(ahead, est_wait_min) of a waiting ticket; (0, 0) for any other. A ticket that waits for a
    window that is closed gets no estimate (None): nobody calls it until a clerk logs in there."""
    if ticket.status != WAITING:
        return 0, 0
    ahead = ahead_of(engine.state.index, ticket, now_ts)
    service = engine.config.service(ticket.service)
    if service is None:  # issued under an earlier config that had this service
        return ahead, 0
    minutes = minutes_per_visitor(service, engine.state.services[ticket.service])
    if ticket.window is not None:  # waiting for one window: only that window serves the queue
        if _window_closed(engine, ticket.window):
            return ahead, None
        return ahead, wait_minutes(ahead, minutes, 1)
    windows = windows_serving(engine.windows_of_service[ticket.service], engine.state.windows)
    return ahead, wait_minutes(ahead, minutes, windows)


def _window_closed(engine: Engine, window_id: str) -> bool:
    window = engine.state.windows.get(window_id)
    return window is None or window.clerk is None


def ticket_message(engine: Engine, ticket: Ticket, now_ts: int) -> m.Ticket:
    """The contract's ticket object."""
    ahead, est = ticket_estimate(engine, ticket, now_ts)
    return m.Ticket(
        id=ticket.id,
        number=ticket.number,
        service=ticket.service,
        department=ticket.department,
        priority=ticket.priority,
        issued_at=ticket.issued_at,
        status=ticket.status,
        ahead=ahead,
        est_wait_min=est,
        window=ticket.window,
        recalls=ticket.recalls,
        reason=ticket.reason or None,
        # Waiting for one window (transferred there): say when that window is closed.
        window_status=(
            "closed"
            if ticket.status == WAITING
            and ticket.window is not None
            and _window_closed(engine, ticket.window)
            else None
        ),
        category=ticket.category,
    )


def ticket_object(engine: Engine, ticket: Ticket, now_ts: int) -> dict[str, Any]:
    return ticket_message(engine, ticket, now_ts).to_json()


def _ticket_at_window(engine: Engine, ticket_id: str) -> m.Ticket:
    # A ticket at a window is not waiting: its ahead and estimate are 0 whatever the time.
    return ticket_message(engine, engine.state.tickets[ticket_id], 0)


def _window_state_fields(engine: Engine, window_id: str) -> dict[str, Any]:
    config = _window_config(engine, window_id)
    window: WindowState = engine.state.windows[window_id]
    return {
        "window": window_ref(config),
        "status": window.status,
        "clerk": _clerk_ref(engine.config.clerk(window.clerk) if window.clerk else None),
        "ticket": _ticket_at_window(engine, window.current) if window.current else None,
        "held": tuple(_ticket_at_window(engine, held) for held in window.held),
        "since": window.since,
        "reason": window.reason,
    }


def window_state_message(engine: Engine, window_id: str) -> m.WindowState:
    """A window's state as `result.window` and `board.windows` carry it (no "v")."""
    return m.WindowState(**_window_state_fields(engine, window_id))


def window_state(engine: Engine, window_id: str) -> dict[str, Any]:
    return window_state_message(engine, window_id).to_json()


def window_view(engine: Engine, window_id: str) -> dict[str, Any]:
    """The `window/{id}/state` payload."""
    return m.WindowStateMessage(**_window_state_fields(engine, window_id)).to_json()


def rating_view(engine: Engine, window_id: str) -> dict[str, Any] | None:
    """The `window/{id}/rating` payload, or None when no ticket awaits a rating (empty payload)."""
    config = _window_config(engine, window_id)
    window = engine.state.windows[window_id]
    if window.rating is None:
        return None
    ticket = engine.state.tickets[window.rating]
    assert window.rating_until is not None  # set together with `rating`
    return m.RatingMessage(
        window=window_ref(config),
        ticket=ticket_message(engine, ticket, 0),
        clerk=_clerk_ref(engine.config.clerk(ticket.clerk) if ticket.clerk else None),
        until=window.rating_until,
    ).to_json()


def call(engine: Engine, event: CallEvent) -> m.CallMessage:
    """The `calls` message of a call, recall or call-back: built from the event alone, so a call
    published late (after a crash) says what was called then."""
    return m.CallMessage(
        seq=event.seq,
        at=event.at,
        ticket=m.Ticket(
            id=event.ticket,
            number=event.number,
            service=event.service,
            department=event.department,
            priority=event.priority,
            issued_at=event.issued_at,
            status=CALLED,
            ahead=0,
            est_wait_min=0,
            window=event.window,
            recalls=event.recall,
        ),
        window=_window_of_event(engine, event.window),
        recall=event.recall,
    )


def call_message(engine: Engine, event: CallEvent) -> dict[str, Any]:
    """The `calls` payload."""
    return call(engine, event).to_json()


def board(engine: Engine, now: datetime) -> dict[str, Any]:
    """The `board` payload: what a hall screen needs to draw from nothing."""
    windows = tuple(window_state_message(engine, w.id) for w in engine.config.windows)
    return _board_message(engine, now, windows).to_json()


def _board_message(
    engine: Engine,
    now: datetime,
    windows: tuple[m.WindowState, ...],
    recent: tuple[m.CallMessage, ...] | None = None,
) -> m.Board:
    state = engine.state
    now_ts = int(now.timestamp())
    oldest = state.oldest_waiting()
    waiting = {
        d.code: m.DepartmentWaiting(
            count=state.index.waiting_by_department.get(d.code, 0),
            longest_wait_min=max(0, (now_ts - oldest[d.code]) // 60) if d.code in oldest else 0,
        )
        for d in engine.config.departments
    }
    return m.Board(
        seq=state.call_seq,
        at=iso(now),
        recent=(
            tuple(call(engine, e) for e in reversed(state.recent_calls))
            if recent is None
            else recent
        ),
        windows=windows,
        waiting=waiting,
        notice=state.notice,
    )


_NO_WINDOWS = b'"windows":[]'
_NO_RECENT = b'"recent":[]'
_VERSIONED = b'{"v":' + str(VERSION).encode() + b","


class BoardCache:
    """The `board` payload's bytes, each window's entry encoded once per change of that window.

    A board lists every window of the hall (105 in the prefecture example): built and encoded in
    full it costs milliseconds, once per batch under many clerks, though a batch changes a few
    windows. The service says which windows changed (the same set it republishes `window/{id}/state`
    for: a window's entry is that payload without "v"); the rest of the board (recent calls,
    waiting counts) is built anew each time, but for the recent calls, each encoded once (a call
    message is drawn from its event alone). The bytes equal `dumps(board(engine, now))`.
    """

    def __init__(self) -> None:
        self._entries: dict[str, bytes] = {}  # window id -> its encoded `board.windows` entry
        self._calls: dict[int, bytes] = {}  # call seq -> its encoded `board.recent` entry

    def changed(self, window_ids: Iterable[str]) -> None:
        for window_id in window_ids:
            self._entries.pop(window_id, None)

    def clear(self) -> None:
        self._entries.clear()
        self._calls.clear()

    def window_entry(self, engine: Engine, window_id: str) -> bytes:
        """The window's encoded `board.windows` entry (kept until the window changes)."""
        entry = self._entries.get(window_id)
        if entry is None:
            entry = dumps(window_state_message(engine, window_id).to_json())
            self._entries[window_id] = entry
        return entry

    def window_payload(self, engine: Engine, window_id: str) -> bytes:
        """The `window/{id}/state` payload: the same entry with "v" first, as `window_view`."""
        return _VERSIONED + self.window_entry(engine, window_id)[1:]

    def payload(self, engine: Engine, now: datetime) -> bytes:
        """The board's bytes at `now` (tz-aware: shown in the hall's time zone)."""
        entries = [self.window_entry(engine, window.id) for window in engine.config.windows]
        calls = {}
        for event in reversed(engine.state.recent_calls):
            encoded = self._calls.get(event.seq)
            if encoded is None:
                encoded = dumps(call(engine, event).to_json())
            calls[event.seq] = encoded
        self._calls = calls  # only the calls still on the board
        rest = dumps(_board_message(engine, now.astimezone(engine.zone), (), ()).to_json())
        # The top level's "recent" and "windows" are the only places a bare key meets `[]`:
        # inside a string a quote is escaped, and nothing else in a board has those keys.
        rest = rest.replace(_NO_RECENT, b'"recent":[' + b",".join(calls.values()) + b"]", 1)
        return rest.replace(_NO_WINDOWS, b'"windows":[' + b",".join(entries) + b"]", 1)


def queue_entry(engine: Engine, service: Service, now: datetime) -> m.QueueEntry:
    state = engine.state
    today = state.services[service.code]
    waiting = state.index.waiting_by_service.get(service.code, 0)
    windows = windows_serving(engine.windows_of_service[service.code], state.windows)
    reason = engine.rules.availability(state, service, now)
    return m.QueueEntry(
        waiting=waiting,
        issued_today=today.issued_today,
        # What a ticket issued now would wait: everyone waiting is ahead of it.
        est_wait_min=wait_minutes(waiting, minutes_per_visitor(service, today), windows),
        can_issue=reason is None,
        reason=reason,
        next_open=(
            iso(opens)
            if reason == OUTSIDE_HOURS and (opens := engine.rules.next_open(service, now))
            else None
        ),
    )


def queues(engine: Engine, now: datetime) -> dict[str, Any]:
    """The `queues` payload: per service, waiting, whether it can issue now, the estimated wait."""
    return m.Queues(
        at=iso(now),
        services={s.code: queue_entry(engine, s, now) for s in engine.config.services},
    ).to_json()


def _hours(span: dict[str, str]) -> m.HoursSpan:
    return m.HoursSpan(days=span["days"], from_=span["from"], to=span["to"])


def service_message(engine: Engine, service: Service) -> m.CatalogService:
    today = engine.state.services[service.code]
    return m.CatalogService(
        code=service.code,
        department=service.department,
        name_zh=service.name_zh,
        name_en=service.name_en,
        open=today.open,
        needs_appointment=service.needs_appointment,
        avg_minutes=service.avg_minutes,
        promised_days=service.promised_days,
        hours=tuple(_hours(span.as_contract()) for span in engine.config.hours_of(service.code)),
        cap=engine.rules.cap_of(service, today),  # an operator's for the day, else the config's
    )


def catalog_service(engine: Engine, service: Service) -> dict[str, Any]:
    return service_message(engine, service).to_json()


def roster_entry(config: HallConfig, clerk_id: str) -> m.ClerkRef:
    """Extension of `catalog.windows[]`: a clerk of the roster with a name (never a keypad code
    or a PIN hash)."""
    clerk = config.clerk(clerk_id)
    return m.ClerkRef(id=clerk_id, name=clerk.name if clerk is not None else clerk_id)


def catalog(engine: Engine) -> dict[str, Any]:
    """The `catalog` payload: what a kiosk draws its menu from."""
    config = engine.config
    site = config.site
    devices = config.devices()
    day = engine.state.business_day
    return m.Catalog(
        site=m.Site(id=site.id, name=site.name, tz=site.tz),
        business_day=day.isoformat() if day else None,
        departments=tuple(
            m.Department(code=d.code, name_zh=d.name_zh, name_en=d.name_en, prefix=d.prefix)
            for d in config.departments
        ),
        services=tuple(service_message(engine, s) for s in config.services),
        windows=tuple(
            m.CatalogWindow(
                id=w.id,
                name=w.name,
                area=w.area,
                no=w.no,
                evaluator=config.evaluator_of(w.id),
                clerks=tuple(w.clerks),
                roster=tuple(roster_entry(config, c) for c in w.clerks),
                tiers=tuple(tuple(tier) for tier in w.tiers),
                services=tuple(w.services),
            )
            for w in config.windows
        ),
        devices=m.CatalogDevices(
            **{
                key: tuple(devices[key])
                for key in (
                    "kiosks",
                    "displays",
                    "evaluators",
                    "bridges",
                    "operators",
                    "announcers",
                )
            }
        ),
        notice=engine.state.notice,
    ).to_json()
