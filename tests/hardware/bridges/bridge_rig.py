"""The rig of the bridge tests: the small test hall with LED and keypad bridges on emulated buses,
written as TOML, and `hallq server` as a real process watched through status/hall."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hall import topics
from hall.mqtt_url import parse_url
from hall.transport import Message, PahoTransport
from tests.fixtures.broker import Broker
from tests.fixtures.halls import SITE, small_hall_data

CLOCK = "2026-11-26T09:00+08:00"  # a Thursday morning: the test hall's services are open
FLASH = 0.8  # seconds a call flashes in these tests


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        items = ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items() if v is not None)
        return "{ " + items + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)  # strings, numbers, booleans


def to_toml(data: dict[str, Any]) -> str:
    lines: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"[{key}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in value.items() if v is not None]
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                lines.append(f"[[{key}]]")
                lines += [f"{k} = {toml_value(v)}" for k, v in item.items() if v is not None]
        lines.append("")
    return "\n".join(lines)


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


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


class HallServer:
    """`python -m hallq server` in its own process, watched through status/hall."""

    def __init__(self, broker: Broker, config: Path, data: Path, log: Path) -> None:
        self.args = [sys.executable, "-m", "hallq", "server", "--config", str(config)]
        self.args += ["--data", str(data), "--clock", CLOCK]
        self.log = log
        self.status: list[bytes] = []
        self.watcher = PahoTransport(parse_url(broker.url), "bridge-test-status-watcher")
        self.watcher.subscribe(topics.status(SITE, "hall"), self._on_status)
        self.watcher.start(wait=5)
        self.process: subprocess.Popen[bytes] | None = None

    def _on_status(self, message: Message) -> None:
        self.status.append(message.payload)

    def start(self) -> None:
        seen = len(self.status)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        assert wait_for(lambda: b"online" in self.status[seen:]), self.log.read_text()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(5)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.watcher.stop()
