"""What the demo's own programs (demo_kiosk, demo_watch) share: loading their config and broker,
a stop on SIGINT/SIGTERM, and the hall's times as they print them."""

from __future__ import annotations

import signal
import sys
import threading
from datetime import datetime
from types import FrameType
from typing import Any

from contract.mqtt_url import BrokerAddress, BrokerUrlError, broker_address
from hall.config.schema import ConfigError, HallConfig, load_config


def hall_time(value: Any) -> str:
    """An ISO time from a hall message as HH:MM:SS, or --:--:-- when it is not one."""
    try:
        return datetime.fromisoformat(str(value)).strftime("%H:%M:%S")
    except ValueError:
        return "--:--:--"


def load_config_and_broker(path: str, program: str) -> tuple[HallConfig, BrokerAddress] | None:
    """The hall config and the broker to use, or None after saying why on stderr (the program
    then exits 2)."""
    try:
        config = load_config(path)
        return config, broker_address(config.broker)
    except (ConfigError, BrokerUrlError) as exc:
        print(f"{program}: {exc}", file=sys.stderr)
        return None


def stop_on_signals() -> threading.Event:
    """An event SIGINT or SIGTERM sets: the program's main loop waits on it."""
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return stopping
