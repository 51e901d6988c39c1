"""The contract's JSON payloads (PROTOCOL.md), drawn from the engine's state and config.

Pure functions of the engine: no I/O, no clock (the caller gives `now`). Every payload of a topic
carries `"v": 1`; objects nested in answers (a ticket, a window's state in `result.window`) do not.
The views used once per batch (`board`, `queues`) cost O(windows + services), not O(tickets).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from contract.protocol import VERSION, iso
from hall.config import HallConfig, Service, Window
from hall.estimate import minutes_per_visitor, wait_minutes, windows_serving
from hall.model import CALLED, WAITING, CallEvent, Ticket, WindowState
from hall.policy import ahead_of

if TYPE_CHECKING:
    from hall.engine import Engine


def window_object(config: Window) -> dict[str, Any]:
    return {"id": config.id, "name": config.name, "area": config.area}


def _window_of_event(engine: Engine, window_id: str) -> dict[str, Any]:
    # A call of a window that a later config dropped still shows (in `board.recent`) by its id.
    config = engine.config.window(window_id)
    if config is None:
        return {"id": window_id, "name": window_id, "area": ""}
    return window_object(config)


def _window_config(engine: Engine, window_id: str) -> Window:
    config = engine.config.window(window_id)
    if config is None:
        raise KeyError(f"no window {window_id!r} in the config")
    return config


def ticket_estimate(engine: Engine, ticket: Ticket, now_ts: int) -> tuple[int, int]:
    """(ahead, est_wait_min) of a waiting ticket; (0, 0) for any other."""
    if ticket.status != WAITING:
        return 0, 0
    ahead = ahead_of(engine.state.index, ticket, now_ts)
    service = engine.config.service(ticket.service)
    if service is None:  # issued under an earlier config that had this service
        return ahead, 0
    minutes = minutes_per_visitor(service, engine.state.services[ticket.service])
    if ticket.window is not None:  # waiting for one window: only that window serves the queue
        return ahead, wait_minutes(ahead, minutes, 1)
    windows = windows_serving(engine.windows_of_service[ticket.service], engine.state.windows)
    return ahead, wait_minutes(ahead, minutes, windows)


def ticket_object(engine: Engine, ticket: Ticket, now_ts: int) -> dict[str, Any]:
    """The contract's ticket object."""
    ahead, est = ticket_estimate(engine, ticket, now_ts)
    return {
        "id": ticket.id,
        "number": ticket.number,
        "service": ticket.service,
        "department": ticket.department,
        "priority": ticket.priority,
        "issued_at": ticket.issued_at,
        "status": ticket.status,
        "ahead": ahead,
        "est_wait_min": est,
        "window": ticket.window,
        "recalls": ticket.recalls,
    }


def _ticket_at_window(engine: Engine, ticket_id: str) -> dict[str, Any]:
    # A ticket at a window is not waiting: its ahead and estimate are 0 whatever the time.
    return ticket_object(engine, engine.state.tickets[ticket_id], 0)


def window_state(engine: Engine, window_id: str) -> dict[str, Any]:
    """A window's state as `result.window` carries it (the topic payload without "v")."""
    config = _window_config(engine, window_id)
    window: WindowState = engine.state.windows[window_id]
    clerk = engine.config.clerk(window.clerk) if window.clerk else None
    return {
        "window": window_object(config),
        "status": window.status,
        "clerk": {"id": clerk.id, "name": clerk.name} if clerk else None,
        "ticket": _ticket_at_window(engine, window.current) if window.current else None,
        "held": [_ticket_at_window(engine, held) for held in window.held],
        "since": window.since,
        "reason": window.reason,
    }


def window_view(engine: Engine, window_id: str) -> dict[str, Any]:
    """The `window/{id}/state` payload."""
    return {"v": VERSION, **window_state(engine, window_id)}


def rating_view(engine: Engine, window_id: str) -> dict[str, Any] | None:
    """The `window/{id}/rating` payload, or None when no ticket awaits a rating (empty payload)."""
    config = _window_config(engine, window_id)
    window = engine.state.windows[window_id]
    if window.rating is None:
        return None
    ticket = engine.state.tickets[window.rating]
    clerk = engine.config.clerk(ticket.clerk) if ticket.clerk else None
    return {
        "v": VERSION,
        "window": window_object(config),
        "ticket": ticket_object(engine, ticket, 0),
        "clerk": {"id": clerk.id, "name": clerk.name} if clerk else None,
        "until": window.rating_until,
    }


def call_message(engine: Engine, event: CallEvent) -> dict[str, Any]:
    """The `calls` payload of a call, recall or call-back: built from the event alone, so a call
    published late (after a crash) says what was called then."""
    return {
        "v": VERSION,
        "seq": event.seq,
        "at": event.at,
        "ticket": {
            "id": event.ticket,
            "number": event.number,
            "service": event.service,
            "department": event.department,
            "priority": event.priority,
            "issued_at": event.issued_at,
            "status": CALLED,
            "ahead": 0,
            "est_wait_min": 0,
            "window": event.window,
            "recalls": event.recall,
        },
        "window": _window_of_event(engine, event.window),
        "recall": event.recall,
    }


def board(engine: Engine, now: datetime) -> dict[str, Any]:
    """The `board` payload: what a hall screen needs to draw from nothing."""
    state = engine.state
    now_ts = int(now.timestamp())
    oldest: dict[str, int] = {}
    for _, ticket_id in state.index.heads():
        ticket = state.tickets[ticket_id]
        known = oldest.get(ticket.department)
        if known is None or ticket.issued_ts < known:
            oldest[ticket.department] = ticket.issued_ts
    waiting = {
        d.code: {
            "count": state.index.waiting_by_department.get(d.code, 0),
            "longest_wait_min": max(0, (now_ts - oldest[d.code]) // 60) if d.code in oldest else 0,
        }
        for d in engine.config.departments
    }
    return {
        "v": VERSION,
        "seq": state.call_seq,
        "at": iso(now),
        "recent": [call_message(engine, e) for e in reversed(state.recent_calls)],
        "windows": [window_state(engine, w.id) for w in engine.config.windows],
        "waiting": waiting,
        "notice": state.notice,
    }


def queue_entry(engine: Engine, service: Service, now: datetime) -> dict[str, Any]:
    state = engine.state
    today = state.services[service.code]
    waiting = state.index.waiting_by_service.get(service.code, 0)
    windows = windows_serving(engine.windows_of_service[service.code], state.windows)
    reason = engine.rules.availability(state, service, now)
    return {
        "waiting": waiting,
        "issued_today": today.issued_today,
        # What a ticket issued now would wait: everyone waiting is ahead of it.
        "est_wait_min": wait_minutes(waiting, minutes_per_visitor(service, today), windows),
        "can_issue": reason is None,
        "reason": reason,
    }


def queues(engine: Engine, now: datetime) -> dict[str, Any]:
    """The `queues` payload: per service, waiting, whether it can issue now, the estimated wait."""
    return {
        "v": VERSION,
        "at": iso(now),
        "services": {s.code: queue_entry(engine, s, now) for s in engine.config.services},
    }


def catalog_service(engine: Engine, service: Service) -> dict[str, Any]:
    today = engine.state.services[service.code]
    return {
        "code": service.code,
        "department": service.department,
        "name_zh": service.name_zh,
        "name_en": service.name_en,
        "open": today.open,
        "needs_appointment": service.needs_appointment,
        "avg_minutes": service.avg_minutes,
        "promised_days": service.promised_days,
        "hours": [span.as_contract() for span in engine.config.hours_of(service.code)],
        "cap": engine.rules.cap_of(service, today),  # an operator's for the day, else the config's
    }


def roster_entry(config: HallConfig, clerk_id: str) -> dict[str, str]:
    clerk = config.clerk(clerk_id)
    return {"id": clerk_id, "name": clerk.name if clerk is not None else clerk_id}


def catalog(engine: Engine) -> dict[str, Any]:
    """The `catalog` payload: what a kiosk draws its menu from."""
    config = engine.config
    site = config.site
    devices = config.devices()
    day = engine.state.business_day
    return {
        "v": VERSION,
        "site": {"id": site.id, "name": site.name, "tz": site.tz},
        "business_day": day.isoformat() if day else None,
        "departments": [
            {"code": d.code, "name_zh": d.name_zh, "name_en": d.name_en, "prefix": d.prefix}
            for d in config.departments
        ],
        "services": [catalog_service(engine, s) for s in config.services],
        "windows": [
            {
                **window_object(w),
                "no": w.no,
                "evaluator": config.evaluator_of(w.id),
                "clerks": list(w.clerks),
                # Extension: the roster with names (never a keypad code or PIN hash).
                "roster": [roster_entry(config, c) for c in w.clerks],
                "tiers": [list(tier) for tier in w.tiers],
                "services": w.services,
            }
            for w in config.windows
        ],
        "devices": {
            key: devices[key]
            for key in ("kiosks", "displays", "evaluators", "bridges", "operators")
        },
        "notice": engine.state.notice,
    }
