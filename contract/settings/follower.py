"""A device's settings from the hall, kept on disk for a boot without the broker.

The hall publishes, retained, on `device/{id}/settings` (docs/protocol.md "Device settings")::

    {"v": 1, "device": "led-1f", "class": "bridge",
     "settings": {...that device's section of the hall config, secrets excluded...},
     "hall": {"site": "hall-1", "name": "…", "tz": "Asia/Shanghai", "language": "zh", …}}

`CachedTopic` follows one retained topic (the settings, the `catalog`): each payload that arrives is
written to a file (atomically: a crash leaves the old copy or the new one, never half of either), and
`wait()` gives the live copy, else, once the broker has not delivered one in time, the copy on disk.
With neither it raises `SettingsUnavailable`, which says what to do.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from contract import topics

log = logging.getLogger(__name__)

Source = Literal["broker", "cache"]


class SettingsUnavailable(RuntimeError):
    """Neither the broker nor the disk has what the device needs to start."""


class SettingsInvalid(ValueError):
    """A settings payload that is not one (wrong version, device or shape)."""


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


class CachedTopic:
    """One retained JSON topic, its last copy on disk. `on_message` is a subscribe_json callback
    (paho's thread: it only stores, writes the file and notifies)."""

    def __init__(self, topic: str, path: Path, check: Callable[[dict[str, Any]], None]) -> None:
        self.topic = topic
        self.path = path
        self._check = check  # raises SettingsInvalid for a payload not to keep
        self._lock = threading.Lock()
        self._arrived = threading.Event()
        self._value: dict[str, Any] | None = None
        self._listeners: list[Callable[[dict[str, Any] | None], None]] = []

    def add_listener(self, listener: Callable[[dict[str, Any] | None], None]) -> None:
        """Called with each later payload (None: the hall cleared the topic)."""
        self._listeners.append(listener)

    def on_message(self, topic: str, value: dict[str, Any] | None) -> None:
        if value is not None:
            try:
                self._check(value)
            except SettingsInvalid as exc:
                log.error("%s: ignored: %s", topic, exc)
                return
        with self._lock:
            changed = value != self._value or not self._arrived.is_set()
            self._value = value
        try:
            if value is None:
                self.path.unlink(missing_ok=True)
            elif changed:
                write_atomically(self.path, json.dumps(value, ensure_ascii=False).encode())
        except OSError as exc:  # a full or read-only disk must not stop the device
            log.error("%s: cannot keep a copy in %s: %s", topic, self.path, exc)
        self._arrived.set()
        if changed:
            for listener in list(self._listeners):
                listener(value)

    def cached(self) -> dict[str, Any] | None:
        try:
            value = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.error("%s: the copy on disk cannot be read (%s): ignored", self.path, exc)
            return None
        if not isinstance(value, dict):
            return None
        try:
            self._check(value)
        except SettingsInvalid as exc:
            log.error("%s: the copy on disk is not usable (%s): ignored", self.path, exc)
            return None
        return value

    def wait(self, timeout: float) -> tuple[dict[str, Any] | None, Source | None]:
        """The live payload if the broker delivers one within `timeout`, else the copy on disk,
        else (None, None). A topic the hall cleared counts as none."""
        if self._arrived.wait(timeout):
            with self._lock:
                value = self._value
            if value is not None:
                return value, "broker"
            return None, None
        value = self.cached()
        return (value, "cache") if value is not None else (None, None)


@dataclass(frozen=True)
class DeviceSettings:
    device: str
    device_class: str
    settings: dict[str, Any]  # the device's section of the hall config
    hall: dict[str, Any]  # the hall-wide bits a device needs that `catalog` does not carry
    source: Source

    @property
    def tz(self) -> str:
        return str(self.hall.get("tz") or "Asia/Shanghai")


def settings_checker(device_id: str) -> Callable[[dict[str, Any]], None]:
    def check(value: dict[str, Any]) -> None:
        if value.get("v") != 1:
            raise SettingsInvalid(f"version {value.get('v')!r}: this device reads version 1")
        if value.get("device") != device_id:
            raise SettingsInvalid(f"for device {value.get('device')!r}, not {device_id!r}")
        if not isinstance(value.get("settings"), dict) or not isinstance(value.get("class"), str):
            raise SettingsInvalid("no `settings` object or `class`")

    return check


def catalog_checker(value: dict[str, Any]) -> None:
    if value.get("v") != 1 or not isinstance(value.get("windows"), list):
        raise SettingsInvalid("not a version 1 catalog")


class SettingsFollower:
    """A device's settings topic and the hall's `catalog`, each with its copy in `cache_dir`."""

    def __init__(self, site: str, device_id: str, cache_dir: Path) -> None:
        self.site = site
        self.device_id = device_id
        self.settings = CachedTopic(
            topics.device_settings(site, device_id),
            cache_dir / f"{device_id}.settings.json",
            settings_checker(device_id),
        )
        self.catalog = CachedTopic(
            topics.catalog(site), cache_dir / f"{site}.catalog.json", catalog_checker
        )

    def subscribe(self, subscribe_json: Callable[..., object]) -> None:
        """Subscribe both topics with a HallClient's `subscribe_json`."""
        subscribe_json(self.settings.topic, self.settings.on_message)
        subscribe_json(self.catalog.topic, self.catalog.on_message)

    def wait(self, timeout: float) -> DeviceSettings:
        """The settings, live or from disk; raises SettingsUnavailable saying what to do."""
        value, source = self.settings.wait(timeout)
        if value is None or source is None:
            raise SettingsUnavailable(
                f"device {self.device_id!r}: no settings from the hall within {timeout:g} s and no "
                f"copy in {self.settings.path}: check that the broker is reachable (HALLQ_MQTT_URL, "
                f"HALLQ_MQTT_CA), that `hallq server` runs, and that {self.device_id!r} is a device "
                f"of the hall config of site {self.site!r} (then re-run `hallq broker-config`)"
            )
        if source == "cache":
            log.warning(
                "%s: no settings from the broker within %g s: using the copy in %s",
                self.device_id,
                timeout,
                self.settings.path,
            )
        return DeviceSettings(
            device=self.device_id,
            device_class=str(value["class"]),
            settings=dict(value["settings"]),
            hall=dict(value.get("hall") or {}),
            source=source,
        )

    def wait_catalog(self, timeout: float) -> dict[str, Any] | None:
        value, _ = self.catalog.wait(timeout)
        return value
