"""`hallq monitor --id OPERATOR_ID [--env FILE | --config FILE]`: the monitoring room's screen.

An operator machine starts from its env file of `hallq broker-config` (HALLQ_SITE, HALLQ_MQTT_URL,
HALLQ_MQTT_CA; `--env FILE` or the environment, contract/device_env.py); the demo and the tests give
the hall config (`--config FILE`) instead, as the display and the bridges do. Nothing else is
configured: the monitor shows what the hall publishes.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

from contract.device_env import DeviceEnvError, device_env
from contract.mqtt_url import BrokerAddress, broker_address
from screens.kivy_setup import wall_screen_environment
from screens.screen_cli import add_screen_arguments, start_logging

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Options:
    operator_id: str
    site: str
    address: BrokerAddress
    screenshot_dir: Path | None = None
    state_file: Path | None = None
    exit_after: float | None = None
    size: tuple[int, int] | None = None
    draw_log: Path | None = None  # bench/monitor.py: when each alarm was first drawn


def from_config(operator_id: str, path: str) -> tuple[str, BrokerAddress]:
    from hall.config.schema import (  # the reader only: no engine, store, service
        ConfigError,
        load_config,
    )

    try:
        config = load_config(path)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    known = [o.id for o in config.operators]
    if operator_id not in known:
        raise ValueError(
            f"{path}: no operator {operator_id!r} in [[operators]] (operators: "
            f"{', '.join(known) or 'none'}): add it there and run `hallq broker-config` again"
        )
    return str(config.site.id), broker_address(config.broker)


def parse_args(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="hallq monitor", description="the monitoring room")
    parser.add_argument("--id", required=True, help="this operator's id ([[operators]])")
    parser.add_argument("--env", type=Path, help="this operator's env file of hallq broker-config")
    parser.add_argument("--config", help="read the site and broker from this hall config (demo)")
    add_screen_arguments(parser)
    parser.add_argument("--draw-log", type=Path, help=argparse.SUPPRESS)  # bench/monitor.py
    args = parser.parse_args(argv)
    start_logging(args.log_level)
    if args.config:
        site, address = from_config(args.id, args.config)
    else:
        try:
            env = device_env(args.env, args.id)
        except DeviceEnvError as exc:
            raise ValueError(f"{exc} (or give --config FILE for a demo)") from None
        site, address = env.site, env.address
    return Options(
        args.id,
        site,
        address,
        args.screenshot_dir,
        args.state_file,
        args.exit_after,
        args.size,
        args.draw_log,
    )


def configure_kivy(size: tuple[int, int] | None) -> None:
    """Before Kivy is imported (tests/monitor/monitor_driver.py calls it too)."""
    wall_screen_environment(size, maxfps=30)


def main(argv: list[str]) -> int:
    try:
        options = parse_args(argv)
    except (ValueError, OSError) as exc:
        print(f"hallq monitor: {exc}", file=sys.stderr)
        return 2
    configure_kivy(options.size)
    from monitor.kivy_app import MonitorApp

    MonitorApp(options).run()
    return 0
