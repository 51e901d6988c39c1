"""`hallq display --id ID [--config FILE] [--screenshot-dir DIR] [--state-file FILE]`: a hall screen
or a window screen, full screen, in Kivy.

The settings (kind, orientation, areas, pages, languages, slogan, keepalive) are the display's
section of the hall config: from `--config FILE` (the demo, the tests), else from the hall's retained
`device/{id}/settings`. Network messages reach the presenter only through `Clock.schedule_once`; the
view is redrawn by a trigger (once per frame at most), and four times a second for the flash, the
clock and the connection check.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

from contract import topics
from contract.mqtt_url import BrokerAddress, broker_address, parse_url
from contract.transport import Message, PahoTransport
from display.settings import DisplaySettings, from_config_file, from_settings_message
from screens.kivy_setup import wall_screen_environment
from screens.screen_cli import add_screen_arguments, start_logging

log = logging.getLogger(__name__)

SCREENSHOT_AFTER = 4.0  # seconds after start: the first frames on llvmpipe take ~1.5 s
SETTINGS_WAIT = 30.0  # seconds to wait for the hall's settings before retrying


@dataclasses.dataclass
class Options:
    device_id: str
    site: str
    address: BrokerAddress
    settings: DisplaySettings
    screenshot_dir: Path | None = None
    state_file: Path | None = None
    exit_after: float | None = None
    size: tuple[int, int] | None = None  # a window of this size instead of full screen
    flip_log: Path | None = None
    screenshot_every: float | None = None
    from_hall: bool = False  # the settings came from the hall's topic (not --config)


def settings_from_hall(address: BrokerAddress, site: str, device_id: str) -> DisplaySettings:
    """Wait for the display's retained `device/{id}/settings`; raises TimeoutError if none came."""
    found: list[DisplaySettings] = []
    got = threading.Event()

    def on_settings(message: Message) -> None:
        try:
            payload = json.loads(message.payload) if message.payload else None
            settings = from_settings_message(device_id, payload)
        except ValueError as exc:
            log.error("display %s: settings refused: %s", device_id, exc)
            return
        if settings is not None:
            found.append(settings)
            got.set()

    transport = PahoTransport(address, f"{device_id}-settings")
    transport.subscribe(topics.device_settings(site, device_id), on_settings)
    transport.start()
    try:
        if not got.wait(SETTINGS_WAIT):
            raise TimeoutError(
                f"display {device_id}: no settings on {topics.device_settings(site, device_id)} "
                f"within {SETTINGS_WAIT:g} s: is the hall running, and is {device_id!r} in its "
                "[[displays]]? (or give --config FILE)"
            )
    finally:
        transport.stop()
    return found[-1]


def resolve_settings(args: argparse.Namespace) -> tuple[str, BrokerAddress, DisplaySettings]:
    """(site, broker, settings): from `--config FILE`, else the environment and the hall's topic."""
    if args.config:
        settings, config = from_config_file(args.id, args.config)
        address = broker_address(config.broker)
        site = str(config.site.id)
    else:
        site = args.site or os.environ.get("HALLQ_SITE", "")
        url = os.environ.get("HALLQ_MQTT_URL")
        if not site or not url:
            raise ValueError("give --config FILE, or HALLQ_SITE (or --site) and HALLQ_MQTT_URL")
        address = parse_url(url, ca=os.environ.get("HALLQ_MQTT_CA"), source="HALLQ_MQTT_URL")
        while True:
            try:
                settings = settings_from_hall(address, site, args.id)
                break
            except TimeoutError as exc:
                log.warning("%s", exc)
    # A short keepalive for screens: a hung link must show within 1.5 of them.
    return site, dataclasses.replace(address, keepalive=settings.keepalive), settings


def parse_args(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="hallq display", description="a hall or window screen")
    parser.add_argument("--id", required=True, help="this display's id in the hall config")
    parser.add_argument("--config", help="read the settings from this hall config (demo, tests)")
    parser.add_argument("--site", help="the hall's site id (else HALLQ_SITE)")
    add_screen_arguments(parser)
    parser.add_argument("--screenshot-every", type=float, help="and again this often (seconds)")
    parser.add_argument("--flip-log", type=Path, help=argparse.SUPPRESS)  # bench/display.py
    args = parser.parse_args(argv)
    start_logging(args.log_level)
    site, address, settings = resolve_settings(args)
    return Options(
        args.id,
        site,
        address,
        settings,
        args.screenshot_dir,
        args.state_file,
        args.exit_after,
        args.size,
        args.flip_log,
        screenshot_every=args.screenshot_every,
        from_hall=not args.config,
    )


def main(argv: list[str]) -> int:
    try:
        options = parse_args(argv)
    except (ValueError, OSError) as exc:
        print(f"hallq display: {exc}", file=sys.stderr)
        return 2
    wall_screen_environment(options.size, maxfps=60)
    from display.kivy_app import DisplayApp

    DisplayApp(options).run()
    return 0


def hall_zone() -> ZoneInfo:
    return ZoneInfo("Asia/Shanghai")  # until the catalog tells the hall's own


def install_sigusr1(flag: threading.Event) -> None:
    if hasattr(signal, "SIGUSR1"):
        signal.signal(signal.SIGUSR1, lambda signum, frame: flag.set())
