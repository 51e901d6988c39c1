"""The device client against a real Mosquitto and a real `hallq server` (issue #11's acceptance):
a callback that makes a request, a kiosk process killed mid-request and started again, the hall away
for longer than its keepalive, two subscribers of `board` in one process, a device booted before its
broker, an `issue` past its deadline."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from contract import topics
from contract.calls import CallSequence
from contract.client import (
    ConnectionState,
    HallClient,
    RequestFuture,
    RequestRefused,
    inline,
)
from contract.mqtt_url import parse_url
from tests.fixtures.broker import Broker, free_port, running_broker
from tests.fixtures.hall_server import HallServer, to_toml, wait_for
from tests.fixtures.halls import SITE, small_hall_data

KEEPALIVE = 5  # seconds: the broker drops a silent hall after 1.5 times this
SERVICE = "psb-id-card"


@pytest.fixture(scope="module")
def hall(module_broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HallServer]:
    folder = tmp_path_factory.mktemp("hall")
    data = small_hall_data()
    data["broker"] = {"url": module_broker.url, "keepalive": KEEPALIVE}
    config = folder / "hall.toml"
    config.write_text(to_toml(data), encoding="utf-8")
    server = HallServer(module_broker.url, SITE, config, folder / "data", folder / "hall.log")
    server.start()
    yield server
    if server.process is not None:
        server.process.send_signal(signal.SIGCONT)
    server.close()


def kiosk(broker: Broker, kiosk_id: str = "k1", **kw: Any) -> HallClient:
    return HallClient.connect(parse_url(broker.url), SITE, "kiosk", kiosk_id, **kw)


def next_number(client: HallClient) -> int:
    """Issue one ticket and return its number (A007 -> 7): numbers have no gap, so the next one
    tells how many tickets the hall issued in between."""
    return int(client.request("issue", service=SERVICE, timeout=5)["ticket"]["number"][1:])


def test_a_callback_may_make_a_request(module_broker: Broker, hall: HallServer) -> None:
    got: queue.Queue[str] = queue.Queue()
    with kiosk(module_broker) as threaded, kiosk(module_broker, "k2", dispatcher=inline) as direct:

        def blocking(topic: str, board: dict[str, Any] | None) -> None:  # its own thread
            got.put(threaded.request("issue", service=SERVICE, timeout=5)["ticket"]["number"])

        def submitting(topic: str, board: dict[str, Any] | None) -> None:  # paho's thread
            direct.submit("issue", service=SERVICE).add_done_callback(
                lambda f: got.put(f.result()["ticket"]["number"])
            )

        threaded.subscribe_json(topics.board(SITE), blocking)
        direct.subscribe_json(topics.board(SITE), submitting)
        numbers = {got.get(timeout=20), got.get(timeout=20)}
    assert len(numbers) == 2 and all(n.startswith("A") for n in numbers)


def test_two_subscribers_of_board_in_one_process_both_draw(
    module_broker: Broker, hall: HallServer
) -> None:
    drawn: dict[str, list[int]] = {"first": [], "second": []}
    with HallClient.connect(parse_url(module_broker.url), SITE, "display", "d1") as display:

        def screen(name: str) -> None:
            sequence = CallSequence(redraw=lambda: None)

            def on_board(topic: str, board: dict[str, Any] | None) -> None:
                if board is not None and sequence.on_board(board):
                    drawn[name].append(board["seq"])

            display.subscribe_json(topics.board(SITE), on_board)

        screen("first")
        assert wait_for(lambda: len(drawn["first"]) >= 1), drawn
        screen("second")  # the filter is subscribed already: the broker sends it nothing
        assert wait_for(lambda: len(drawn["second"]) >= 1), drawn
        assert wait_for(lambda: drawn["first"][-1] == drawn["second"][-1]), drawn


def test_an_issue_past_its_deadline_is_expired(module_broker: Broker, hall: HallServer) -> None:
    with kiosk(module_broker, dispatcher=inline) as client:
        before = next_number(client)
        past = (hall.now() - timedelta(minutes=1)).isoformat()  # on the hall's clock
        future = client.submit("issue", service=SERVICE, deadline=past, request_id="late-1")
        with pytest.raises(RequestRefused) as refused:
            future.result(10)
        assert refused.value.code == "expired"
        again = client.submit("issue", service=SERVICE, request_id="late-1")  # stored: the same
        with pytest.raises(RequestRefused):
            again.result(10)
        assert next_number(client) == before + 1  # nothing was issued


def _kiosk_process(broker: Broker, journal: Path, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "tests.contract.kiosk_process", "--url", broker.url]
    command += ["--site", SITE, "--id", "k1", "--journal", str(journal), *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.strip())

    threading.Thread(target=read, daemon=True).start()
    return lines


def test_a_kiosk_killed_mid_request_gets_its_one_ticket(
    module_broker: Broker, hall: HallServer, tmp_path: Path
) -> None:
    assert hall.process is not None
    journal = tmp_path / "k1-pending"
    with kiosk(module_broker, "k2") as other:
        before = next_number(other)
    hall.process.send_signal(signal.SIGSTOP)  # the hall holds the answer back
    first = _kiosk_process(module_broker, journal, "--tap", SERVICE)
    try:
        sent = _lines(first).get(timeout=30)
        assert sent.startswith("SENT ")
        request_id = sent.split()[1]
        assert (journal / f"{request_id}.json").exists()  # on disk before it was sent
    finally:
        first.send_signal(signal.SIGKILL)  # between the tap and the answer
        first.wait(10)
        hall.process.send_signal(signal.SIGCONT)
    second = _kiosk_process(module_broker, journal)
    try:
        resumed = _lines(second).get(timeout=30)
    finally:
        second.kill()
        second.wait(10)
    assert resumed.startswith("RESUMED "), resumed
    ticket = json.loads(resumed.split(" ", 1)[1])["ticket"]
    assert int(ticket["number"][1:]) == before + 1  # the ticket the hall issued for the tap
    assert list(journal.glob("*.json")) == []
    with kiosk(module_broker, "k2") as other:
        assert next_number(other) == before + 2  # and only that one


@pytest.mark.slow
def test_every_pending_request_is_answered_after_the_hall_was_away_longer_than_keepalive(
    module_broker: Broker, hall: HallServer
) -> None:
    assert hall.process is not None
    futures: list[RequestFuture] = []
    with kiosk(module_broker, "k1") as k1, kiosk(module_broker, "k2") as k2:
        seen = len(hall.status)
        hall.process.send_signal(signal.SIGSTOP)
        try:
            for i in range(10):  # these reach the stopped hall's socket, then die with it
                futures.append((k1 if i % 2 else k2).submit("issue", service=SERVICE, timeout=120))
            # The broker drops the silent hall after 1.5 keepalives and sends its will.
            assert wait_for(lambda: b"offline" in hall.status[seen:], 40)
            for i in range(10):
                futures.append((k1 if i % 2 else k2).submit("issue", service=SERVICE, timeout=120))
        finally:
            hall.process.send_signal(signal.SIGCONT)
        numbers = [f.result(60)["ticket"]["number"] for f in futures]
    assert len(set(numbers)) == 20, numbers


def test_a_device_booted_before_its_broker(tmp_path: Path) -> None:
    port = free_port()
    states: list[ConnectionState] = []
    client = HallClient.connect(
        parse_url(f"mqtt://127.0.0.1:{port}"), SITE, "display", "d1", wait=None, dispatcher=inline
    )
    client.add_state_listener(states.append)
    try:
        assert wait_for(lambda: "cannot reach" in states[-1].reason, 10)
        assert states[-1].link == "connecting"
        with running_broker(tmp_path / "late", port=port):
            assert wait_for(lambda: client.connected, 20)
            assert wait_for(lambda: states[-1].link == "connected", 5)
    finally:
        client.close()
    links = [s.link for s in states]
    assert links[0] == "connecting" and "connected" in links
    assert "disconnected" not in links[: links.index("connected")]
