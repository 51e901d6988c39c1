"""The client library against a real Mosquitto and a tiny fake hall that answers requests."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from contract import topics
from contract.client import HallClient, RequestRefused, RequestTimeout
from contract.mqtt_url import parse_url
from contract.protocol import error, ok
from contract.transport import Message, PahoTransport
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import wait_for

SITE = "s1"


class FakeHall:
    """Answers `echo` with its fields, `fail` with a refusal, ignores `never`; `flaky` is answered
    only from the second copy on. Records every copy it received."""

    def __init__(self, broker: Broker) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.transport = PahoTransport(parse_url(broker.url), "hall", topics.status(SITE, "hall"))
        self.transport.subscribe(topics.all_requests(SITE), self.on_request)
        self.transport.start(wait=5)

    def on_request(self, message: Message) -> None:
        parsed = topics.parse_request(SITE, message.topic)
        assert parsed is not None
        body = json.loads(message.payload)
        with self.lock:
            self.received.append((message.topic, body))
            copies = sum(1 for _, b in self.received if b["id"] == body["id"])
        op, rid = body["op"], body["id"]
        answer: bytes | None = None
        if op == "echo":
            answer = ok(rid, {k: v for k, v in body.items() if k not in ("v", "id", "op")})
        elif op == "fail":
            answer = error(rid, "queue_empty", "没有等候的号")
        elif op == "flaky" and copies >= 2:
            answer = ok(rid, {"copies": copies})
        if answer is not None:
            self.transport.publish(topics.response(SITE, *parsed), answer, qos=1)

    def copies(self, rid: str) -> int:
        with self.lock:
            return sum(1 for _, b in self.received if b["id"] == rid)

    def stop(self) -> None:
        self.transport.stop()


@pytest.fixture
def hall(broker: Broker) -> Iterator[FakeHall]:
    fake = FakeHall(broker)
    yield fake
    fake.stop()


def test_request_success_and_refusal(broker: Broker, hall: FakeHall) -> None:
    with HallClient.connect(parse_url(broker.url), SITE, "kiosk", "k1") as client:
        assert client.connected
        assert client.request("echo", service="psb-id-card") == {"service": "psb-id-card"}
        with pytest.raises(RequestRefused) as refused:
            client.request("fail")
        assert refused.value.code == "queue_empty"
        assert refused.value.answer["ok"] is False
        answer = client.request_answer("fail")
        assert answer["error"]["code"] == "queue_empty"


def test_retries_use_the_same_id(broker: Broker, hall: FakeHall) -> None:
    with HallClient.connect(parse_url(broker.url), SITE, "window", "w1") as client:
        result = client.request("flaky", request_id="r-1", timeout=0.3, retries=3)
        assert result == {"copies": 2}
        assert hall.copies("r-1") == 2
        started = time.monotonic()
        with pytest.raises(RequestTimeout) as timed_out:
            client.request("never", request_id="r-2", timeout=0.2, retries=2)
        assert 0.55 < time.monotonic() - started < 2.0
        assert "3 attempts" in str(timed_out.value)
        assert timed_out.value.code == "timeout"
        assert wait_for(lambda: hall.copies("r-2") == 3)


def test_bridge_acts_for_its_windows(broker: Broker, hall: FakeHall) -> None:
    address = parse_url(broker.url)
    with HallClient.connect(
        address, SITE, "bridge", "kp1", acts_for=[("window", "w1"), ("window", "w2")]
    ) as bridge:
        assert bridge.request("echo", device=("window", "w2"), x=1) == {"x": 1}
        assert bridge.request("echo", device=("window", "w1"), x=2) == {"x": 2}
    topics_seen = [t for t, _ in hall.received]
    assert topics_seen == [topics.window_req(SITE, "w2"), topics.window_req(SITE, "w1")]


def test_concurrent_requests_from_threads(broker: Broker, hall: FakeHall) -> None:
    with HallClient.connect(parse_url(broker.url), SITE, "operator", "op1") as client:
        results: list[dict[str, Any]] = []

        def one(i: int) -> None:
            results.append(client.request("echo", n=i))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(r["n"] for r in results) == list(range(20))


def test_subscriptions_get_retained_state_and_survive_a_reconnect(
    broker: Broker, hall: FakeHall
) -> None:
    hall.transport.publish(topics.board(SITE), b'{"v":1,"seq":7}', retain=True).is_published()
    wait_for(lambda: False, 0.1)
    seen: list[tuple[str, dict[str, Any] | None]] = []
    client = HallClient(
        PahoTransport(
            parse_url(broker.url),
            "d1",
            topics.status(SITE, "d1"),
            min_backoff=0.05,
            max_backoff=0.2,
        ),
        SITE,
        "display",
        "d1",
    )
    client.subscribe_json(topics.board(SITE), lambda t, v: seen.append((t, v)))
    client.transport.start(wait=5)
    assert wait_for(lambda: seen[:1] == [(topics.board(SITE), {"v": 1, "seq": 7})])
    sock = client.transport.socket()  # type: ignore[attr-defined]
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    sock.shutdown(socket.SHUT_RDWR)
    assert wait_for(lambda: client.connected and len(seen) >= 2)  # resubscribed: retained again
    hall.transport.publish(topics.board(SITE), b"", retain=True)
    assert wait_for(lambda: seen[-1] == (topics.board(SITE), None))
    client.close()


def test_health_and_last_will(broker: Broker, hall: FakeHall) -> None:
    seen: dict[str, bytes] = {}
    hall.transport.subscribe(
        f"hallq/{SITE}/#", lambda m: seen.__setitem__(m.topic, m.payload), wait=5
    )
    client = HallClient.connect(parse_url(broker.url), SITE, "kiosk", "k2")
    client.publish_health("paper_near_end", {"printer": "tm-t88"})
    assert wait_for(lambda: topics.device_health(SITE, "k2") in seen)
    health = json.loads(seen[topics.device_health(SITE, "k2")])
    assert health["v"] == 1 and health["state"] == "paper_near_end" and health["at"]
    assert seen[topics.status(SITE, "k2")] == b"online"
    sock = client.transport.socket()  # type: ignore[attr-defined]
    client.transport._stopping = True  # type: ignore[attr-defined]
    client.transport._client.loop_stop()  # type: ignore[attr-defined]
    sock.close()  # the device dies: the broker sends its will
    assert wait_for(lambda: seen[topics.status(SITE, "k2")] == b"offline")
