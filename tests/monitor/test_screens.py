"""The monitor in a real Kivy window (Xvfb, 1920x1080) against a real `hallq server` and Mosquitto
with a hall at work: screenshots under artifacts/monitor/ (not blank, every character drawn in the
font); closing a service and setting the notice from its forms, end to end (the hall's retained
catalog and the `queues` a kiosk reads change); acknowledging a long queue's alarm and following up
a bad rating, both raised by the hall (its retained `alarms` changes)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from contract import topics
from contract.mqtt_url import parse_url
from contract.transport import Message, PahoTransport
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import HallServer, wait_for
from tests.fixtures.halls import SITE
from tests.fixtures.screen import colours, missing_glyphs, xvfb
from tests.monitor.rig import (
    ARTIFACTS,
    connect,
    load_the_hall,
    run_driver,
    write_config,
)

pytestmark = pytest.mark.slow


class Retained:
    """The hall's retained topics as a kiosk (or the test) reads them."""

    def __init__(self, broker: Broker) -> None:
        self.lock = threading.Lock()
        self.values: dict[str, dict[str, Any]] = {}
        self.transport = PahoTransport(parse_url(broker.url), "test-kiosk-view")
        for name in ("catalog", "queues", "alarms"):
            topic = getattr(topics, name)(SITE)
            self.transport.subscribe(topic, lambda m, n=name: self._on(n, m))
        self.transport.start(wait=10)

    def _on(self, name: str, message: Message) -> None:
        with self.lock:
            self.values[name] = json.loads(message.payload) if message.payload else {}

    def get(self, name: str) -> dict[str, Any]:
        with self.lock:
            return self.values.get(name, {})


def check_shots(folder: Path, names: list[str], result: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name in names:
        shot = folder / f"{name}.png"
        assert shot.exists(), name
        (ARTIFACTS / f"{name}.png").write_bytes(shot.read_bytes())
        assert colours(shot) > 20, f"{shot} looks blank"
    texts = [t for step in result["steps"] for t in step["state"]["texts"]]
    assert not missing_glyphs(texts), sorted(missing_glyphs(texts))


def test_closing_a_service_and_setting_the_notice_from_the_monitor(
    broker: Broker, tmp_path: Path
) -> None:
    config = write_config(tmp_path, broker)
    server = HallServer(broker.url, SITE, config, tmp_path / "data", tmp_path / "hall.log")
    server.start()
    clients = load_the_hall(broker)
    kiosk_view = Retained(broker)
    try:
        assert wait_for(lambda: kiosk_view.get("queues").get("services", {}), 10)
        assert kiosk_view.get("queues")["services"]["tax-invoice"]["can_issue"]
        clients[1].request("finish", outcome="accepted")  # w01: a case (受理), due today
        clients[1].request("call_next")
        notice = "今日下午14:00起税务业务暂停办理"
        steps = [
            {"wait": "系统维护", "timeout": 60, "shot": "overview"},
            {"tab": "devices"},
            {"wait": "类别", "shot": "devices"},
            {"tab": "cases"},
            {"wait": "临期", "shot": "cases"},
            {"tab": "operations", "form": "service_close", "values": {"service": "tax-invoice"},
             "press": "send", "shot": "confirm-close"},
            {"press": "yes"},
            {"wait": "暂停取号：已完成", "form": "notice", "values": {"text": notice},
             "press": "send"},
            {"press": "yes"},
            {"wait": "公告：已完成", "shot": "operations"},
            {"tab": "overview"},
            {"wait": "已停止取号", "shot": "overview-after"},
        ]  # fmt: skip
        with xvfb(1920, 1080) as display:
            result = run_driver(config, steps, tmp_path / "driver", display)
        check_shots(
            tmp_path / "driver",
            ["overview", "devices", "cases", "confirm-close", "operations", "overview-after"],
            result,
        )
        first = result["steps"][0]["state"]
        assert first["windows"]["w03"] == "paused"
        # The hall changed, and so did what a kiosk reads.
        assert wait_for(lambda: kiosk_view.get("catalog").get("notice") == notice, 10)
        services = {s["code"]: s for s in kiosk_view.get("catalog")["services"]}
        assert services["tax-invoice"]["open"] is False
        assert wait_for(
            lambda: kiosk_view.get("queues")["services"]["tax-invoice"]["reason"] == "closed", 10
        )
        assert not kiosk_view.get("queues")["services"]["tax-invoice"]["can_issue"]
    finally:
        kiosk_view.transport.stop()
        for client in clients:
            client.close()
        server.close()


def test_acknowledging_an_alarm_and_following_up_a_bad_rating(
    broker: Broker, tmp_path: Path
) -> None:
    config = write_config(tmp_path, broker, alarms={"queue_long": 3})
    server = HallServer(broker.url, SITE, config, tmp_path / "data", tmp_path / "hall.log")
    server.start()
    kiosk, window = connect(broker, "kiosk", "k1"), connect(broker, "window", "w01")
    evaluator = connect(broker, "evaluator", "e01")
    hall = Retained(broker)
    try:
        for _ in range(5):  # four wait after the call: the police's queue is long
            kiosk.request("issue", service="psb-id-card")
        window.request("login", clerk="c0201")
        served = window.request("call_next")["ticket"]["id"]
        window.request("finish")
        evaluator.request("rate", ticket=served, score=1)  # 非常不满意: a bad rating

        def open_alarm(kind: str) -> str:
            alarms = hall.get("alarms").get("alarms", [])
            return next((str(a["id"]) for a in alarms if a["kind"] == kind), "")

        assert wait_for(lambda: open_alarm("queue_long") and open_alarm("bad_rating"), 20)
        queue_long, bad_rating = open_alarm("queue_long"), open_alarm("bad_rating")
        steps = [
            {"wait": "排队过长", "tab": "alarms"},
            {"wait": "未确认", "shot": "alarms"},  # the rows are drawn: their buttons are in place
            {"press": f"ack:{queue_long}"},
            {"wait": "已确认 op1", "press": f"note:{bad_rating}"},
            {"note": "已电话回访，群众表示理解", "shot": "follow-up"},
            {"press": "note_send"},
            {"wait": "跟进告警 差评：已完成", "shot": "alarms-after"},
        ]
        with xvfb(1920, 1080) as display:
            result = run_driver(config, steps, tmp_path / "driver", display)
        check_shots(tmp_path / "driver", ["alarms", "follow-up", "alarms-after"], result)
        # The hall's retained list: the bad rating closed with its note, the long queue acked.
        assert wait_for(lambda: not open_alarm("bad_rating"), 10)
        (still,) = [a for a in hall.get("alarms")["alarms"] if a["id"] == queue_long]
        assert still["acked"]["by"] == "op1"
        assert result["steps"][-1]["state"]["alarms"] == [queue_long]
    finally:
        hall.transport.stop()
        for client in (kiosk, window, evaluator):
            client.close()
        server.close()
