"""How the terminal and the evaluator start: from the device's env file of `hallq broker-config` (its
settings and the hall's `catalog` from the broker, or the copies on disk), or, for the demo and the
tests, from a hall config file (`--config`), like the bridges."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from contract.client import HallClient
from contract.device_env import device_env
from contract.hall_clock import HallClock
from contract.settings.follower import SettingsFollower
from screens.screen_cli import start_logging

SETTINGS_WAIT = 10.0


class StartError(ValueError):
    """The device cannot start; the message says what to do."""


@dataclass
class Started:
    site: str
    device_id: str
    client: HallClient
    settings: dict[str, Any]  # the device's section of the hall config
    hall: dict[str, Any]
    catalog: dict[str, Any] | None
    # Later settings and catalogs from the broker (the env way only); the app registers here.
    settings_listeners: list[Callable[[dict[str, Any] | None], None]] = field(default_factory=list)
    catalog_listeners: list[Callable[[dict[str, Any] | None], None]] = field(default_factory=list)

    @property
    def tz(self) -> str:
        return str(self.hall.get("tz") or "Asia/Shanghai")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--id", help="this device's id (default: HALLQ_DEVICE_ID of the env file)")
    parser.add_argument("--env", help="the device's env file of `hallq broker-config`")
    parser.add_argument("--cache", help="where to keep the last settings and catalog")
    parser.add_argument("--settings-wait", type=float, default=SETTINGS_WAIT)
    parser.add_argument("--config", help="read the device's section from this hall config (demo)")
    parser.add_argument("--windowed", action="store_true", help="a window, not full screen")
    parser.add_argument("--size", default="1280x800", help="the window's size, WIDTHxHEIGHT")
    parser.add_argument("--at", help="with --windowed: the window's top left corner, LEFT,TOP")


def window_place(args: argparse.Namespace) -> tuple[tuple[int, int], tuple[int, int] | None]:
    """(size, top left corner or None) from --size and --at; ValueError says what is wrong."""
    try:
        width, height = (int(x) for x in args.size.split("x"))
        at = tuple(int(x) for x in args.at.split(",")) if args.at else None
    except ValueError:
        raise ValueError("--size is WIDTHxHEIGHT and --at is LEFT,TOP (whole pixels)") from None
    if at is not None and len(at) != 2:
        raise ValueError("--at is LEFT,TOP")
    return (width, height), (at[0], at[1]) if at else None


def start(args: argparse.Namespace, device_class: str) -> Started:
    if args.config:
        return _from_config(args, device_class)
    env = device_env(Path(args.env) if args.env else None, args.id)
    cache = Path(args.cache) if args.cache else env.cache_dir
    client = HallClient.connect(env.address, env.site, device_class, env.device_id, wait=None)
    follower = SettingsFollower(env.site, env.device_id, cache)
    follower.subscribe(client.subscribe_json)
    try:
        settings = follower.wait(args.settings_wait)
    except Exception:
        client.close()
        raise
    if settings.device_class != device_class:
        client.close()
        raise StartError(
            f"{env.device_id!r} is not a {device_class} of the hall config (it is one of its "
            f"{settings.device_class}s): check --id and the env file"
        )
    catalog = follower.wait_catalog(args.settings_wait if settings.source == "broker" else 0)
    started = Started(env.site, env.device_id, client, settings.settings, settings.hall, catalog)

    def on_settings(value: dict[str, Any] | None) -> None:
        for listener in started.settings_listeners:
            listener(value["settings"] if value else None)

    def on_catalog(value: dict[str, Any] | None) -> None:
        for listener in started.catalog_listeners:
            listener(value)

    follower.settings.add_listener(on_settings)
    follower.catalog.add_listener(on_catalog)
    return started


def begin(
    parser: argparse.ArgumentParser, argv: list[str] | None, device_class: str
) -> tuple[argparse.Namespace, Started] | None:
    """How `hallq terminal` and `hallq evaluator` begin: their options (`parser` holds the
    program's own), the log, the device started, Kivy set for the window's size and place; None,
    said on stderr under the program's name, when it cannot start."""
    from screens.kivy_setup import kivy_environment

    add_arguments(parser)
    args = parser.parse_args(argv)
    start_logging()
    try:
        size, at = window_place(args)
        started = start(args, device_class)
    except (StartError, ValueError, RuntimeError) as exc:
        print(f"{parser.prog}: {exc}", file=sys.stderr)
        return None
    kivy_environment(args.windowed, size, at)
    return args, started


def run_app(started: Started, build: Callable[[HallClock], Any]) -> int:
    """The app `build(hall_clock)` makes, run until it stops (SIGTERM and SIGINT stop it through
    its main loop); the device's client closes after."""
    from screens.kivy_setup import stop_on_signals

    clock = started.client.follow_clock(ZoneInfo(started.tz))
    try:
        app = build(clock)
        stop_on_signals(app)
        app.run()
    finally:
        started.client.close()
    return 0


def _from_config(args: argparse.Namespace, device_class: str) -> Started:
    from contract.mqtt_url import broker_address
    from hall.config.device_settings import names_catalog, settings_payload
    from hall.config.schema import load_config

    if not args.id:
        raise StartError("--config needs --id")
    config = load_config(Path(args.config))
    try:
        payload = settings_payload(config, args.id)
    except ValueError:
        raise StartError(f"no device {args.id!r} in {args.config}") from None
    if payload["class"] != device_class:
        raise StartError(f"{args.id!r} is not a {device_class} of {args.config} (it is one of its {payload['class']}s)")  # fmt: skip
    client = HallClient.connect(
        broker_address(config.broker), config.site.id, device_class, args.id, wait=None
    )
    return Started(
        config.site.id, args.id, client, payload["settings"], payload["hall"], names_catalog(config)
    )
