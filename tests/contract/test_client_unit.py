"""The device client on the in-memory loopback (fast): the dispatcher, pending requests resent under
their id, the journal, retained values for every subscriber, unsubscribe, the connection state.

The loopback behaves as paho does for a second callback of a filter (the broker sends it nothing):
what gives the second subscriber its value here is the client's own cache.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract import topics
from contract.client import (
    ConnectionState,
    HallClient,
    RequestError,
    RequestFuture,
    RequestRefused,
    RequestTimeout,
    inline,
)
from contract.transport import LoopbackBroker, LoopbackTransport, Message
from tests.fixtures.hall_server import wait_for

SITE = "s1"


class FakeHall:
    """Answers `issue` with a numbered ticket (a repeat of an id gets the same answer, as the hall
    stores it), `echo` with its fields, `late` with `expired`; silent while `silent` is set."""

    def __init__(self, broker: LoopbackBroker) -> None:
        self.transport = LoopbackTransport(broker, "hall", topics.status(SITE, "hall"))
        self.transport.subscribe(topics.all_requests(SITE), self.on_request)
        self.silent = False
        self.received: list[dict[str, Any]] = []
        self.answers: dict[str, bytes] = {}
        self.transport.start()

    def on_request(self, message: Message) -> None:
        body = json.loads(message.payload)
        self.received.append(body)
        if self.silent:
            return
        parsed = topics.parse_request(SITE, message.topic)
        assert parsed is not None
        rid = body["id"]
        if rid not in self.answers:
            if body["op"] == "issue":
                number = f"A{len(self.answers) + 1:03d}"
                result: dict[str, Any] = {
                    "ticket": {"number": number},
                    "deadline": body.get("deadline"),
                }
            else:
                result = {k: v for k, v in body.items() if k not in ("v", "id", "op")}
            answer = {"v": 1, "id": rid, "ok": True, "result": result}
            if body["op"] == "late":
                answer = {
                    "v": 1,
                    "id": rid,
                    "ok": False,
                    "error": {"code": "expired", "message": "x"},
                }
            self.answers[rid] = json.dumps(answer).encode()
        self.transport.publish(topics.response(SITE, *parsed), self.answers[rid])

    def copies(self, rid: str) -> int:
        return sum(1 for body in self.received if body["id"] == rid)

    def tickets(self) -> int:
        return sum(1 for a in self.answers.values() if b'"ticket"' in a)


@pytest.fixture
def broker() -> LoopbackBroker:
    return LoopbackBroker()


@pytest.fixture
def hall(broker: LoopbackBroker) -> FakeHall:
    return FakeHall(broker)


def device(
    broker: LoopbackBroker, device_class: str = "kiosk", device_id: str = "k1", **kw: Any
) -> HallClient:
    transport = LoopbackTransport(broker, device_id, topics.status(SITE, device_id))
    client = HallClient(transport, SITE, device_class, device_id, **kw)
    transport.start()
    return client


@pytest.fixture
def clients() -> Iterator[list[HallClient]]:
    made: list[HallClient] = []
    yield made
    for client in made:
        client.close()


def test_submit_returns_a_future_and_request_blocks(
    broker: LoopbackBroker, hall: FakeHall, clients: list[HallClient]
) -> None:
    kiosk = device(broker)
    clients.append(kiosk)
    future = kiosk.submit("echo", x=1)
    assert future.result(5) == {"x": 1}
    assert kiosk.request("echo", y=2) == {"y": 2}
    with pytest.raises(RequestRefused) as refused:
        kiosk.submit("late").result(5)
    assert refused.value.code == "expired"
    assert kiosk.pending() == []


def test_a_callback_may_make_a_request(
    broker: LoopbackBroker, hall: FakeHall, clients: list[HallClient]
) -> None:
    hall.transport.publish(topics.board(SITE), b'{"v":1,"seq":3}', retain=True)
    display = device(broker, "operator", "op1")  # the default dispatcher: a thread of its own
    clients.append(display)
    answers: list[dict[str, Any]] = []
    threads: list[str] = []

    def on_board(topic: str, board: dict[str, Any] | None) -> None:
        threads.append(threading.current_thread().name)
        answers.append(display.request("echo", seen=board["seq"] if board else None))

    display.subscribe_json(topics.board(SITE), on_board)
    assert wait_for(lambda: answers == [{"seen": 3}])
    assert threads == ["hallq-op1"]


def test_inline_callbacks_submit_and_a_blocking_request_there_fails_clearly(
    broker: LoopbackBroker, hall: FakeHall, clients: list[HallClient]
) -> None:
    hall.silent = True
    kiosk = device(broker, dispatcher=inline)
    clients.append(kiosk)
    outcomes: list[str] = []

    def on_notice(message: Message) -> None:
        kiosk.submit("echo", z=1).add_done_callback(lambda f: outcomes.append("answered"))
        try:
            kiosk.request("echo", timeout=0.1)
        except RequestError as exc:
            outcomes.append(str(exc))

    kiosk.subscribe("hallq/s1/notice", on_notice)
    hall.transport.publish("hallq/s1/notice", b"x")
    assert "use submit()" in outcomes[0]
    hall.silent = False
    kiosk.transport.kill()  # type: ignore[attr-defined]
    kiosk.transport.start()  # reconnected: the pending echo goes out again and is answered
    assert outcomes[1:] == ["answered"]


def test_pending_requests_are_resent_under_their_id_after_a_reconnect(
    broker: LoopbackBroker, hall: FakeHall, clients: list[HallClient]
) -> None:
    kiosk = device(broker, dispatcher=inline)
    clients.append(kiosk)
    kiosk.transport.kill()  # type: ignore[attr-defined]
    future = kiosk.submit("echo", request_id="r-1", n=7, timeout=60)
    assert not future.done() and kiosk.pending() == ["r-1"]
    kiosk.transport.start()
    assert future.result(5) == {"n": 7}
    assert hall.copies("r-1") == 1


def test_the_hall_back_online_gets_every_pending_request_again(
    broker: LoopbackBroker, hall: FakeHall, clients: list[HallClient]
) -> None:
    kiosk = device(broker, dispatcher=inline)
    clients.append(kiosk)
    hall.silent = True
    futures = [kiosk.submit("issue", service="s", timeout=60) for _ in range(20)]
    hall.transport.kill()  # the will: status/hall offline
    hall.silent = False
    hall.transport.start()  # online again: the kiosk sends all twenty again
    assert [f.result(5)["ticket"]["number"] for f in futures] == [f"A{i:03d}" for i in range(1, 21)]


def test_a_request_gives_up_after_its_timeout(
    broker: LoopbackBroker, hall: FakeHall, clients: list[HallClient]
) -> None:
    hall.silent = True
    kiosk = device(broker)
    clients.append(kiosk)
    with pytest.raises(RequestTimeout) as timed_out:
        kiosk.request("echo", request_id="r-2", timeout=0.1, retries=2)
    assert "3 attempts" in str(timed_out.value)
    assert hall.copies("r-2") == 3
    assert kiosk.pending() == []


def test_an_issue_carries_a_deadline_in_hall_time(
    broker: LoopbackBroker, hall: FakeHall, clients: list[HallClient]
) -> None:
    clock = {"v": 1, "at": "2026-11-26T09:00:00+08:00", "speed": 0.0, "unix": 0}
    hall.transport.publish(topics.clock(SITE), json.dumps(clock), retain=True)
    kiosk = device(broker, dispatcher=inline)
    clients.append(kiosk)
    result = kiosk.submit("issue", service="s", timeout=20).result(5)
    assert result["deadline"] == "2026-11-26T09:00:20+08:00"
    explicit = kiosk.submit("issue", service="s", deadline="2026-11-26T09:00:05+08:00")
    assert explicit.result(5)["deadline"] == "2026-11-26T09:00:05+08:00"


def test_a_journalled_issue_survives_a_restart_and_is_answered_once(
    broker: LoopbackBroker, hall: FakeHall, tmp_path: Path
) -> None:
    journal = tmp_path / "pending"
    hall.silent = True  # the hall is stopped: the tap is sent, nothing comes back
    first = device(broker, journal=journal, dispatcher=inline)
    future = first.submit("issue", service="s", timeout=60)
    assert [p.stem for p in journal.glob("*.json")] == [future.request_id]
    first.transport.kill()  # type: ignore[attr-defined]  # the kiosk dies
    hall.silent = False
    resumed: list[RequestFuture] = []
    second = device(broker, journal=journal, dispatcher=inline, on_resumed_answer=resumed.append)
    assert [f.request_id for f in resumed] == [future.request_id]
    assert resumed[0].result()["ticket"]["number"] == "A001"
    assert hall.tickets() == 1 and hall.copies(future.request_id) >= 2
    assert list(journal.glob("*.json")) == []
    second.close()


def test_a_journalled_issue_that_timed_out_still_gets_its_answer(
    broker: LoopbackBroker, hall: FakeHall, tmp_path: Path, clients: list[HallClient]
) -> None:
    hall.silent = True
    late: list[RequestFuture] = []
    kiosk = device(broker, journal=tmp_path / "j", dispatcher=inline, on_resumed_answer=late.append)
    clients.append(kiosk)
    future = kiosk.submit("issue", service="s", timeout=0.1)
    with pytest.raises(RequestTimeout):
        future.result(10)  # the kiosk tells the visitor; the request stays in the journal
    assert kiosk.pending() == [future.request_id]
    hall.silent = False
    kiosk.transport.kill()  # type: ignore[attr-defined]
    kiosk.transport.start()
    assert [f.result()["ticket"]["number"] for f in late] == ["A001"]
    assert kiosk.pending() == []


def test_every_subscriber_gets_the_retained_value(
    broker: LoopbackBroker, hall: FakeHall, clients: list[HallClient]
) -> None:
    hall.transport.publish(topics.board(SITE), b'{"seq":1}', retain=True)
    display = device(broker, "operator", "d1", dispatcher=inline)
    clients.append(display)
    first: list[bytes] = []
    second: list[bytes] = []
    raw: list[bytes] = []
    display.subscribe(topics.board(SITE), lambda m: first.append(m.payload))
    display.transport.subscribe(topics.board(SITE), lambda m: raw.append(m.payload))
    assert raw == []  # the transport alone gives a second callback nothing, as paho does
    display.subscribe(topics.board(SITE), lambda m: second.append(m.payload))
    assert first == second == [b'{"seq":1}']
    hall.transport.publish(topics.board(SITE), b'{"seq":2}', retain=True)
    assert first == second == [b'{"seq":1}', b'{"seq":2}']
    third: list[bytes] = []
    display.subscribe(topics.board(SITE), lambda m: third.append(m.payload))
    assert third == [b'{"seq":2}']
    hall.transport.publish(topics.board(SITE), b"", retain=True)  # cleared
    fourth: list[bytes] = []
    display.subscribe(topics.board(SITE), lambda m: fourth.append(m.payload))
    assert fourth == [] and third[-1] == b""


def test_a_retained_topic_first_published_live_is_replayed_too(
    broker: LoopbackBroker, hall: FakeHall, clients: list[HallClient]
) -> None:
    display = device(broker, "operator", "d1", dispatcher=inline)
    clients.append(display)
    first: list[bytes] = []
    display.subscribe(topics.all_window_states(SITE), lambda m: first.append(m.payload))
    hall.transport.publish(topics.window_state(SITE, "w1"), b"open", retain=True)
    hall.transport.publish(topics.calls(SITE), b"not retained")
    display.subscribe(topics.calls(SITE), lambda m: None)
    later: list[bytes] = []
    display.subscribe(topics.all_window_states(SITE), lambda m: later.append(m.payload))
    calls: list[bytes] = []
    display.subscribe(topics.calls(SITE), lambda m: calls.append(m.payload))
    assert later == [b"open"] and calls == []


def test_unsubscribe(broker: LoopbackBroker, hall: FakeHall, clients: list[HallClient]) -> None:
    display = device(broker, "operator", "d1", dispatcher=inline)
    clients.append(display)
    got: list[bytes] = []
    other: list[bytes] = []
    handle = display.subscribe(topics.calls(SITE), lambda m: got.append(m.payload))
    kept = display.subscribe(topics.calls(SITE), lambda m: other.append(m.payload))
    hall.transport.publish(topics.calls(SITE), b"1")
    display.unsubscribe(handle)
    hall.transport.publish(topics.calls(SITE), b"2")
    assert got == [b"1"] and other == [b"1", b"2"]
    display.unsubscribe(kept)
    hall.transport.publish(topics.calls(SITE), b"3")
    assert other == [b"1", b"2"]
    assert topics.calls(SITE) not in dict(display.transport._subs.filters())  # type: ignore[attr-defined]


def test_one_listener_for_the_link_and_the_hall(broker: LoopbackBroker) -> None:
    transport = LoopbackTransport(broker, "k1", topics.status(SITE, "k1"))
    kiosk = HallClient(transport, SITE, "kiosk", "k1", dispatcher=inline)
    seen: list[ConnectionState] = []
    kiosk.add_state_listener(seen.append)
    transport.start()
    hall = FakeHall(broker)
    transport.kill()
    transport.start()
    hall.transport.kill()
    assert [(s.link, s.hall) for s in seen] == [
        ("connecting", "unknown"),
        ("connected", "unknown"),
        ("connected", "online"),
        ("disconnected", "online"),
        ("connected", "online"),
        ("connected", "offline"),
    ]
    assert seen[3].reason == "lost the broker"
    assert not seen[-1].ready and seen[-2].ready
    kiosk.close()


def test_the_default_dispatcher_keeps_order(broker: LoopbackBroker, hall: FakeHall) -> None:
    display = device(broker, "operator", "d1")
    got: list[int] = []
    display.subscribe(topics.calls(SITE), lambda m: got.append(int(m.payload)))
    for n in range(200):
        hall.transport.publish(topics.calls(SITE), str(n))
    assert wait_for(lambda: got == list(range(200)))
    display.close()


def test_close_fails_what_still_waits(broker: LoopbackBroker, hall: FakeHall) -> None:
    hall.silent = True
    kiosk = device(broker, dispatcher=inline)
    future = kiosk.submit("echo")
    kiosk.close()
    with pytest.raises(RequestError, match="closed"):
        future.result(1)


def test_on_a_scaled_hall_clock_the_deadline_is_in_hall_time(
    broker: LoopbackBroker, hall: FakeHall, clients: list[HallClient]
) -> None:
    clock = {"v": 1, "at": "2026-11-26T09:00:00+08:00", "speed": 60.0, "unix": time.time()}
    hall.transport.publish(topics.clock(SITE), json.dumps(clock), retain=True)
    kiosk = device(broker, dispatcher=inline)
    clients.append(kiosk)
    deadline = kiosk.submit("issue", service="s", timeout=20).result(5)["deadline"]
    assert deadline.startswith("2026-11-26T09:20:") and deadline.endswith("+08:00")
