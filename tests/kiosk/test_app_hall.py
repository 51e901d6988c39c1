"""The kiosk against a real hall: a real `hallq server`, Mosquitto, and the printer emulator on a
pseudo-terminal. A visitor taps a department and a service in a real Kivy window; the ticket the
hall issued is on screen, and the printed ticket's QR code decodes to it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
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


class KioskRun:
    """The kiosk driver running a script in the background, and the test's side of its marks."""

    def __init__(self, process: subprocess.Popen[str], out: Path) -> None:
        self.process, self.out = process, out

    def mark(self, name: str, timeout: float = 60) -> dict[str, Any]:
        """Wait for the script's ["mark", name]; what the kiosk showed then."""
        path = self.out / "marks" / f"{name}.json"
        deadline = time.monotonic() + timeout
        while not path.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no mark {name}: {self.result()}")
            time.sleep(0.1)
        value: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return value

    def signal(self, name: str) -> None:
        """Let the script's ["until_file", name, …] go on."""
        (self.out / "marks").mkdir(exist_ok=True)
        (self.out / "marks" / name).write_text("", encoding="utf-8")

    def result(self) -> dict[str, Any]:
        path = self.out / "result.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


@contextlib.contextmanager
def kiosk_running(
    config: Path,
    steps: list[list[Any]],
    out: Path,
    tmp: Path,
    state: Path | None = None,
    killed: bool = False,
) -> Iterator[KioskRun]:
    """The kiosk on `config` playing `steps` under Xvfb; `state`: its journal's folder (the same
    one for a restart); `killed`: the test kills it (its exit is not checked)."""
    script = tmp / "steps.json"
    script.write_text(json.dumps(steps, ensure_ascii=False), encoding="utf-8")
    for old in (*out.glob("marks/*"), out / "result.json"):
        old.unlink(missing_ok=True)
    command = [sys.executable, str(DRIVER), "--script", str(script), "--out", str(out)]
    command += ["--config", str(config), "--id", "k1", "--state", str(state or tmp / "state")]
    with xvfb(1080, 1920) as display:
        env = {**os.environ, "DISPLAY": display, "KIVY_HOME": str(tmp / "kivy")}
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        run = KioskRun(process, out)
        stderr = ""
        try:
            yield run
            _, stderr = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                _, stderr = process.communicate(timeout=10)
            (out / "driver.log").write_text(stderr or "", encoding="utf-8")
        if killed:
            return
        assert process.returncode == 0 and not run.result().get("errors"), (
            run.result().get("errors"),
            stderr[-3000:],
        )


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


def test_no_ticket_without_paper_and_a_failed_print_is_reprinted_when_the_paper_is_back(
    hall: tuple[Path, PrinterEmulator, HallServer], broker: Broker, tmp_path: Path
) -> None:
    config, emulator, _server = hall
    out = ARTIFACTS / "kiosk" / "printer-faults"
    out.mkdir(parents=True, exist_ok=True)
    steps = [
        ["until_online", 10],
        ["tap", "公安局"],
        ["mark", "online"],
        ["until", "blocked", 10],  # the test took the paper out
        ["tap", "身份证"],
        ["wait", 0.5],
        ["shot", "paper_out"],
        ["mark", "refused"],
        ["until", "unblocked", 10],  # a roll with paper for one ticket
        ["tap", "身份证"],
        ["until_screen", "ticket", 15],
        ["until", "print_failed", 15],  # the roll ran out while it printed
        ["shot", "print_failed"],
        ["mark", "failed"],
        ["until_file", "paper_back", 30],
        ["wait", 2.0],
        ["mark", "done"],
    ]
    with kiosk_running(config, steps, out, tmp_path) as kiosk:
        kiosk.mark("online")
        emulator.set_state("paper_out")
        refused = kiosk.mark("refused")
        assert refused["screen"] == "department" and refused["numbers"] == []
        assert emulator.tickets == []
        emulator.paper_tickets = 1
        emulator.set_state("ready")
        failed = kiosk.mark("failed")
        assert failed["numbers"] == ["A001"]  # on screen, although the print failed
        emulator.paper_tickets = None
        emulator.set_state("ready")
        kiosk.signal("paper_back")
        printed = emulator.wait_for_tickets(2, timeout=20)
        kiosk.mark("done")
    assert len(printed) == 2
    ids = {decode_qr(ticket.save(out / f"printed-{n}.png")) for n, ticket in enumerate(printed)}
    assert len(ids) == 1 and next(iter(ids)).endswith("A001")  # the same ticket, reprinted


def test_the_hall_or_the_broker_away_is_said_plainly_and_the_kiosk_recovers(
    hall: tuple[Path, PrinterEmulator, HallServer], broker: Broker, tmp_path: Path
) -> None:
    config, emulator, server = hall
    out = ARTIFACTS / "kiosk" / "link-faults"
    out.mkdir(parents=True, exist_ok=True)
    steps = [
        ["until_online", 10],
        ["tap", "公安局"],
        ["mark", "online"],
        ["until", "blocked", 15],  # the hall server stopped
        ["tap", "身份证"],
        ["wait", 0.5],
        ["shot", "hall_down"],
        ["mark", "hall_down"],
        ["until", "unblocked", 30],
        ["mark", "hall_back"],
        ["until", "blocked", 15],  # the broker stopped
        ["shot", "broker_down"],
        ["mark", "broker_down"],
        ["until", "unblocked", 30],
        ["tap", "身份证"],
        ["until_screen", "ticket", 15],
        ["mark", "done"],
    ]
    with kiosk_running(config, steps, out, tmp_path) as kiosk:
        kiosk.mark("online")
        assert server.terminate() == 0
        down = kiosk.mark("hall_down")
        assert down["numbers"] == []
        server.start()
        kiosk.mark("hall_back")
        broker.stop()
        kiosk.mark("broker_down")
        broker.restart()
        done = kiosk.mark("done")
    assert done["numbers"] == ["A001"]
    assert len(emulator.wait_for_tickets(1, timeout=20)) == 1


def test_a_kiosk_killed_while_it_waits_shows_and_prints_that_ticket_when_it_is_back(
    hall: tuple[Path, PrinterEmulator, HallServer], broker: Broker, tmp_path: Path
) -> None:
    config, emulator, server = hall
    out = ARTIFACTS / "kiosk" / "killed"
    out.mkdir(parents=True, exist_ok=True)
    state = tmp_path / "kiosk-state"
    waiting = [
        ["until_online", 10],
        ["tap", "公安局"],
        ["mark", "online"],
        ["until_file", "go", 30],
        ["tap", "身份证"],
        ["wait", 1.0],
        ["mark", "tapped"],
        ["wait", 120],
    ]
    assert server.process is not None
    with kiosk_running(config, waiting, out, tmp_path, state, killed=True) as kiosk:
        kiosk.mark("online")
        server.process.send_signal(signal.SIGSTOP)  # the hall takes the request but never answers
        try:
            kiosk.signal("go")
            assert kiosk.mark("tapped")["screen"] == "issuing"
            kiosk.process.kill()  # the kiosk dies while it waits: a power cut, a crash
            kiosk.process.wait(10)
        finally:
            server.process.send_signal(signal.SIGCONT)
    back = [["until_screen", "ticket", 30], ["shot", "resumed"], ["mark", "done"]]
    with kiosk_running(config, back, out, tmp_path, state) as kiosk:
        done = kiosk.mark("done", timeout=90)
    assert done["numbers"] == ["A001"]
    printed = emulator.wait_for_tickets(1, timeout=20)
    assert len(printed) == 1
    ticket_id = decode_qr(printed[0].save(out / "printed.png"))
    assert ticket_id.endswith("A001")
    with HallClient.connect(parse_url(broker.url), SITE, "kiosk", "k2") as k2:
        assert (
            k2.request("issue", service="psb-id-card")["ticket"]["number"] == "A002"
        )  # one ticket
