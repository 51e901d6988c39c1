"""The terminal and the evaluator in real Kivy windows (Xvfb) against a real `hallq server` and
Mosquitto: a clerk logs in (with a PIN), calls, recalls, starts, finishes, transfers, holds and calls
back, calls a number, pauses and resumes, logs out, by touches and F-keys; after each step the hall's
retained window state equals what the terminal shows, and each call reached the screens (`calls`).
Then the visitor rates on the evaluator. Screenshots under artifacts/terminal/, checked not blank and
every drawn character against the font's character map."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from contract.client import HallClient, RequestRefused
from contract.mqtt_url import parse_url
from terminal import texts
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import HallServer, to_toml, wait_for
from tests.fixtures.halls import CLERK_PIN, SITE, small_hall_data
from tests.fixtures.screen import ARTIFACTS, colours, missing_glyphs, xvfb

DRIVER = Path(__file__).with_name("terminal_driver.py")
OUT = ARTIFACTS / "terminal"

TERMINAL_SCRIPT: list[list[Any]] = [
    ["shot", "login"],
    ["tap", "张伟"],
    ["type", CLERK_PIN],
    ["shot", "login_pin"],
    ["key", "enter"],
    ["until", "screen", "work", 15],
    ["check", "logged_in"],
    ["key", "F1"],
    ["check", "called"],
    ["tap", "重呼"],
    ["check", "recalled"],
    ["key", "F4"],
    ["check", "serving"],
    ["tap", "完成"],
    ["check", "finished"],
    ["key", "F1"],
    ["until", "number", "A002", 15],  # a press while a request is on its way does nothing
    ["key", "F7"],
    ["shot", "transfer_picker"],
    ["tap", "2号窗口"],
    ["check", "transferred"],
    ["tap", "呼叫下一位"],
    ["check", "called_third"],
    ["key", "F8"],
    ["check", "held"],
    ["key", "F9"],
    ["shot", "call_back_picker"],
    ["tap", "A003"],
    ["check", "called_back"],
    ["key", "F3"],
    ["type", "A004"],
    ["shot", "call_number_picker"],
    ["key", "enter"],
    ["check", "called_number"],
    ["key", "F5"],
    ["check", "finished_again"],
    ["key", "F10"],
    ["shot", "pause_picker"],
    ["tap", "会议"],
    ["check", "paused"],
    ["key", "F11"],
    ["check", "resumed"],
    ["key", "F12"],
    ["check", "logged_out"],
]
EVALUATOR_SCRIPT: list[list[Any]] = [
    ["until", "screen", "rate", 20],
    ["shot", "evaluator_rate"],
    ["tap", "不满意"],
    ["until", "screen", "reasons", 5],
    ["tap", texts.LOW_REASONS[0]],
    ["shot", "evaluator_reasons"],
    ["tap", texts.EVALUATOR_SUBMIT],
    ["until", "screen", "thanks", 15],
    ["shot", "evaluator_thanks"],
    ["until", "screen", "idle", 20],
    ["shot", "evaluator_idle"],
]
CALLS = {"called", "recalled", "called_third", "called_back", "called_number"}


@pytest.fixture(scope="module")
def hall_and_server(module_broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, HallServer]]:  # fmt: skip
    folder = tmp_path_factory.mktemp("terminal-hall")
    data = small_hall_data()
    data["broker"] = {"url": module_broker.url, "keepalive": 10}
    config = folder / "hall.toml"
    config.write_text(to_toml(data), encoding="utf-8")
    server = HallServer(module_broker.url, SITE, config, folder / "data", folder / "hall.log")
    server.start()
    try:
        with HallClient.connect(parse_url(module_broker.url), SITE, "kiosk", "k1") as kiosk:
            for _ in range(4):  # A001..A004
                kiosk.request("issue", service="psb-id-card")
        yield config, server
    finally:
        server.close()


@pytest.fixture
def hall(hall_and_server: tuple[Path, HallServer]) -> Path:
    return hall_and_server[0]


def run_driver(app: str, device: str, config: Path, steps: list[list[Any]], tmp: Path,
               meanwhile: Callable[[Path], None] = lambda out: None, name: str = "") -> dict[str, Any]:  # fmt: skip
    """Run the driver under Xvfb; `meanwhile(out)` runs beside it (it watches the screenshots)."""
    script = tmp / f"{app}.json"
    script.write_text(json.dumps(steps, ensure_ascii=False), encoding="utf-8")
    out = OUT / (name or app)
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("*.png"), *out.glob("result.json")]:
        old.unlink()
    command = [sys.executable, str(DRIVER), "--app", app, "--config", str(config), "--id", device]
    command += ["--script", str(script), "--out", str(out)]
    with xvfb(1280, 800) as display:
        env = {**os.environ, "DISPLAY": display, "KIVY_HOME": str(tmp / "kivy")}
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            meanwhile(out)
            _, stderr = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(5)
        done = subprocess.CompletedProcess(command, process.returncode, "", stderr)
    assert (out / "result.json").exists(), done.stderr[-4000:]
    result: dict[str, Any] = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert done.returncode == 0 and not result["errors"], (result["errors"], result["trace"][-5:], done.stderr[-3000:])  # fmt: skip
    for name, path in result["shots"].items():
        assert colours(Path(path)) > 8, f"{name}: the screenshot looks blank"
        assert not missing_glyphs(result["texts"][name]), (name, missing_glyphs(result["texts"][name]))  # fmt: skip
    return result


def test_a_clerk_day_on_the_terminal_then_the_visitor_rates(hall: Path, tmp_path: Path) -> None:
    result = run_driver("terminal", "w01", hall, TERMINAL_SCRIPT, tmp_path)
    checks = {c["name"]: c for c in result["checks"]}
    assert list(checks) == [s[1] for s in TERMINAL_SCRIPT if s[0] == "check"]
    for name, check in checks.items():
        state = check["hall"]
        # What the terminal draws is what the hall holds.
        if state["status"] == "closed":
            assert check["screen"] == "login", name
            continue
        assert check["number_label"] == (state["number"] or ("—" if state["status"] == "open" else texts.WINDOW_STATUS["paused"])), name  # fmt: skip
        assert texts.WINDOW_STATUS[state["status"]] in check["header"], name
        for number in state["held"]:
            assert number in check["held_label"], name
        if name in CALLS:  # and the screens were told
            assert check["last_call"] == state["number"], name
    numbers = {name: checks[name]["hall"]["number"] for name in CALLS}
    assert numbers == {"called": "A001", "recalled": "A001", "called_third": "A003",
                       "called_back": "A003", "called_number": "A004"}  # fmt: skip
    assert checks["recalled"]["hall"]["recalls"] == 1
    assert checks["serving"]["hall"]["ticket_status"] == "serving"
    assert checks["held"]["hall"]["held"] == ["A003"] and checks["held"]["hall"]["number"] is None
    assert checks["paused"]["hall"]["reason"] == "会议"
    assert not checks["paused"]["buttons"]["call_next"] and checks["paused"]["buttons"]["resume"]
    assert checks["called"]["buttons"]["recall"] and not checks["serving"]["buttons"]["recall"]

    # The visitor rates A004 (the last ticket finished at w01) on the evaluator of w01.
    rated = run_driver("evaluator", "e01", hall, EVALUATOR_SCRIPT, tmp_path)
    assert any("A004" in text for text in rated["texts"]["evaluator_rate"])
    evaluator = HallClient.connect(parse_url(_url(hall)), SITE, "evaluator", "e01")
    with evaluator, pytest.raises(RequestRefused) as refused:
        evaluator.request("rate", ticket=_ticket_id(hall, "A004"), score=5)
    assert refused.value.code == "already_rated"  # the evaluator's rating is the hall's


def _url(config: Path) -> str:
    from hall.config.schema import load_config

    return load_config(config).broker.url


def _ticket_id(config: Path, number: str) -> str:
    from datetime import date

    return f"{date(2026, 11, 26):%Y%m%d}-{number}"


OUTAGE_SCRIPT: list[list[Any]] = [
    ["until", "screen", "login", 15],
    ["tap", "王芳"],  # no PIN
    ["until", "screen", "work", 15],
    ["key", "F1"],
    ["check", "before"],
    ["until", "banner", texts.HALL_OFFLINE, 30],
    ["shot", "hall_offline"],
    ["until", "banner", "", 40],
    ["check", "hall_back"],
    ["until", "banner", texts.OFFLINE, 30],
    ["shot", "broker_offline"],
    ["until", "banner", "", 40],
    ["check", "broker_back"],
    ["key", "F5"],
    ["check", "finished_after"],
]


def test_outages_are_shown_at_once_and_the_terminal_comes_back_to_the_hall_state(
    hall_and_server: tuple[Path, HallServer], module_broker: Broker, tmp_path: Path
) -> None:
    config, server = hall_and_server
    with HallClient.connect(parse_url(module_broker.url), SITE, "kiosk", "k1") as kiosk:
        kiosk.request("issue", service="psb-id-card")  # A005, for the clerk to call

    def outages(out: Path) -> None:
        assert wait_for(lambda: (out / "before0001.png").exists(), 60)
        server.kill()  # the hall dies: its last will says offline
        assert wait_for(lambda: (out / "hall_offline0001.png").exists(), 40)
        server.start()
        assert wait_for(lambda: (out / "hall_back0001.png").exists(), 60)
        module_broker.stop()  # then the broker
        assert wait_for(lambda: (out / "broker_offline0001.png").exists(), 40)
        module_broker.restart()

    result = run_driver("terminal", "w01", config, OUTAGE_SCRIPT, tmp_path, outages, "outage")
    checks = {c["name"]: c["hall"] for c in result["checks"]}
    assert checks["before"]["number"] == "A005" and checks["before"]["clerk"] == "王芳"
    assert checks["hall_back"] == checks["before"] == checks["broker_back"]
    assert checks["finished_after"]["number"] is None  # and it works again
    for name in ("hall_offline", "broker_offline"):
        assert any(texts.HALL_OFFLINE in t or texts.OFFLINE in t for t in result["texts"][name])
