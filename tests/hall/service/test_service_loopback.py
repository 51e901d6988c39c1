"""The hall service over the in-memory loopback transport: its publishing rules, without a broker."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract import topics
from contract.transport import Delivery, Publication
from hall.store.clock import FixedClock
from tests.fixtures.hall_server import wait_for
from tests.fixtures.halls import SITE, small_hall
from tests.hall.service.loopback_hall import LoopbackHall
from tests.hall.service.test_service import START


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[LoopbackHall]:
    running = LoopbackHall(small_hall(), tmp_path / "data", FixedClock(START), queues_interval=0.3)
    assert running.service.wait_idle()
    yield running
    running.close()


def test_start_publishes_every_retained_topic(setup: LoopbackHall) -> None:
    retained = setup.broker.retained
    # catalog goes out after the window states; queues may already have gone out before start()
    # (held while disconnected, like paho does, and sent at the connect).
    assert wait_for(lambda: topics.catalog(SITE) in retained and topics.queues(SITE) in retained)
    assert retained[topics.status(SITE, "hall")] == b"online"
    for window in setup.config.windows:
        assert json.loads(retained[topics.window_state(SITE, window.id)])["status"] == "closed"
        assert topics.window_rating(SITE, window.id) not in retained  # cleared: empty payload
    assert json.loads(retained[topics.board(SITE)])["seq"] == 0
    assert json.loads(retained[topics.catalog(SITE)])["site"]["id"] == SITE


def test_answers_then_calls_then_state(setup: LoopbackHall) -> None:
    window = setup.client("window", "w02")
    kiosk = setup.client("kiosk", "k1")
    window.request("login", clerk="c0201")
    kiosk.request("issue", service="psb-id-card")
    setup.service.wait_idle()
    mark = len(setup.broker.log)
    window.request("call_next", request_id="c1")
    assert setup.service.wait_idle()
    time.sleep(0.05)
    after = [m.topic for m in setup.broker.log[mark:]]
    resp = topics.response(SITE, "window", "w02")
    order = [after.index(t) for t in (resp, topics.calls(SITE), topics.window_state(SITE, "w02"))]
    assert order == sorted(order)
    assert after.index(topics.board(SITE)) > after.index(topics.calls(SITE))
    assert after.count(topics.board(SITE)) == 1


def test_queues_are_coalesced_and_board_follows_each_batch(setup: LoopbackHall) -> None:
    kiosk = setup.client("kiosk", "k1")
    assert wait_for(lambda: len(setup.published(topics.queues(SITE))) >= 1)
    before = len(setup.published(topics.queues(SITE)))
    started = time.monotonic()
    for _ in range(30):
        kiosk.request("issue", service="tax-invoice")
    elapsed = time.monotonic() - started
    assert wait_for(
        lambda: (
            json.loads(setup.published(topics.queues(SITE))[-1])["services"]["tax-invoice"][
                "waiting"
            ]
            == 30
        )
    )
    published = len(setup.published(topics.queues(SITE))) - before
    assert published <= elapsed / 0.3 + 2
    assert json.loads(setup.broker.retained[topics.board(SITE)])["waiting"]["tax"]["count"] == 30


def test_the_worker_waits_calmly_while_the_broker_has_not_acknowledged_the_calls(
    tmp_path: Path,
) -> None:
    # After a batch with calls the retained state (queues included) waits until the broker has
    # acknowledged them; the worker looks every CALLS_OUT_POLL meanwhile. A due time in the past
    # (the queues' interval long over) once made it loop with no wait: thousands of steps in those
    # 50 ms, holding the GIL paho's thread needs to send the calls.
    hall = LoopbackHall(small_hall(), tmp_path / "data", FixedClock(START), queues_interval=0.01)
    try:
        window, kiosk = hall.client("window", "w02"), hall.client("kiosk", "k1")
        window.request("login", clerk="c0201")
        kiosk.request("issue", service="psb-id-card")
        assert hall.service.wait_idle()
        held: list[Publication] = []
        publish = hall.transport.publish

        def calls_unacknowledged(
            topic: str, payload: bytes | str, qos: int = 1, retain: bool = False
        ) -> Delivery:
            delivery = publish(topic, payload, qos, retain)
            if topic != topics.calls(SITE):
                return delivery
            held.append(Publication())  # the broker has not acknowledged it yet
            return held[-1]

        hall.transport.publish = calls_unacknowledged  # type: ignore[method-assign]
        time.sleep(0.05)  # the queues' interval is long over
        window.request("call_next")
        assert wait_for(lambda: bool(held), 2)  # the call went out, waiting for its PUBACK
        # within RETAINED_DEFER of the hand-over: every CALLS_OUT_POLL at most, no spinning
        looks, elapsed = _steps_during(hall, 0.04)
        assert looks <= elapsed / 0.001 + 10, looks
        for delivery in held:
            delivery.acknowledge()
        state = topics.window_state(SITE, "w02")  # then the state goes out, with the ticket
        assert wait_for(lambda: json.loads(hall.broker.retained[state])["ticket"] is not None)
    finally:
        hall.close()


def test_the_worker_waits_calmly_while_the_link_is_down(setup: LoopbackHall) -> None:
    # Nothing retained goes out until the reconnect's republish: the queues' refresh, due long ago
    # in an outage of over a minute, must not make the worker loop with no wait meanwhile.
    setup.transport.kill()
    assert wait_for(lambda: not setup.service._link_ready, 2)
    setup.service._last_queues -= 120  # as after two minutes without the broker
    looks, elapsed = _steps_during(setup, 1.3)  # past the worker's next look (the timer's tick)
    assert looks <= elapsed / 0.1 + 5, looks


def _steps_during(hall: LoopbackHall, seconds: float) -> tuple[int, float]:
    """How many steps the hall's worker takes in `seconds` (a sleep of the test's), and the time
    it really was."""
    steps = 0
    step = hall.service._step

    def counted_step() -> None:
        nonlocal steps
        steps += 1
        step()

    hall.service._step = counted_step  # type: ignore[method-assign]
    started = time.monotonic()
    try:
        time.sleep(seconds)
        return steps, time.monotonic() - started
    finally:
        hall.service._step = step  # type: ignore[method-assign]


def test_a_reconnect_republishes_and_status_follows_the_connection(setup: LoopbackHall) -> None:
    setup.transport.kill()
    assert setup.broker.retained[topics.status(SITE, "hall")] == b"offline"
    setup.broker.retained.clear()
    setup.transport.start()  # connect listeners run: the service republishes everything
    assert wait_for(lambda: topics.catalog(SITE) in setup.broker.retained)
    assert wait_for(lambda: topics.board(SITE) in setup.broker.retained)
    assert setup.broker.retained[topics.status(SITE, "hall")] == b"online"
    assert topics.window_state(SITE, "w01") in setup.broker.retained
