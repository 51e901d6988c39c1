"""The rig of the bridge tests: the small test hall with LED and keypad bridges on emulated buses,
written as TOML, and `hallq server` as a real process watched through status/hall."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import HallServer, to_toml
from tests.fixtures.halls import SITE, small_hall_data

FLASH = 0.8  # seconds a call flashes in these tests


def hall_data(folder: Path, broker_url: str) -> dict[str, Any]:
    data = small_hall_data()
    data["broker"] = {"url": broker_url, "keepalive": 10}
    data["bridges"] = [
        {
            "id": "led-gb",
            "kind": "led",
            "windows": ["w01", "w05"],
            "bus": {
                "port": str(folder / "led-gb"),
                "protocol": "gb-frame",
                "flash_seconds": FLASH,
                "boards": [{"address": 1, "window": "w01"}, {"address": 5, "window": "w05"}],
            },
        },
        {
            "id": "led-alpha",
            "kind": "led",
            "windows": ["w01"],
            "bus": {
                "port": str(folder / "led-alpha"),
                "protocol": "alpha",
                "flash_seconds": FLASH,
                "boards": [{"address": 0x11, "window": "w01"}],
            },
        },
        {
            "id": "keypads",
            "kind": "keypad",
            "windows": ["w01", "w02"],
            "bus": {
                "port": str(folder / "keypads"),
                "keypads": [{"address": 5, "window": "w01"}, {"address": 6, "window": "w02"}],
            },
        },
    ]
    return data


def write_config(folder: Path, broker: Broker) -> Path:
    path = folder / "hall.toml"
    path.write_text(to_toml(hall_data(folder, broker.url)), encoding="utf-8")
    return path


def hall_server(broker: Broker, config: Path, data: Path, log: Path) -> HallServer:
    return HallServer(broker.url, SITE, config, data, log)
