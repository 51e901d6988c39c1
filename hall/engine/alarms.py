"""The monitoring room's alarms (issue 19): which conditions hold now, and what the devices say.

Pure: every function takes the hall's time (epoch seconds) as a parameter. The engine keeps the
open alarms (hall/engine/handlers/alarms.py raises and clears them as events, so a restart neither repeats
nor loses one); this module only says which conditions want an alarm open:

    conditions(engine, now_ts)      # queue_long, wait_long, window_paused, window_idle, quota
    watch = DeviceWatch(config, started_ts)
    watch.status("k1", b"offline", now_ts); watch.health("k1", b'{"state":"paper_out",...}', now_ts)
    watch.conditions(now_ts)        # device_offline, device_fault

A condition is keyed by (kind, subject): the alarm of that key opens when it starts and is cleared
when it ends; a change of severity (a quota from its warning level to the cap) clears the alarm
and opens one of the new severity.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from hall.config.schema import HallConfig
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
HEALTHY_STATES = frozenset({"ok", "ready"})
WARN_STATES = frozenset({"paper_near_end", "unknown"})
# Device classes whose presence (`status/{id}`) the hall watches: what stands in the hall for
# visitors. Window terminals and operators are in staff hands.
WATCHED_CLASSES = ("kiosks", "displays", "bridges", "announcers")

HEALTH_TEXT = {
    "paper_near_end": "打印纸即将用完 (paper nearly used up)",
    "paper_out": "打印机缺纸 (printer out of paper)",
    "cover_open": "打印机纸仓盖未关 (printer cover open)",
    "offline": "设备报告离线 (the device reports its part offline)",
    "error": "设备故障 (device error)",
    "unknown": "无法读取设备状态 (the device cannot read its part's state)",
    "voice_error": "语音播报故障 (the announcer cannot speak)",
}


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


@dataclass
class _Seen:
    online: bool | None = None  # None: never heard
    since: int = 0  # hall epoch seconds of the last change
    health: str | None = None
    health_since: int = 0


class DeviceWatch:
    """What the devices last said of themselves (`status/{id}`, `device/{id}/health`), fed from
    paho's thread, read by the worker (hence the lock). Devices not in the config are ignored."""

    def __init__(self, config: HallConfig, started_ts: int) -> None:
        devices = config.devices()
        self.watched = frozenset(d for cls in WATCHED_CLASSES for d in devices.get(cls, []))
        self.known = frozenset(config.device_classes())
        self.grace = config.alarms.device_grace_s
        self.started = started_ts
        self._seen: dict[str, _Seen] = {}
        self._lock = threading.Lock()

    def status(self, device: str, payload: bytes, now_ts: int) -> bool:
        """A retained `status/{device}`: `online`, or `offline` (its last will). True if that
        changed what the hall knew of a watched device (a kiosk, display, bridge or announcer:
        window terminals and operators come and go with the staff)."""
        if device not in self.watched:
            return False
        online = payload.strip() == b"online"
        with self._lock:
            seen = self._seen.setdefault(device, _Seen())
            if seen.online == online:
                return False
            seen.online, seen.since = online, now_ts
        return True

    def health(self, device: str, payload: bytes, now_ts: int) -> bool:
        """A `device/{device}/health` payload (its `state`; an empty one says nothing is wrong).
        True if that changed what the hall knew of a device of its config."""
        if device not in self.known:
            return False
        state = "ok"  # an empty (cleared) retained health: nothing to report
        if payload:
            try:
                data = json.loads(payload)
                state = str(data["state"])[:64] if isinstance(data, dict) else "unreadable"
            except (ValueError, KeyError, RecursionError):
                state = "unreadable"
        with self._lock:
            seen = self._seen.setdefault(device, _Seen())
            if seen.health == state:
                return False
            seen.health, seen.health_since = state, now_ts
        return True

    def unheard(self) -> list[tuple[str, str]]:
        """(kind, subject) of the device alarms that cannot be judged yet: a device not heard
        from since the hall started (its retained messages may still be on their way)."""
        with self._lock:
            seen = dict(self._seen)
        keep = []
        for device in sorted(self.known):
            heard = seen.get(device)
            if device in self.watched and (heard is None or heard.online is None):
                keep.append(("device_offline", device))
            if heard is None or heard.health is None:
                keep.append(("device_fault", device))
        return keep

    def conditions(self, now_ts: int) -> list[AlarmCondition]:
        with self._lock:
            seen = dict(self._seen)
        found = []
        for device in sorted(self.known | seen.keys()):
            heard = seen.get(device)
            offline = heard is not None and heard.online is False
            if offline and heard is not None:
                found.append(
                    AlarmCondition(
                        "device_offline",
                        device,
                        "critical",
                        f"设备 {device} 离线 (device {device} is offline)",
                        heard.since,
                    )
                )
                continue  # its retained health is what it said before it went away
            never = heard is None or heard.online is None
            if (
                never
                and device in self.watched
                and self.grace is not None
                and now_ts - self.started >= self.grace
            ):
                found.append(
                    AlarmCondition(
                        "device_offline",
                        device,
                        "critical",
                        f"设备 {device} 未上线 (device {device} not heard from for {self.grace} s)",
                        self.started + self.grace,
                    )
                )
                continue
            if heard is None or heard.health is None or heard.health in HEALTHY_STATES:
                continue
            severity = "warn" if heard.health in WARN_STATES else "critical"
            what = HEALTH_TEXT.get(heard.health, f"设备状态 {heard.health} (device state)")
            found.append(
                AlarmCondition(
                    "device_fault",
                    device,
                    severity,
                    f"{device}: {what} [{heard.health}]",
                    heard.health_since,
                )
            )
        return found
