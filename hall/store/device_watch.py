"""What the devices last said of themselves, and the alarms that wants (device_offline,
device_fault): fed from paho's thread with each retained `status/{id}` and `device/{id}/health`,
read by the worker at each tick. Kept by the core, not the engine: it is not the hall's state (a
restart hears it all again from the retained messages), and it is shared between two threads.

    watch = DeviceWatch(config, started_ts)
    watch.status("k1", b"offline", now_ts); watch.health("k1", b'{"state":"paper_out",...}', now_ts)
    watch.conditions(now_ts)
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from hall.config.schema import HallConfig
from hall.engine.model import AlarmCondition

HEALTHY_STATES = frozenset({"ok", "ready"})  # device/{id}/health states that mean all is well
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
