"""The monitoring room's alarms (issue 19): which conditions hold now, and what the devices say.

Pure: every function takes the hall's time (epoch seconds) as a parameter. The engine keeps the
open alarms (hall/engine/handlers/alarms.py raises and clears them as events, so a restart neither repeats
nor loses one); this module only says which conditions want an alarm open:

    conditions(engine, now_ts)      # queue_long, wait_long, window_paused, window_idle, quota

What the devices say of themselves (device_offline, device_fault) is kept apart, by the core
(hall/store/device_watch.py): it is fed from the network thread, not from the engine's state.

A condition is keyed by (kind, subject): the alarm of that key opens when it starts and is cleared
when it ends; a change of severity (a quota from its warning level to the cap) clears the alarm
and opens one of the new severity.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from hall.engine.model import WAITING, AlarmCondition

if TYPE_CHECKING:
    from hall.engine.engine import Engine

# Every kind of alarm (docs/protocol.md "Alarms").
KINDS = (
    "queue_long", "wait_long", "window_paused", "window_idle", "device_offline", "device_fault",
    "bad_rating", "kiosk_help", "storage_error", "worker_fault", "quota",
)  # fmt: skip
# Alarms whose condition is watched: cleared by the hall when it ends.
CONDITION_KINDS = frozenset(
    {"queue_long", "wait_long", "window_paused", "window_idle", "device_offline",
     "device_fault", "quota"}
)  # fmt: skip
# Alarms of a single event: open until an operator closes them with a note.
EVENT_KINDS = frozenset({"bad_rating", "kiosk_help"})
# Alarms the service holds in memory: they are about the store and the worker themselves.
SERVICE_KINDS = frozenset({"storage_error", "worker_fault"})


# Device health states: fine, worth a `warn`, anything else a `critical` fault.
def _ts(at: str) -> int:
    return int(datetime.fromisoformat(at).timestamp())


def conditions(engine: Engine, now_ts: int) -> list[AlarmCondition]:
    """The engine's conditions that want an alarm open at `now_ts` (the hall's epoch seconds)."""
    found = _department_conditions(engine, now_ts)
    found += _window_conditions(engine, now_ts)
    found += _quota_conditions(engine, now_ts)
    return found


def _department_conditions(engine: Engine, now_ts: int) -> list[AlarmCondition]:
    settings, state = engine.config.alarms, engine.state
    oldest = state.oldest_waiting()
    found = []
    for department in engine.config.departments:
        queue_long, wait_long = settings.for_department(department.code)
        count = state.index.waiting_by_department.get(department.code, 0)
        if queue_long is not None and count >= queue_long:
            found.append(
                AlarmCondition(
                    "queue_long",
                    department.code,
                    "warn",
                    f"{department.name_zh} 等候 {count} 人 (≥ {queue_long}) "
                    f"({count} waiting in {department.name_en or department.code})",
                    now_ts,
                )
            )
        first = oldest.get(department.code)
        if wait_long is not None and first is not None and now_ts - first >= wait_long * 60:
            found.append(
                AlarmCondition(
                    "wait_long",
                    department.code,
                    "warn",
                    f"{department.name_zh} 最长等候超过 {wait_long} 分钟 "
                    f"(the longest wait in {department.name_en or department.code} "
                    f"is over {wait_long} min)",
                    first + wait_long * 60,
                )
            )
    return found


def _window_conditions(engine: Engine, now_ts: int) -> list[AlarmCondition]:
    settings, state = engine.config.alarms, engine.state
    paused_max, idle_max = settings.paused_max_min, settings.idle_max_min
    if paused_max is None and idle_max is None:
        return []
    last_call: dict[str, int] = {}
    last_done: dict[str, str] = {}
    first_waiting: dict[str, int] = {}  # service -> when its longest-waiting visitor came
    if idle_max is not None:
        for ticket in state.tickets.values():
            if ticket.status == WAITING:
                known = first_waiting.get(ticket.service)
                if known is None or ticket.issued_ts < known:
                    first_waiting[ticket.service] = ticket.issued_ts
            if ticket.window is None or ticket.called_ts is None:
                continue
            if ticket.called_ts >= last_call.get(ticket.window, 0):
                last_call[ticket.window] = ticket.called_ts
                if ticket.done_at is not None:
                    last_done[ticket.window] = ticket.done_at
    found = []
    for config in engine.config.windows:
        window = state.windows.get(config.id)
        if window is None or window.clerk is None or window.since is None:
            continue
        since = _ts(window.since)
        if window.paused:
            if paused_max is not None and now_ts - since >= paused_max * 60:
                reason = f": {window.reason}" if window.reason else ""
                found.append(
                    AlarmCondition(
                        "window_paused",
                        config.id,
                        "warn",
                        f"{config.name} 暂停超过 {paused_max} 分钟 "
                        f"(paused for over {paused_max} min){reason}",
                        since + paused_max * 60,
                    )
                )
            continue
        if idle_max is None or window.current is not None:
            continue
        waiting = sum(state.index.waiting_by_service.get(code, 0) for code in config.services)
        if waiting == 0:
            continue
        # Idle from the latest of: opened or resumed, its last call or finish, and the moment
        # someone began to wait for it (a clerk with no one to serve is not idle).
        came = min(first_waiting.get(code, now_ts) for code in config.services)
        free = max(since, last_call.get(config.id, 0), came)
        if config.id in last_done:
            free = max(free, _ts(last_done[config.id]))
        if now_ts - free >= idle_max * 60:
            found.append(
                AlarmCondition(
                    "window_idle",
                    config.id,
                    "warn",
                    f"{config.name} {idle_max} 分钟未叫号，仍有 {waiting} 人等候 "
                    f"(no call for {idle_max} min while {waiting} wait)",
                    free + idle_max * 60,
                )
            )
    return found


def _quota_conditions(engine: Engine, now_ts: int) -> list[AlarmCondition]:
    """A service whose issued count is at its warning level (`warn`) or its cap (`critical`):
    cleared when the cap is raised or at the rollover (the count starts again)."""
    found = []
    for service in engine.config.services:
        today = engine.state.services.get(service.code)
        if today is None:
            continue
        cap = engine.rules.cap_of(service, today)
        issued = today.issued_today
        shown = f"/{cap}" if cap is not None else ""
        if cap is not None and issued >= cap:
            text = f"{service.name_zh} 今日号源已满 ({issued}{shown}): 停止取号 (today's cap is reached)"
            found.append(AlarmCondition("quota", service.code, "critical", text, now_ts))
        elif service.cap_warn is not None and issued >= service.cap_warn:
            text = f"{service.name_zh} 今日号源将满 ({issued}{shown}) (today's cap is near)"
            found.append(AlarmCondition("quota", service.code, "warn", text, now_ts))
    return found
