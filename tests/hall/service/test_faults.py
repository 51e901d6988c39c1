"""Faults under simulated load: a real `hallq server` process SIGKILLed again and again and restarted,
the real Mosquitto restarted, while `hallq simulate` plays kiosks, windows and evaluators through it.

Afterwards:
- no ticket lost or duplicated: every ticket a kiosk got an answer for is in the hall's store with
  that number, the store holds no other, and each department's numbers run 1..N;
- every committed call was published in `seq` order with no gap (a subscriber on a persistent session
  records every `calls` message: a repeat only with its own seq and the same bytes), and every call a
  window was answered is among them;
- every request was answered, retries included (and there were retries);
- a display that reconnected (the broker restart) converges to the retained `board`.

Sizes: HALLQ_FAULT_KILLS (default 12) kills, one every HALLQ_FAULT_PERIOD seconds (default 2.5).
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from contract import topics
from contract.mqtt_url import parse_url
from hall.config.schema import load_config
from hall.store.clock import FixedClock
from hall.store.core import HallCore
from hall.tools.simulate import Options, Simulation
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import HallServer, wait_for
from tests.hall.service.screen_model import Display, picture_of, retained_board
from tests.hall.tools.test_simulate import small_config

pytestmark = [pytest.mark.broker, pytest.mark.slow]

KILLS = int(os.environ.get("HALLQ_FAULT_KILLS", "12"))
PERIOD = float(os.environ.get("HALLQ_FAULT_PERIOD", "2.5"))
SPEED = 200.0  # 40 s of real time are ~2.2 hall hours: a busy morning
SITE = "small"


class CallRecorder:
    """Every message on `calls`, in arrival order, on a persistent session (clean_session false,
    QoS 1): the broker keeps what arrives while this recorder is away, across its own restart."""

    def __init__(self, broker: Broker) -> None:
        self.lock = threading.Lock()
        self.payloads: list[bytes] = []
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"calls-recorder-{os.getpid()}",
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topics.calls(SITE), qos=1)
        self.client.on_message = self._on_message
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.connect("127.0.0.1", broker.port, keepalive=10)
        self.client.loop_start()
        assert self.subscribed.wait(10)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.payloads.append(bytes(msg.payload))

    def messages(self) -> list[bytes]:
        with self.lock:
            return list(self.payloads)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class RetryCounter(logging.Handler):
    """Counts the client library's "retry" lines: proof that requests were really retried."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.retries = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "retry" in record.getMessage():
            self.retries += 1


@pytest.fixture
def retry_counter() -> Iterator[RetryCounter]:
    counter = RetryCounter()
    logger = logging.getLogger("contract.client")
    old = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(counter)
    yield counter
    logger.removeHandler(counter)
    logger.setLevel(old)


def test_kills_and_a_broker_restart_under_load_lose_nothing(
    broker: Broker, tmp_path: Path, retry_counter: RetryCounter
) -> None:
    config_path = small_config(tmp_path, broker.url)
    config = load_config(config_path)
    data, log = tmp_path / "data", tmp_path / "hall.log"
    hall = HallServer(broker.url, "small", config_path, data, log, speed=SPEED, log_level="WARNING")
    recorder = display = None
    address = parse_url(broker.url)
    # Requests outlast any outage here (a restart takes ~1 s): 1 s per attempt, 30 attempts.
    options = Options(hours=100, seed=11, visitors_per_hour=150, timeout=1.0, retries=30)
    sim = Simulation(config, lambda device: address, options, say=lambda line: None)
    rng = random.Random(3)
    kills = broker_restarts = 0
    try:
        hall.start()
        recorder = CallRecorder(broker)
        display = Display(broker, SITE)
        sim.start()
        time.sleep(PERIOD)
        while kills < KILLS:
            time.sleep(rng.uniform(0.3, PERIOD))  # at a random moment of the load
            hall.kill()
            kills += 1
            if kills == KILLS // 2:
                broker.restart()  # the broker too, while the hall is down: everyone reconnects
                broker_restarts += 1
            elif rng.random() < 0.3:
                time.sleep(rng.uniform(0.1, 1.0))  # down a while: requests pile up, retried
            hall.start()
        time.sleep(PERIOD)  # the load goes on with the hall up
        sim.stop()
        assert hall.terminate() == 0  # a clean stop: the broker acknowledged every call
        # -- nothing lost, nothing twice ------------------------------------------------------------
        tally = sim.tally
        assert not tally.timeouts, f"requests never answered: {tally.timeouts}"
        assert retry_counter.retries > 0  # the faults really hit requests in flight
        issued = {i.ticket_id: i for i in tally.issued}
        assert len(issued) == len(tally.issued) >= 50
        with HallCore(config, tmp_path / "data", FixedClock(hall.now())) as core:
            state = core.engine.state
            tickets = dict(state.tickets)
            call_seq = state.call_seq
        assert set(tickets) == set(issued), "a ticket was lost or issued twice"
        for ticket_id, answer in issued.items():
            assert tickets[ticket_id].number == answer.number
        by_prefix: dict[str, list[int]] = defaultdict(list)
        for ticket in tickets.values():
            match = re.fullmatch(r"([A-Z]+)(\d+)", ticket.number)
            assert match is not None
            by_prefix[match[1]].append(int(match[2]))
        for prefix, numbers in by_prefix.items():
            assert sorted(numbers) == list(range(1, len(numbers) + 1)), prefix
        # -- calls: in seq order, no gap, a repeat only as the same message ------------------------
        assert wait_for(
            lambda: len({json.loads(p)["seq"] for p in recorder.messages()}) >= call_seq
        )
        first: dict[int, bytes] = {}
        top = 0
        for payload in recorder.messages():
            seq = json.loads(payload)["seq"]
            if seq in first:
                assert first[seq] == payload, f"seq {seq} repeated with other content"
            else:
                assert seq == top + 1, f"seq {seq} arrived after {top}"
                first[seq], top = payload, seq
        assert top == call_seq and call_seq >= 30
        called = {
            (json.loads(p)["ticket"]["id"], json.loads(p)["window"]["id"]) for p in first.values()
        }
        for call in tally.called:
            assert (call.ticket_id, call.window) in called
        # -- a display that reconnected shows the retained board --------------------------------------
        assert display.connects >= 2
        expected = picture_of(retained_board(broker, SITE))
        assert wait_for(lambda: display.picture() == expected, 10), (display.picture(), expected)
        assert expected[0] == call_seq
        logging.getLogger(__name__).warning(
            "faults: %d kills, %d broker restart(s), %d tickets, %d calls (%d messages), %d retries",
            kills,
            broker_restarts,
            len(tickets),
            call_seq,
            len(recorder.messages()),
            retry_counter.retries,
        )
    finally:
        sim.stop()
        for part in (display, recorder):
            if part is not None:
                part.close()
        hall.close()
