"""The rig of the real-window display tests: the small test hall with its screens, written as TOML,
Xvfb (optionally a window manager), `hallq display` processes, and a little load on the hall."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from contract.client import HallClient
from contract.mqtt_url import parse_url
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import to_toml, wait_for
from tests.fixtures.halls import SITE, small_hall_data

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "display"

DISPLAYS = [
    {"id": "d1", "name": "大厅屏", "kind": "hall", "orientation": "landscape", "keepalive": 4},
    {"id": "d2", "name": "竖屏", "kind": "hall", "orientation": "portrait", "keepalive": 4},
    {"id": "d3", "name": "二楼屏", "kind": "hall", "areas": ["2F"], "keepalive": 4,
     "pages": {"hall_seconds": 5, "sunshine_seconds": 600}},
    {"id": "dw5", "name": "5号窗口屏", "kind": "window", "window": "w05", "keepalive": 4},
    {"id": "d4", "name": "竖屏公示", "kind": "hall", "orientation": "portrait", "keepalive": 4,
     "pages": {"hall_seconds": 5, "sunshine_seconds": 600}},
    {"id": "dw4", "name": "4号窗口屏", "kind": "window", "window": "w04", "slogan": "为人民服务",
     "orientation": "portrait", "keepalive": 4},
]  # fmt: skip


def write_config(folder: Path, broker: Broker) -> Path:
    data = small_hall_data()
    data["broker"] = {"url": broker.url, "keepalive": 10}
    data["displays"] = DISPLAYS
    path = folder / "hall.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    return path


class DisplayProcess:
    """`hallq display` in its own process (a fresh Kivy each), drawing into `display`."""

    def __init__(
        self, device: str, config: Path, folder: Path, display: str, size: str | None = None
    ) -> None:
        self.state_file = folder / f"{device}.state.json"
        self.shots = folder / "shots"
        args = [sys.executable, "-m", "hallq", "display", "--id", device, "--config", str(config)]
        args += ["--state-file", str(self.state_file), "--screenshot-dir", str(self.shots)]
        if size:
            args += ["--size", size]
        env = {
            **os.environ,
            "DISPLAY": display,
            "KIVY_HOME": str(folder / "kivy-home"),
            "KIVY_NO_CONSOLELOG": "1",
        }
        self.log = folder / f"{device}.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)

    def state(self) -> dict[str, Any]:
        try:
            value = json.loads(self.state_file.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def wait_state(self, check: Any, timeout: float = 30.0) -> dict[str, Any]:
        ok = wait_for(lambda: self.process.poll() is None and bool(check(self.state())), timeout)
        assert ok, (self.state(), self.log.read_text(errors="replace")[-3000:])
        return self.state()

    def screenshot(self, name: str, timeout: float = 15.0) -> Path:
        """Ask for a screenshot (SIGUSR1) and copy it to artifacts/display/{name}.png."""
        target = self.shots / f"{self.state_file.name.split('.')[0]}.png"
        before = target.stat().st_mtime if target.exists() else 0.0
        self.process.send_signal(signal.SIGUSR1)
        fresh = wait_for(lambda: target.exists() and target.stat().st_mtime > before, timeout)
        assert fresh, self.log.read_text(errors="replace")[-3000:]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        out = ARTIFACTS / f"{name}.png"
        out.write_bytes(target.read_bytes())
        return out

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def connect(broker: Broker, device_class: str, device_id: str) -> HallClient:
    return HallClient.connect(parse_url(broker.url), SITE, device_class, device_id)


def load_the_hall(broker: Broker) -> dict[str, HallClient]:
    """Tickets in every department, clerks at four windows, calls, one window paused with a
    reason, a notice: a hall at mid-morning."""
    kiosk = connect(broker, "kiosk", "k1")
    clients = {"k1": kiosk}
    for service in ["psb-id-card"] * 8 + ["tax-invoice"] * 5 + ["amr-license"] * 6:
        kiosk.request("issue", service=service)
    logins = {"w01": "c0201", "w02": "c0101", "w03": "c0301", "w05": "c0501"}
    for window, clerk in logins.items():
        client = connect(broker, "window", window)
        clients[window] = client
        pin = {"pin": "1234"} if clerk == "c0101" else {}
        client.request("login", clerk=clerk, **pin)
    for window in ("w01", "w02", "w05", "w01", "w05"):
        clients[window].request("call_next")
    clients["w03"].request("pause", reason="系统维护，请稍候")
    operator = connect(broker, "operator", "op1")
    clients["op1"] = operator
    operator.request(
        "notice", text="今日下午14:00起社保业务暂停办理，请提前安排。办事请带好身份证件。"
    )
    return clients
