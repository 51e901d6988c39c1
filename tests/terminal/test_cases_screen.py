"""The window terminal's time limits in a real window (issue 21): 受理 chosen at the finish of a
service with a promised time, and the window's open cases listed, red and yellow, one closed.

A real `hallq server` makes two cases on Monday (one due that day, one due Thursday) and is
restarted on Thursday, so the terminal opens on an overdue and a near case; the clerk accepts a
third and closes the overdue one. The screenshots are in the artifacts (terminal/cases)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contract import messages, topics
from contract.client import HallClient
from contract.mqtt_url import parse_url
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import HallServer, to_toml, wait_for
from tests.fixtures.halls import SITE, small_hall_data
from tests.terminal.test_app import run_driver

pytestmark = [pytest.mark.broker, pytest.mark.timeout(180)]

MONDAY = "2026-11-23T10:00:00+08:00"
THURSDAY = "2026-11-26T10:00:00+08:00"

SCRIPT: list[list[Any]] = [
    ["tap", "王芳"],
    ["until", "screen", "work", 15],
    ["key", "F1"],
    ["until", "number", "A001", 15],
    ["key", "F5"],  # 户口迁入 is promised in 3 working days: 即办 or 受理?
    ["shot", "finish_choice"],
    ["tap", "受理：3个工作日内办结"],
    ["until", "number", None, 15],
    ["wait", 1.5],
    ["tap", "办结受理件"],
    ["shot", "cases_list"],
    ["tap", "超期"],  # marks it
    ["shot", "close_confirm"],
    ["tap", "确认办结"],  # closes it
    ["wait", 2],
    ["shot", "after_close"],
]


def serve(client: HallClient, kiosk: HallClient, service: str, outcome: str | None) -> str:
    ticket = str(kiosk.request("issue", service=service)["ticket"]["id"])
    client.request("call_next")
    client.request("finish", **({"outcome": outcome} if outcome else {}))
    return ticket


def test_accept_a_case_then_close_the_overdue_one(module_broker: Broker, tmp_path: Path) -> None:
    data = small_hall_data()
    data["broker"] = {"url": module_broker.url, "keepalive": 10}
    for service in data["services"]:
        if service["code"] == "psb-hukou":
            service["promised_days"] = 3
    config = tmp_path / "hall.toml"
    config.write_text(to_toml(data), encoding="utf-8")
    address = parse_url(module_broker.url)
    monday = HallServer(module_broker.url, SITE, config, tmp_path / "data", tmp_path / "mon.log", clock=MONDAY)  # fmt: skip
    try:
        monday.start()
        with (
            HallClient.connect(address, SITE, "window", "w01") as w01,
            HallClient.connect(address, SITE, "kiosk", "k1") as kiosk,
        ):
            w01.request("login", clerk="c0201")
            overdue = serve(w01, kiosk, "psb-id-card", "accepted")  # due Monday itself
            serve(w01, kiosk, "psb-hukou", None)  # 3 working days: due Thursday
        monday.terminate()
    finally:
        monday.close()
    thursday = HallServer(module_broker.url, SITE, config, tmp_path / "data", tmp_path / "thu.log", clock=THURSDAY)  # fmt: skip
    try:
        thursday.start()
        with HallClient.connect(address, SITE, "kiosk", "k1") as kiosk:
            kiosk.request("issue", service="psb-hukou")  # Thursday's A001, for the terminal
        result = run_driver("terminal", "w01", config, SCRIPT, tmp_path, name="cases")
        seen: list[messages.Cases] = []
        with HallClient.connect(address, SITE, "operator", "op1") as operator:
            operator.subscribe(
                topics.cases(SITE), lambda m: seen.append(messages.parse("cases", m.payload))
            )
            assert wait_for(lambda: bool(seen))
        states = sorted((c.accepted, c.state) for c in seen[-1].cases)
        assert states == [("2026-11-23", "near"), ("2026-11-26", "ok")]
        assert overdue not in {c.id for c in seen[-1].cases}  # closed from the terminal
        assert any("超期" in text for text in result["texts"]["cases_list"])
    finally:
        thursday.close()
