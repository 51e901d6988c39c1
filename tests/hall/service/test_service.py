"""The hall server on MQTT, end to end through a real Mosquitto: every op of every device class,
success and each error code the engine gives; what it publishes, retained and not."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from contract import topics
from contract.client import HallClient, RequestRefused
from contract.mqtt_url import parse_url
from contract.transport import Message, PahoTransport
from hall.config.schema import HallConfig
from hall.service.service import HallService
from hall.store.clock import FixedClock
from hall.store.core import HallCore, Incoming
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import wait_for
from tests.fixtures.halls import CLERK_PIN, SITE, small_hall

START = datetime.fromisoformat("2026-11-26T09:00:00+08:00")


class Watcher:
    """Everything published on a filter, in arrival order; the last retained value by topic."""

    def __init__(self, broker: Broker, topic_filter: str, name: str = "watcher") -> None:
        self.lock = threading.Lock()
        self.messages: list[Message] = []
        self.transport = PahoTransport(parse_url(broker.url), name)
        self.transport.subscribe(topic_filter, self._add)
        self.transport.start(wait=5)

    def _add(self, message: Message) -> None:
        with self.lock:
            self.messages.append(message)

    def on(self, topic: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if m.topic == topic]

    def last(self, topic: str) -> Any:
        found = self.on(topic)
        if not found:
            return None
        return json.loads(found[-1].payload) if found[-1].payload else ""

    def json(self, topic: str) -> list[Any]:
        return [json.loads(m.payload) for m in self.on(topic)]

    def stop(self) -> None:
        self.transport.stop()


@dataclass
class Hall:
    broker: Broker
    config: HallConfig
    clock: FixedClock
    core: HallCore
    service: HallService
    clients: dict[tuple[str, str], HallClient] = field(default_factory=dict)

    def client(self, device_class: str, device_id: str) -> HallClient:
        key = (device_class, device_id)
        if key not in self.clients:
            self.clients[key] = HallClient.connect(
                parse_url(self.broker.url), SITE, device_class, device_id, wait=5
            )
        return self.clients[key]

    def kiosk(self, kiosk: str = "k1") -> HallClient:
        return self.client("kiosk", kiosk)

    def window(self, window: str) -> HallClient:
        return self.client("window", window)

    def refused(self, client: HallClient, op: str, **fields: Any) -> str:
        with pytest.raises(RequestRefused) as refused:
            client.request(op, **fields)
        return refused.value.code

    def issue(
        self, service: str = "psb-id-card", kiosk: str = "k1", **fields: Any
    ) -> dict[str, Any]:
        ticket: dict[str, Any] = self.kiosk(kiosk).request("issue", service=service, **fields)[
            "ticket"
        ]
        return ticket

    def open_window(self, window: str, clerk: str) -> None:
        pin = {"pin": CLERK_PIN} if clerk == "c0101" else {}
        self.window(window).request("login", clerk=clerk, **pin)

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
        self.service.stop()
        self.core.close()


@contextmanager
def running_hall(
    broker: Broker, data: Path, config: HallConfig | None = None, clock: FixedClock | None = None
) -> Iterator[Hall]:
    config = config or small_hall()
    clock = clock or FixedClock(START)
    core = HallCore(config, data, clock)
    transport = PahoTransport(
        parse_url(broker.url), f"hall-{SITE}", topics.status(SITE, topics.HALL_CLIENT_ID)
    )
    service = HallService(core, transport, queues_interval=0.2, tick_interval=0.05)
    service.start()
    assert transport.wait_ready(5)
    hall = Hall(broker, config, clock, core, service)
    try:
        yield hall
    finally:
        hall.close()


@pytest.fixture
def hall(broker: Broker, tmp_path: Path) -> Iterator[Hall]:
    with running_hall(broker, tmp_path / "data") as running:
        yield running


@pytest.fixture
def watch(broker: Broker) -> Iterator[Watcher]:
    watcher = Watcher(broker, f"hallq/{SITE}/#")
    yield watcher
    watcher.stop()


# -- kiosk
def test_kiosk_ops(hall: Hall) -> None:
    ticket = hall.issue()
    assert ticket["number"] == "A001" and ticket["status"] == "waiting"
    assert ticket["service"] == "psb-id-card" and ticket["department"] == "psb"
    assert hall.issue("tax-invoice")["number"] == "B001"
    assert hall.issue("amr-license")["number"] == "AB001"
    assert hall.issue(priority="priority", kiosk="k2")["priority"] == "priority"
    kiosk = hall.kiosk()
    assert hall.refused(kiosk, "issue", service="psb-id-crd") == "unknown_service"
    assert hall.refused(kiosk, "issue", service="psb-id-card", priority="priority") == "forbidden"
    assert hall.refused(kiosk, "issue", service="tax-audit") == "appointment_required"
    assert (
        hall.refused(kiosk, "issue", service="tax-audit", appointment="B7F3K2") == "unknown_booking"
    )
    again = kiosk.request("reprint", ticket=ticket["id"])["ticket"]
    assert again["number"] == "A001"
    kiosk.request("reprint", ticket=ticket["id"])
    assert hall.refused(kiosk, "reprint", ticket=ticket["id"]) == "reprint_limit"
    assert hall.refused(kiosk, "reprint", ticket="20261126-Z999") == "unknown_ticket"
    status = kiosk.request("status", ticket=ticket["id"])["ticket"]
    assert status["id"] == ticket["id"] and status["status"] == "waiting"
    assert hall.refused(kiosk, "status", ticket="nope") == "unknown_ticket"
    assert hall.refused(kiosk, "fly") == "unknown_op"
    assert hall.refused(kiosk, "issue") == "invalid_request"
    assert hall.refused(kiosk, "issue", service=5) == "invalid_request"


# -- window
def test_the_hall_stops_receiving_its_own_window_states(
    broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It subscribes to them only to clear the retained state of windows no longer in the config;
    # once its own first update came back that check is done, and every later update the broker
    # sent it would cost its network thread a read and an acknowledgement (200 per burst of 100
    # calls). Counted as paho hands them over, before the transport's own routing.
    received: list[str] = []
    on_message = PahoTransport._on_message

    def counted(transport: PahoTransport, client: Any, userdata: Any, msg: Any) -> None:
        if transport.client_id == f"hall-{SITE}" and msg.topic.endswith(("/state", "/rating")):
            received.append(msg.topic)
        on_message(transport, client, userdata, msg)

    monkeypatch.setattr(PahoTransport, "_on_message", counted)
    with running_hall(broker, tmp_path / "data") as hall:
        hall.open_window("w01", "c0101")
        assert wait_for(lambda: hall.service._windows_unsubscribed, 5), "no window state came back"
        time.sleep(0.3)  # the broker takes the unsubscription
        seen = len(received)
        for _ in range(3):
            hall.issue()
            hall.window("w01").request("call_next")
        assert hall.service.wait_idle(5)
        time.sleep(0.3)
        assert len(received) == seen, received[seen:]


def test_window_lifecycle_and_errors(hall: Hall, watch: Watcher) -> None:
    w1, w2 = hall.window("w01"), hall.window("w02")
    assert hall.refused(w1, "call_next") == "not_logged_in"
    assert hall.refused(w1, "login", clerk="c9999") == "unknown_clerk"
    assert hall.refused(w1, "login", clerk="c0101", pin="0000") == "wrong_pin"
    state = w1.request("login", clerk="c0101", pin=CLERK_PIN)["window"]
    assert state["status"] == "open" and state["clerk"]["id"] == "c0101"
    assert hall.refused(w2, "login", clerk="c0101", pin=CLERK_PIN) == "already_logged_in"
    hall.open_window("w02", "c0201")
    assert hall.refused(w1, "call_next") == "queue_empty"
    assert hall.refused(w1, "finish") == "no_current_ticket"
    assert hall.refused(w1, "recall") == "no_current_ticket"
    first, second, third = hall.issue(), hall.issue(), hall.issue()
    called = w1.request("call_next")
    assert called["ticket"]["number"] == first["number"] and called["ticket"]["status"] == "called"
    assert called["window"]["ticket"]["id"] == first["id"]
    assert hall.refused(w1, "pause", reason="lunch") == "invalid_transition"
    for _ in range(3):  # recall cap 3 by default
        w1.request("recall")
    assert hall.refused(w1, "recall") == "recall_limit"
    assert w1.request("start")["ticket"]["status"] == "serving"
    assert w1.request("finish")["ticket"]["status"] == "done"
    # call by number; no_show
    by_number = w1.request("call", number=third["number"])["ticket"]
    assert by_number["id"] == third["id"]
    assert w1.request("no_show")["ticket"]["status"] == "no_show"
    assert hall.refused(w1, "call", number="A999") == "unknown_ticket"
    # hold and unhold (a call-back); transfer to a service and to a window
    w1.request("call_next")  # second
    held = w1.request("hold")
    assert held["window"]["held"][0]["id"] == second["id"]
    back = w1.request("unhold", ticket=second["id"])["ticket"]
    assert back["status"] == "called" and back["recalls"] == 1
    moved = w1.request("transfer", service="psb-passport")["ticket"]
    assert moved["status"] == "waiting" and moved["service"] == "psb-passport"
    w1.request("call_next")
    to_window = w1.request("transfer", window="w02")["ticket"]
    assert to_window["window"] == "w02" and to_window["status"] == "waiting"
    assert hall.refused(w1, "transfer", window="w99") == "unknown_window"
    assert w2.request("call_next")["ticket"]["id"] == second["id"]
    assert w2.request("finish")["ticket"]["status"] == "done"
    # pause and resume; logout
    assert w1.request("pause", reason="lunch")["window"]["status"] == "paused"
    assert hall.refused(w1, "call_next") == "window_paused"
    assert w1.request("resume")["window"]["status"] == "open"
    assert w1.request("logout")["window"]["status"] == "closed"
    assert hall.refused(w1, "bogus") == "unknown_op"
    assert hall.refused(w1, "transfer") == "invalid_request"
    # The calls stream: every call, recall and call-back, with seq 1, 2, ... and no gap.
    assert wait_for(lambda: len(watch.on(topics.calls(SITE))) == 9)
    calls = watch.json(topics.calls(SITE))
    assert [c["seq"] for c in calls] == list(range(1, 10))
    assert [c["recall"] for c in calls[:4]] == [0, 1, 2, 3]
    assert calls[0]["window"] == {"id": "w01", "name": "1号窗口", "area": "1F"}
    # Retained window state follows.
    assert wait_for(lambda: watch.last(topics.window_state(SITE, "w01"))["status"] == "closed")
    assert watch.last(topics.window_state(SITE, "w02"))["status"] == "open"


# -- evaluator
def test_evaluator_rates_the_done_ticket_of_its_window(hall: Hall, watch: Watcher) -> None:
    hall.open_window("w01", "c0101")
    ticket = hall.issue()
    w1, e1, e2 = (
        hall.window("w01"),
        hall.client("evaluator", "e01"),
        hall.client("evaluator", "e02"),
    )
    w1.request("call_next")
    assert hall.refused(e1, "rate", ticket=ticket["id"], score=5) == "not_rateable"
    w1.request("finish")
    rating_topic = topics.window_rating(SITE, "w01")
    assert wait_for(lambda: bool(watch.last(rating_topic)))
    rating = watch.last(rating_topic)
    assert rating["ticket"]["id"] == ticket["id"] and rating["window"]["id"] == "w01"
    assert hall.refused(e2, "rate", ticket=ticket["id"], score=5) == "not_rateable"
    assert hall.refused(e1, "rate", ticket=ticket["id"], score=9) == "invalid_request"
    e1.request("rate", ticket=ticket["id"], score=4, reasons=["快"])
    assert wait_for(lambda: watch.last(rating_topic) == "")  # cleared by the rating
    assert hall.refused(e1, "rate", ticket=ticket["id"], score=5) == "already_rated"
    # Unrated: the rating topic clears itself when `until` passes (the hall's timer).
    second = hall.issue()
    w1.request("call_next")
    w1.request("finish")
    assert wait_for(
        lambda: (watch.last(rating_topic) or {}).get("ticket", {}).get("id") == second["id"]
    )
    hall.clock.advance(seconds=hall.config.limits.rating_seconds + 1)
    assert wait_for(lambda: watch.last(rating_topic) == "")
    assert hall.refused(e1, "rate", ticket=second["id"], score=5) == "not_rateable"


# -- operator
def test_operator_ops(hall: Hall, watch: Watcher) -> None:
    op = hall.client("operator", "op1")
    ticket = hall.issue()
    assert op.request("cancel", ticket=ticket["id"])["ticket"]["status"] == "cancelled"
    assert hall.refused(op, "cancel", ticket="x") == "unknown_ticket"
    op.request("service", service="psb-hukou", open=False)
    assert hall.refused(hall.kiosk(), "issue", service="psb-hukou") == "service_closed"
    op.request("service", service="psb-hukou", open=True)
    op.request("service", service="psb-hukou", cap=1)
    hall.issue("psb-hukou")
    assert hall.refused(hall.kiosk(), "issue", service="psb-hukou") == "quota_reached"
    assert hall.refused(op, "service", service="nope", open=False) == "unknown_service"
    hall.open_window("w01", "c0101")
    assert op.request("force_logout", window="w01")["window"]["status"] == "closed"
    assert hall.refused(op, "force_logout", window="w99") == "unknown_window"
    op.request("notice", text="今日下午三点后暂停办理护照业务")
    catalog_topic = topics.catalog(SITE)
    assert wait_for(lambda: (watch.last(catalog_topic) or {}).get("notice") is not None)
    catalog = watch.last(catalog_topic)
    services = {s["code"]: s for s in catalog["services"]}
    assert services["psb-hukou"]["cap"] == 1
    assert wait_for(lambda: (watch.last(topics.board(SITE)) or {}).get("notice") is not None)
    queues_topic = topics.queues(SITE)
    assert wait_for(
        lambda: (
            (watch.last(queues_topic) or {}).get("services", {}).get("psb-hukou", {}).get("reason")
            == "quota_reached"
        )
    )


# -- what any device can send
def test_unknown_devices_and_bad_payloads_get_answers(
    hall: Hall, broker: Broker, watch: Watcher
) -> None:
    probe = PahoTransport(parse_url(broker.url), "probe")
    probe.start(wait=5)
    # A device that is not in the config: unknown_device on its own topic, with its id echoed.
    probe.publish(
        topics.kiosk_req(SITE, "k99"), b'{"v":1,"id":"r1","op":"issue","service":"psb-id-card"}'
    )
    # The window id of an evaluator: the class in the topic is wrong.
    probe.publish(topics.kiosk_req(SITE, "e01"), b'{"v":1,"id":"r2","op":"status","ticket":"x"}')
    # Not JSON, and no id: answered with id null.
    probe.publish(topics.kiosk_req(SITE, "k1"), b"\xff\xfenot json")
    probe.publish(topics.window_req(SITE, "w01"), b'{"v":1,"op":"call_next"}')
    # An invalid id in the topic: nowhere to answer, ignored; the hall goes on.
    probe.publish(f"hallq/{SITE}/kiosk/K-BAD/req", b"{}")
    assert wait_for(lambda: len(watch.on(topics.response(SITE, "kiosk", "k99"))) == 1)
    assert watch.json(topics.response(SITE, "kiosk", "k99"))[0]["error"]["code"] == "unknown_device"
    assert watch.json(topics.response(SITE, "kiosk", "k99"))[0]["id"] == "r1"
    assert wait_for(lambda: len(watch.on(topics.response(SITE, "kiosk", "e01"))) == 1)
    assert watch.json(topics.response(SITE, "kiosk", "e01"))[0]["error"]["code"] == "unknown_device"
    assert wait_for(lambda: len(watch.on(topics.response(SITE, "kiosk", "k1"))) == 1)
    no_id = watch.json(topics.response(SITE, "kiosk", "k1"))[0]
    assert no_id["id"] is None and no_id["ok"] is False
    assert wait_for(lambda: len(watch.on(topics.response(SITE, "window", "w01"))) == 1)
    assert watch.json(topics.response(SITE, "window", "w01"))[0]["id"] is None
    assert hall.issue()["number"] == "A001"
    probe.stop()


# -- idempotency
def test_same_request_three_times_one_effect_identical_answers(hall: Hall, watch: Watcher) -> None:
    kiosk = hall.kiosk()
    body = b'{"v":1,"id":"same-1","op":"issue","service":"psb-id-card"}'
    answers = [kiosk.request_raw(body, "same-1") for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    # Whatever the repeated body says, the stored answer comes back.
    other = b'{"v":1,"id":"same-1","op":"issue","service":"tax-invoice"}'
    assert kiosk.request_raw(other, "same-1") == answers[0]
    assert hall.issue()["number"] == "A002"  # one effect: the next number follows the first
    # Errors are stored too (not storage_error): a retried refusal is the same bytes.
    bad = b'{"v":1,"id":"same-2","op":"issue","service":"nope"}'
    assert kiosk.request_raw(bad, "same-2") == kiosk.request_raw(bad, "same-2")
    # Three copies in one burst (one batch): still one effect.
    window = hall.window("w01")
    hall.open_window("w01", "c0101")
    burst = b'{"v":1,"id":"same-3","op":"call_next"}'
    for _ in range(3):
        window.transport.publish(topics.window_req(SITE, "w01"), burst, qos=1)
    resp = topics.response(SITE, "window", "w01")
    assert wait_for(lambda: sum(1 for m in watch.on(resp) if b"same-3" in m.payload) == 3)
    copies = [m.payload for m in watch.on(resp) if b"same-3" in m.payload]
    assert copies[0] == copies[1] == copies[2]
    assert wait_for(lambda: len(watch.on(topics.calls(SITE))) == 1)
    time.sleep(0.1)
    assert len(watch.on(topics.calls(SITE))) == 1


# -- retained state and batching
def test_late_display_draws_from_retained_board(hall: Hall, broker: Broker) -> None:
    hall.open_window("w01", "c0101")
    for _ in range(3):
        hall.issue()
    hall.window("w01").request("call_next")
    hall.service.wait_idle()
    time.sleep(0.3)  # queues is coalesced: at most once per interval
    late = Watcher(broker, f"hallq/{SITE}/#", "late-display")
    try:
        assert wait_for(lambda: late.last(topics.board(SITE)) is not None)
        board = late.last(topics.board(SITE))
        assert board["v"] == 1 and board["seq"] == 1
        assert board["recent"][0]["ticket"]["number"] == "A001"
        assert {w["window"]["id"] for w in board["windows"]} == {w.id for w in hall.config.windows}
        assert board["waiting"]["psb"]["count"] == 2
        assert wait_for(lambda: late.last(topics.queues(SITE)) is not None)
        assert late.last(topics.queues(SITE))["services"]["psb-id-card"]["waiting"] == 2
        assert late.last(topics.catalog(SITE))["site"]["id"] == SITE
        for window in hall.config.windows:
            assert late.last(topics.window_state(SITE, window.id))["window"]["id"] == window.id
        assert late.on(topics.status(SITE, "hall"))[-1].payload == b"online"
    finally:
        late.stop()


def test_a_burst_is_committed_in_a_few_transactions(hall: Hall, watch: Watcher) -> None:
    sizes: list[int] = []
    hall.service.on_batch = sizes.append
    for n in range(1, 6):
        hall.open_window(f"w0{n}", {1: "c0101", 2: "c0201", 3: "c0301", 4: "c0401", 5: "c0501"}[n])
    kiosk = hall.kiosk()
    # The hook runs after a batch's answers are out: wait until the five logins are reported.
    assert wait_for(lambda: sum(sizes) >= 5)
    sizes.clear()
    before = len(watch.on(topics.board(SITE)))
    for i in range(100):
        body = json.dumps({"v": 1, "id": f"burst-{i}", "op": "issue", "service": "psb-id-card"})
        kiosk.transport.publish(topics.kiosk_req(SITE, "k1"), body.encode(), qos=1)
    resp = topics.response(SITE, "kiosk", "k1")
    assert wait_for(lambda: sum(1 for m in watch.on(resp) if b"burst-" in m.payload) == 100)
    assert sum(sizes) == 100
    assert len(sizes) <= 20, sizes  # drained together, not one transaction per request
    numbers = sorted(
        json.loads(m.payload)["result"]["ticket"]["number"]
        for m in watch.on(resp)
        if b"burst-" in m.payload
    )
    assert numbers == [f"A{n:03d}" for n in range(1, 101)]
    assert wait_for(lambda: len(watch.on(topics.board(SITE))) > before)
    time.sleep(0.2)
    assert len(watch.on(topics.board(SITE))) - before <= len(sizes) + 1  # once per batch


def test_queues_are_coalesced(hall: Hall, watch: Watcher) -> None:
    hall.service.wait_idle()
    time.sleep(0.3)
    before = len(watch.on(topics.queues(SITE)))
    started = time.monotonic()
    for _ in range(20):
        hall.issue()
    elapsed = time.monotonic() - started
    time.sleep(0.3)
    published = len(watch.on(topics.queues(SITE))) - before
    assert published >= 1
    assert published <= elapsed / hall.service.queues_interval + 2
    assert watch.last(topics.queues(SITE))["services"]["psb-id-card"]["waiting"] == 20


def test_rollover_by_the_timer(hall: Hall, watch: Watcher) -> None:
    ticket = hall.issue()
    hall.clock.set(START + timedelta(days=1))
    catalog = topics.catalog(SITE)
    assert wait_for(lambda: (watch.last(catalog) or {}).get("business_day") == "2026-11-27")
    assert ticket["number"] == "A001"
    assert hall.issue()["number"] == "A001"  # numbering starts again; yesterday's ticket expired
    board = topics.board(SITE)
    assert wait_for(lambda: watch.last(board)["waiting"]["psb"]["count"] == 1)


def test_a_reconnect_republishes_the_retained_state(hall: Hall, broker: Broker) -> None:
    hall.issue()
    hall.service.wait_idle()
    # The broker loses everything it retained (no persistence between these two runs).
    broker.stop()
    for path in broker.folder.glob("*.db"):
        path.unlink()
    broker.restart()
    assert wait_for(lambda: hall.service.transport.connected, timeout=10)
    late = Watcher(broker, f"hallq/{SITE}/#", "after-restart")
    try:
        assert wait_for(lambda: late.last(topics.board(SITE)) is not None, timeout=10)
        assert late.last(topics.board(SITE))["waiting"]["psb"]["count"] == 1
        assert wait_for(lambda: late.last(topics.catalog(SITE)) is not None)
        assert wait_for(lambda: late.on(topics.status(SITE, "hall"))[-1:][0].payload == b"online")
    finally:
        late.stop()


def test_calls_committed_before_a_crash_go_out_in_order_at_start(
    broker: Broker, tmp_path: Path, watch: Watcher
) -> None:
    # The core commits calls (a hall that died before publishing them) ...
    config, clock = small_hall(), FixedClock(START)
    with HallCore(config, tmp_path / "data", clock) as core:
        requests = [("window", "w02", {"op": "login", "clerk": "c0201"})]
        requests += [("kiosk", "k1", {"op": "issue", "service": "psb-id-card"})] * 3
        requests += [("window", "w02", {"op": "call_next"}), ("window", "w02", {"op": "recall"})]
        for n, (cls, device, body) in enumerate(requests):
            payload = json.dumps({"v": 1, "id": f"pre-{n}", **body}).encode()
            core.execute([Incoming(cls, device, payload)])
        unpublished = core.store.pending_outbox()
        assert [json.loads(m.payload)["seq"] for m in unpublished] == [1, 2]
    # ... and the next start publishes them, in order, before anything new.
    with running_hall(broker, tmp_path / "data", config, clock) as hall:
        hall.window("w02").request("call_next")
        assert wait_for(lambda: len(watch.on(topics.calls(SITE))) == 3)
        calls = watch.json(topics.calls(SITE))
        assert [c["seq"] for c in calls] == [1, 2, 3]
        assert [c["recall"] for c in calls] == [0, 1, 0]
        assert [m.payload for m in watch.on(topics.calls(SITE))[:2]] == [
            m.payload for m in unpublished
        ]
        # Acknowledged by the broker: the outbox empties.
        assert wait_for(lambda: hall.core.store.pending_outbox() == [], timeout=5)
