"""The rig of the monitor's real-window tests: the small test hall with an operator, a little load,
and the driver (tests/monitor/monitor_driver.py) in its own process under Xvfb."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from contract.client import HallClient
from contract.mqtt_url import parse_url
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import to_toml
from tests.fixtures.halls import SITE, small_hall_data

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "monitor"


def write_config(folder: Path, broker: Broker, alarms: dict[str, Any] | None = None) -> Path:
    """The small test hall on the test's broker, with an `[alarms]` section if given."""
    data = small_hall_data()
    if alarms is not None:
        data["alarms"] = alarms
    data["broker"] = {"url": broker.url, "keepalive": 10}
    path = folder / "hall.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    return path


def connect(broker: Broker, device_class: str, device_id: str) -> HallClient:
    return HallClient.connect(parse_url(broker.url), SITE, device_class, device_id)


def load_the_hall(broker: Broker) -> list[HallClient]:
    """Tickets in every department, clerks at three windows, calls, one window paused."""
    kiosk = connect(broker, "kiosk", "k1")
    for service in ["psb-id-card"] * 6 + ["tax-invoice"] * 4 + ["amr-license"] * 3:
        kiosk.request("issue", service=service)
    clients = [kiosk]
    for window, clerk in {"w01": "c0201", "w03": "c0301", "w05": "c0501"}.items():
        client = connect(broker, "window", window)
        clients.append(client)
        client.request("login", clerk=clerk)
        if window != "w03":
            client.request("call_next")
    clients[2].request("pause", reason="系统维护")
    return clients


def run_driver(
    config: Path, steps: list[dict[str, Any]], out: Path, display: str
) -> dict[str, Any]:
    """The monitor as operator op1 playing `steps`; its result.json (raises with its log)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "steps.json").write_text(json.dumps(steps, ensure_ascii=False), "utf-8")
    env = {**os.environ, "DISPLAY": display, "KIVY_HOME": str(out / "kivy-home")}
    env["KIVY_NO_CONSOLELOG"] = "1"
    args = [sys.executable, "-m", "tests.monitor.monitor_driver", "--config", str(config)]
    args += ["--id", "op1", "--steps", str(out / "steps.json"), "--out", str(out)]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=150)
    result_file = out / "result.json"
    assert result_file.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    result: dict[str, Any] = json.loads(result_file.read_text("utf-8"))
    assert not result["failed"], (result["failed"], done.stderr[-3000:])
    return result
