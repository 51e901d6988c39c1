"""The kiosk against a real hall: a real `hallq server`, Mosquitto, and the printer emulator on a
pseudo-terminal. A visitor taps a department and a service in a real Kivy window; the ticket the
hall issued is on screen, and the printed ticket's QR code decodes to it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract.client import HallClient
from contract.mqtt_url import parse_url
from hardware.emulators.printer import PrinterEmulator
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import HallServer, to_toml
from tests.fixtures.halls import SITE, small_hall_data
from tests.fixtures.parts import require_program
from tests.fixtures.screen import ARTIFACTS, colours, xvfb

pytestmark = pytest.mark.broker
DRIVER = Path(__file__).with_name("kiosk_driver.py")


@pytest.fixture
def hall(broker: Broker, tmp_path: Path) -> Iterator[tuple[Path, PrinterEmulator, HallServer]]:
    emulator = PrinterEmulator(dots=512, save_dir=tmp_path / "paper")
    with emulator:
        pty = emulator.attach_pty()
        data = small_hall_data()
        data["broker"] = {"url": broker.url}
        data["kiosks"][0]["printer"] = {
            "connector": "serial",
            "target": pty,
            "mode": "mixed",
            "timeout_s": 2.0,
        }
        config = tmp_path / "hall.toml"
        config.write_text(to_toml(data), encoding="utf-8")
        server = HallServer(broker.url, SITE, config, tmp_path / "data", tmp_path / "hall.log")
        server.start()
        try:
            yield config, emulator, server
        finally:
            server.close()


def run_kiosk(config: Path, steps: list[list[Any]], out: Path, tmp: Path) -> dict[str, Any]:
    script = tmp / "steps.json"
    script.write_text(json.dumps(steps, ensure_ascii=False), encoding="utf-8")
    command = [sys.executable, str(DRIVER), "--script", str(script), "--out", str(out)]
    command += ["--config", str(config), "--id", "k1"]
    with xvfb(1080, 1920) as display:
        env = {**os.environ, "DISPLAY": display, "KIVY_HOME": str(tmp / "kivy")}
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    result: dict[str, Any] = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert done.returncode == 0 and not result["errors"], (result["errors"], done.stderr[-3000:])
    return result


def decode_qr(path: Path) -> str:
    zbarimg = require_program("zbarimg", "zbar-tools")
    done = subprocess.run(
        [zbarimg, "--quiet", "--raw", str(path)], capture_output=True, text=True, timeout=30
    )
    return done.stdout.strip()


def test_tap_a_department_and_a_service_and_take_the_printed_ticket(
    hall: tuple[Path, PrinterEmulator, HallServer], broker: Broker, tmp_path: Path
) -> None:
    config, emulator, _server = hall
    out = ARTIFACTS / "kiosk" / "hall"
    out.mkdir(parents=True, exist_ok=True)
    steps = [
        ["until_online", 10],
        ["tap", "公安局"],
        ["double_tap", "身份证"],  # two touches at the same place: one ticket
        ["until_screen", "ticket", 15],
        ["shot", "ticket"],
    ]
    result = run_kiosk(config, steps, out, tmp_path)
    assert len(result["numbers"]) == 1
    number = result["numbers"][0]
    printed = emulator.wait_for_tickets(1, timeout=20)
    assert len(printed) == 1
    png = printed[0].save(out / "printed.png")
    assert colours(png) > 1
    with HallClient.connect(parse_url(broker.url), SITE, "kiosk", "k2") as k2:
        ticket_id = decode_qr(png)
        status = k2.request("status", ticket=ticket_id)["ticket"]
    assert status["number"] == number and status["service"] == "psb-id-card"
    # Exactly one ticket was issued for the double tap: the next one is number 2.
    with HallClient.connect(parse_url(broker.url), SITE, "kiosk", "k2") as k2:
        assert k2.request("issue", service="psb-id-card")["ticket"]["number"] == "A002"
