"""`hallq monitor --id OPERATOR_ID [--env FILE | --config FILE]`: the monitoring room's screen.

An operator machine starts from its env file of `hallq broker-config` (HALLQ_SITE, HALLQ_MQTT_URL,
HALLQ_MQTT_CA; `--env FILE` or the environment, contract/device_env.py); the demo and the tests give
the hall config (`--config FILE`) instead, as the display and the bridges do. Nothing else is
configured: the monitor shows what the hall publishes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from contract.device_env import DeviceEnvError, device_env
from contract.mqtt_url import BrokerAddress, broker_address

log = logging.getLogger(__name__)

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


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
    from hall.config import ConfigError, load_config  # the reader only: no engine, store, service

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
    parser.add_argument("--screenshot-dir", type=Path, help="save ID.png here (and on SIGUSR1)")
    parser.add_argument("--state-file", type=Path, help="write what is drawn as JSON each second")
    parser.add_argument("--exit-after", type=float, help="quit after this many seconds")
    parser.add_argument("--size", help="a WIDTHxHEIGHT window instead of full screen")
    parser.add_argument("--draw-log", type=Path, help=argparse.SUPPRESS)  # bench/monitor.py
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.config:
        site, address = from_config(args.id, args.config)
    else:
        try:
            env = device_env(args.env, args.id)
        except DeviceEnvError as exc:
            raise ValueError(f"{exc} (or give --config FILE for a demo)") from None
        site, address = env.site, env.address
    size = None
    if args.size:
        width, _, height = args.size.partition("x")
        size = (int(width), int(height))
    return Options(
        args.id,
        site,
        address,
        args.screenshot_dir,
        args.state_file,
        args.exit_after,
        size,
        args.draw_log,
    )


def configure_kivy(size: tuple[int, int] | None) -> None:
    """Before Kivy is imported: no argument parsing, its home in a temp folder unless set, the
    window full screen (or a given size), the CJK font."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_HOME", str(Path(tempfile.gettempdir()) / "hallq-kivy"))
    from kivy.config import Config

    if size:
        Config.set("graphics", "fullscreen", "0")
        Config.set("graphics", "width", str(size[0]))
        Config.set("graphics", "height", str(size[1]))
    else:
        Config.set("graphics", "fullscreen", "auto")
        Config.set("graphics", "borderless", "1")
    Config.set("graphics", "maxfps", "30")
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    if os.path.exists(FONT):
        Config.set("kivy", "default_font", ["WenQuanYi", FONT, FONT, FONT, FONT])


def write_json(path: Path, value: dict[str, Any]) -> None:
    temp = path.with_suffix(path.suffix + ".tmp")
    temp.write_text(json.dumps(value, ensure_ascii=False), "utf-8")
    temp.replace(path)


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
