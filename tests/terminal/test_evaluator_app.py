"""The evaluator in a real window against a real hall and Mosquitto when the visitor does not rate:
it asks, then at the hall's `until` it returns to idle and sends nothing (no default score); the
ticket stays unrated."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract import topics
from contract.client import HallClient, RequestRefused
from contract.mqtt_url import parse_url
from contract.transport import Message, PahoTransport
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import HallServer, to_toml, wait_for
from tests.fixtures.halls import SITE, small_hall_data
from tests.terminal.test_app import run_driver

RATING_SECONDS = 5  # the shortest the config allows

SCRIPT = [
    ["shot", "evaluator_idle_before"],
    ["until", "screen", "rate", 30],
    ["shot", "evaluator_asking"],
    ["until", "screen", "idle", 30],
    ["shot", "evaluator_timed_out"],
]


@pytest.fixture
def hall(broker: Broker, tmp_path: Path) -> Iterator[Path]:
    data = small_hall_data(rating_seconds=RATING_SECONDS)
    data["broker"] = {"url": broker.url, "keepalive": 10}
    config = tmp_path / "hall.toml"
    config.write_text(to_toml(data), encoding="utf-8")
    server = HallServer(broker.url, SITE, config, tmp_path / "data", tmp_path / "hall.log")
    server.start()
    try:
        yield config
    finally:
        server.close()


def test_no_rating_at_the_timeout_and_no_default_score(hall: Path, broker: Broker, tmp_path: Path) -> None:  # fmt: skip
    address = parse_url(broker.url)
    sent: list[bytes] = []
    lock = threading.Lock()

    def on_request(message: Message) -> None:
        with lock:
            sent.append(message.payload)

    watcher = PahoTransport(address, "test-evaluator-requests")
    watcher.subscribe(topics.evaluator_req(SITE, "e02"), on_request)
    watcher.start(wait=10)
    window = HallClient.connect(address, SITE, "window", "w02")
    kiosk = HallClient.connect(address, SITE, "kiosk", "k1")
    ticket: dict[str, str] = {}

    def serve_once_the_evaluator_is_up(out: Path) -> None:
        assert wait_for(lambda: (out / "evaluator_idle_before0001.png").exists(), 60)
        kiosk.request("issue", service="psb-id-card")
        window.request("login", clerk="c0201")
        ticket.update(window.request("call_next")["ticket"])
        window.request("finish")

    try:
        result = run_driver("evaluator", "e02", hall, SCRIPT, tmp_path,
                            serve_once_the_evaluator_is_up, "evaluator_timeout")  # fmt: skip
        assert any(ticket["number"] in text for text in result["texts"]["evaluator_asking"])
        with lock:
            assert sent == []  # nothing was sent for the visitor
        time.sleep(2)  # the hall's check is to the whole second (`until` itself still rates)
        evaluator = HallClient.connect(address, SITE, "evaluator", "e02")
        with evaluator, pytest.raises(RequestRefused) as refused:
            evaluator.request("rate", ticket=ticket["id"], score=5)
        assert refused.value.code == "not_rateable"  # past `until`, and unrated
    finally:
        for client in (window, kiosk):
            client.close()
        watcher.stop()
