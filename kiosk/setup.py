"""What a kiosk runs from: its section of the hall config, as the hall publishes it on the kiosk's
settings topic (docs/protocol.md "Device settings"), kept on disk for a boot without the broker.

A kiosk machine holds only its env file of `hallq broker-config` and the hall's CA certificate; the
printer, the green channel and the languages come from the hall, the names from the retained
`catalog`. `--config hall.toml` (the demo, the tests) builds the same setup from the file, through
the same payload the hall would publish.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from contract.client import HallClient
from contract.mqtt_url import BrokerAddress
from contract.settings.follower import DeviceSettings, SettingsFollower, SettingsUnavailable
from contract.settings.printer import PrinterConfig
from kiosk.helper import run_module

log = logging.getLogger(__name__)

SETTINGS_WAIT = 10.0  # seconds for the broker to deliver the settings before the copy on disk
BOOT_LOG_EVERY = 30.0  # while neither has them: say so this often, and keep waiting
CONFIG_READ_TIMEOUT = 60.0  # seconds: bounds a hung reader only (it takes about a second)


class KioskSetupError(ValueError):
    """Settings the kiosk cannot run from: the message says what to fix in the hall config."""


@dataclass(frozen=True)
class KioskSetup:
    site: str
    kiosk_id: str
    allow_priority: bool
    printer: PrinterConfig | None
    ticket_url: str | None
    languages: tuple[str, ...]
    source: str  # "broker", "cache" or "config"


def setup_from_settings(settings: DeviceSettings) -> KioskSetup:
    section, hall = settings.settings, settings.hall
    if settings.device_class != "kiosk":
        raise KioskSetupError(
            f"{settings.device} is a {settings.device_class} in the hall config, not a kiosk"
        )
    printer: PrinterConfig | None = None
    if isinstance(section.get("printer"), Mapping):
        try:
            printer = PrinterConfig.model_validate(section["printer"])
        except ValidationError as exc:
            raise KioskSetupError(
                f"kiosk {settings.device}: its [kiosks.printer] is not usable: {exc}"
            ) from None
    first = str(hall.get("language") or "zh")
    languages = (first, *(lang for lang in ("zh", "en") if lang != first))
    return KioskSetup(
        site=str(hall.get("site") or ""),
        kiosk_id=settings.device,
        allow_priority=bool(section.get("allow_priority", False)),
        printer=printer,
        ticket_url=hall.get("ticket_url") or None,
        languages=languages,
        source=settings.source,
    )


@dataclass(frozen=True)
class _Broker:
    """The config's `[broker]` as the helper read it (contract.mqtt_url.BrokerSettings)."""

    url: str
    ca: str | None
    keepalive: int


def setup_from_config(config_path: Path, kiosk_id: str) -> tuple[KioskSetup, BrokerAddress]:
    """The same setup from a hall config file, and the broker it names (the demo, the tests).

    The file is read by `python -m hall.config.device_settings`, the hall's own reader, in a process of its
    own: the kiosk never loads the hall's config models (their memory is the kiosk's for good)."""
    from contract.mqtt_url import broker_address

    done = run_module(
        "hall.config.device_settings", str(config_path), kiosk_id, timeout=CONFIG_READ_TIMEOUT
    )
    answer: dict[str, Any] = json.loads(done.stdout) if done.returncode == 0 else {}
    payload: dict[str, Any] = answer.get("settings", {})
    if done.returncode == 3 or payload.get("class") not in (None, "kiosk"):
        raise KioskSetupError(f"no kiosk {kiosk_id!r} in {config_path}: add it under [[kiosks]]")
    if done.returncode != 0:
        raise KioskSetupError(done.stderr.strip() or f"cannot read {config_path}")
    settings = DeviceSettings(
        device=kiosk_id,
        device_class=str(payload["class"]),
        settings=payload["settings"],
        hall=payload["hall"],
        source="broker",
    )
    setup = setup_from_settings(settings)
    return (
        KioskSetup(**{**setup.__dict__, "source": "config"}),
        broker_address(_Broker(**answer["broker"])),
    )


def wait_for_settings(client: HallClient, kiosk_id: str, cache_dir: Path) -> KioskSetup:
    """The kiosk's settings from the hall, or its copy on disk; with neither (a first boot before
    the broker), keep waiting and say so: a kiosk that gives up is a black screen in the hall."""
    follower = SettingsFollower(client.site, kiosk_id, cache_dir)
    follower.subscribe(client.subscribe_json)
    while True:
        try:
            return setup_from_settings(follower.wait(SETTINGS_WAIT))
        except SettingsUnavailable as exc:
            log.warning("%s; still waiting", exc)
            time.sleep(BOOT_LOG_EVERY - SETTINGS_WAIT)
