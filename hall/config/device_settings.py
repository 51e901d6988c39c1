"""Each device's settings, published by the hall: the one place that maps a device class's section of
the hall config to its `device/{id}/settings` payload (docs/protocol.md "Device settings").

    {"v": 1, "device": ID, "class": CLASS, "settings": {...}, "hall": {...}}

`settings` is the device's own section in JSON mode (its id included), plus what `EXTRAS` of its class
adds; `hall` is the hall-wide part a device needs that `catalog` does not carry. No PIN hash is ever
published; keypad codes go only to a keypad bridge, and only those of the clerks on its windows'
rosters (it turns a keyed code into a login; the hall checks the PIN). A new device class (e.g.
`announcers`) needs only its section in `HallConfig.devices()`; a class that needs derived fields adds
an entry to `EXTRAS`.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from contract import topics
from contract.protocol import VERSION, dumps
from contract.transport import Message, Transport
from hall.config.schema import HallConfig

log = logging.getLogger(__name__)


def hall_part(config: HallConfig) -> dict[str, Any]:
    site = config.site
    return {
        "site": site.id,
        "name": site.name,
        "name_en": site.name_en,
        "tz": site.tz,
        "language": site.language,
        "ticket_url": site.ticket_url,
        "number_width": config.limits.number_width,
    }


def _bridge_extras(config: HallConfig, section: BaseModel) -> dict[str, Any]:
    if getattr(section, "kind", None) != "keypad":
        return {}
    windows = set(getattr(section, "windows", []))
    roster = {c for w in config.windows if w.id in windows for c in w.clerks}
    clerks = [c for c in config.clerks if c.id in roster and c.keypad_code]
    return {
        "keypad_clerks": [
            {"id": c.id, "keypad_code": c.keypad_code, "pin": c.pin_hash is not None}
            for c in clerks
        ]
    }


def _window_extras(config: HallConfig, section: BaseModel) -> dict[str, Any]:
    """A window terminal asks for a PIN only of the clerks that have one: the roster with a flag
    (never the hash)."""
    clerks = {c.id: c for c in config.clerks}
    return {
        "roster": [
            {"id": c, "pin": clerks[c].pin_hash is not None if c in clerks else True}
            for c in getattr(section, "clerks", [])
        ]
    }


# Device class -> what its settings carry beyond its own section.
EXTRAS: dict[str, Callable[[HallConfig, BaseModel], dict[str, Any]]] = {
    "bridge": _bridge_extras,
    "window": _window_extras,
}


def section_of(config: HallConfig, device_id: str) -> tuple[str, BaseModel] | None:
    """(device class, its section) of a device of the config, or None."""
    device_class = config.device_class(device_id)
    if device_class is None:
        return None
    section = next(s for s in getattr(config, f"{device_class}s") if s.id == device_id)
    return device_class, section


def settings_payload(config: HallConfig, device_id: str) -> dict[str, Any]:
    found = section_of(config, device_id)
    if found is None:
        raise ValueError(f"{device_id!r} is no device of the config")
    device_class, section = found
    settings = section.model_dump(mode="json")
    extra = EXTRAS.get(device_class)
    if extra is not None:
        settings.update(extra(config, section))
    return {
        "v": VERSION,
        "device": device_id,
        "class": device_class,
        "settings": settings,
        "hall": hall_part(config),
    }


class DeviceSettingsPublisher:
    """Publishes every device's settings, retained; clears the settings of a device no longer in the
    config (the broker still holds them from an earlier run)."""

    def __init__(self, config: HallConfig, transport: Transport) -> None:
        self.config = config
        self.site = config.site.id
        self.transport = transport
        self.known = config.device_classes()

    def watch(self) -> None:
        """Subscribe to every settings topic, before the transport starts: the retained ones of
        removed devices arrive after each connect and are cleared."""
        self.transport.subscribe(topics.all_device_settings(self.site), self._on_settings, qos=1)

    def publish_all(self) -> None:
        for ids in self.config.devices().values():
            for device_id in ids:
                payload = dumps(settings_payload(self.config, device_id))
                self.transport.publish(
                    topics.device_settings(self.site, device_id), payload, qos=1, retain=True
                )
        log.info("hall %s: settings of %d devices published", self.site, len(self.known))

    def _on_settings(self, message: Message) -> None:
        # paho's thread: a publish only hands the message over.
        device_id = topics.parse_device_settings(self.site, message.topic)
        if device_id is None or device_id in self.known or not message.payload:
            return
        log.info("hall %s: %s is no longer in the config: its settings are cleared", self.site,
                 device_id)  # fmt: skip
        self.transport.publish(message.topic, b"", qos=1, retain=True)


def names_catalog(config: HallConfig) -> dict[str, Any]:
    """The names part of `catalog` (departments with prefixes, services' departments, windows),
    from the config alone: for a device run from a hall config file (the demo) rather than from
    its settings topic. The hall's own `catalog` (hall/engine/views.py) carries these same fields."""
    return {
        "v": VERSION,
        "departments": [
            {"code": d.code, "name_zh": d.name_zh, "name_en": d.name_en, "prefix": d.prefix}
            for d in config.departments
        ],
        "services": [
            {"code": s.code, "department": s.department, "name_zh": s.name_zh}
            for s in config.services
        ],
        "windows": [
            {
                "id": w.id,
                "no": w.no,
                "name": w.name,
                "services": w.services,
                "tiers": [list(tier) for tier in w.tiers],
                "roster": [
                    {"id": c, "name": clerk.name if (clerk := config.clerk(c)) else c}
                    for c in w.clerks
                ],
            }
            for w in config.windows
        ],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m hall.config.device_settings CONFIG DEVICE`: the settings the hall publishes for DEVICE and
    the config's `[broker]`, as JSON on stdout. A device in `--config` mode (the demo, the tests)
    reads its section through this, so that the device's own process never loads the hall's
    config models (the kiosk's memory goal: docs/kiosk.md "Measured")."""
    from hall.config.schema import ConfigError, load_config

    config_path, device = (list(sys.argv[1:]) if argv is None else list(argv)) or ["", ""]
    try:
        config = load_config(Path(config_path))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if section_of(config, device) is None:
        print(f"no device {device!r} in {config_path}", file=sys.stderr)
        return 3
    answer = {
        "settings": settings_payload(config, device),
        "broker": config.broker.model_dump(mode="json"),
    }
    json.dump(answer, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
