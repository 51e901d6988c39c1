"""The hall service when its broker link is down or its worker keeps failing, on the in-memory
loopback transport (fast): a publish made while disconnected is held, unacknowledged, and sent in
order at the reconnect, as paho does; the outbox drains then; a repeating worker fault raises the
`worker_fault` alarm once (not a traceback per step), clears, or after `fault_limit` stops the worker
with `fatal` set (the server then exits 3)."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract import topics
from contract.protocol import dumps
from contract.transport import LoopbackBroker, LoopbackTransport, Message
from hall.store.clock import FixedClock
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import HallServer, wait_for
from tests.fixtures.halls import SITE, small_hall
from tests.hall.service.loopback_hall import LoopbackHall
from tests.hall.service.test_server_process import write_config
from tests.hall.service.test_service import START, Watcher


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[LoopbackHall]:
    running = LoopbackHall(small_hall(), tmp_path / "data", FixedClock(START), queues_interval=0.3)
    assert running.service.wait_idle()
    yield running
    running.close()


def test_loopback_holds_what_is_published_while_disconnected() -> None:
    broker = LoopbackBroker()
    seen: list[bytes] = []
    display = LoopbackTransport(broker, "d1")
    display.subscribe("t/#", lambda m: seen.append(m.payload))
    display.start()
    hall = LoopbackTransport(broker, "hall")
    before_start = hall.publish("t/1", b"1")
    assert not before_start.is_published() and seen == []
    hall.start()
    after = hall.publish("t/2", b"2")
    assert before_start.is_published() and after.is_published()
    hall.kill()
    held = [hall.publish(f"t/{n}", str(n).encode()) for n in (3, 4, 5)]
    assert not any(d.is_published() for d in held)  # never raises, says "not yet"
    assert seen == [b"1", b"2"]
    hall.start()
    assert all(d.is_published() for d in held)
    assert seen == [b"1", b"2", b"3", b"4", b"5"]


def request(device_class: str, device_id: str, op: str, rid: str, **fields: Any) -> Message:
    body = {"v": 1, "id": rid, "op": op, **fields}
    return Message(topics.request(SITE, device_class, device_id), dumps(body))


def test_calls_committed_while_disconnected_go_out_in_order_at_the_reconnect(
    hall: LoopbackHall, caplog: pytest.LogCaptureFixture
) -> None:
    windows = [("w02", "c0201"), ("w03", "c0301"), ("w05", "c0501")]
    kiosk = hall.client("kiosk", "k1")
    for window, clerk in windows:
        hall.client("window", window).request("login", clerk=clerk)
    for service in ["psb-id-card"] * 2 + ["tax-invoice"] * 4:
        kiosk.request("issue", service=service)
    assert hall.service.wait_idle()
    calls_before = len(hall.published(topics.calls(SITE)))
    # The link drops while requests read before it are still in the hall's queue.
    hall.transport.kill()
    with caplog.at_level(logging.WARNING, logger="hall.service.service"):
        for n in range(2):
            for window, _ in windows:
                hall.service._on_request(request("window", window, "call_next", f"c{n}{window}"))
        assert hall.service.wait_idle()
        time.sleep(0.3)  # a few worker steps with the calls unacknowledged
        assert len(hall.core.store.pending_outbox()) == 6
        assert len(hall.published(topics.calls(SITE))) == calls_before
        hall.transport.start()
        assert wait_for(lambda: len(hall.published(topics.calls(SITE))) == calls_before + 6)
        seqs = [json.loads(p)["seq"] for p in hall.published(topics.calls(SITE))]
        assert seqs == list(range(1, len(seqs) + 1))
        assert wait_for(lambda: hall.core.store.pending_outbox() == [], 5)
        # The worker serves at full speed again: no failed step, no back-off.
        started = time.monotonic()
        kiosk.request("status", ticket="20261126-A001")
        assert time.monotonic() - started < 5
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


class Raising:
    """Stands for the core's tick: raises while `failing` is set."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.failing = threading.Event()
        self.failing.set()

    def __call__(self) -> Any:
        if self.failing.is_set():
            raise RuntimeError("the disk is on fire")
        return self.real()


def alarms(hall: LoopbackHall) -> list[dict[str, Any]]:
    return [json.loads(p) for p in hall.published(topics.alarm(SITE))]


def test_a_repeating_fault_alarms_once_and_clears(
    hall: LoopbackHall, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = hall.service
    service.tick_interval, service.fault_gap, service.fault_limit = 0.02, 0.5, 60.0
    tick = Raising(hall.core.tick)
    monkeypatch.setattr(hall.core, "tick", tick)
    with caplog.at_level(logging.INFO, logger="hall.service.service"):
        assert wait_for(lambda: any(a["kind"] == "worker_fault" for a in alarms(hall)), 10)
        time.sleep(0.5)  # many more failed steps
        raised = [a for a in alarms(hall) if a["kind"] == "worker_fault"]
        assert len(raised) == 1 and not raised[0]["cleared"]
        assert "the disk is on fire" in raised[0]["text"] and raised[0]["severity"] == "critical"
        tick.failing.clear()
        assert wait_for(lambda: len([a for a in alarms(hall) if a["kind"] == "worker_fault"]) == 2)
    cleared = [a for a in alarms(hall) if a["kind"] == "worker_fault"][-1]
    assert cleared["cleared"] and service.fatal is None
    assert cleared["id"] == raised[0]["id"]  # issue 19: one id from raised to cleared
    assert service.open_alarms() == []
    tracebacks = [r for r in caplog.records if r.exc_info is not None]
    assert len(tracebacks) == 1, "a repeating fault must not log a traceback per step"
    assert len(caplog.records) < 10
    # Still serving.
    assert hall.client("kiosk", "k1").request("issue", service="tax-invoice")["ticket"]


def test_a_fault_that_repeats_for_fault_limit_stops_the_worker(
    hall: LoopbackHall, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = hall.service
    service.tick_interval, service.fault_gap, service.fault_limit = 0.02, 0.5, 1.0
    monkeypatch.setattr(hall.core, "tick", Raising(hall.core.tick))
    assert wait_for(lambda: service.fatal is not None, 15)
    assert service.fatal is not None
    assert "RuntimeError: the disk is on fire" in service.fatal
    assert service._worker is not None
    service._worker.join(5)
    assert not service._worker.is_alive()


# -- the server process: exit status 3 for a fault that goes on, 0 after one that cleared
FAULTY_SERVER = Path(__file__).with_name("faulty_server.py")


@pytest.fixture
def faulty(broker: Broker, tmp_path: Path) -> Iterator[tuple[HallServer, Path, Watcher]]:
    server = HallServer(
        broker.url, SITE, write_config(tmp_path, broker), tmp_path / "data", tmp_path / "hall.log"
    )
    trigger = tmp_path / "fault"
    alarms = Watcher(broker, topics.alarm(SITE), "alarm-watcher")
    yield server, trigger, alarms
    alarms.stop()
    server.close()


def faulty_args(server: HallServer, trigger: Path, seconds: str) -> list[str]:
    assert server.args[1:4] == ["-m", "hallq", "server"]
    return [sys.executable, str(FAULTY_SERVER), str(trigger), seconds, *server.args[4:]]


@pytest.mark.broker
def test_a_fault_that_goes_on_ends_the_server_with_status_3(
    faulty: tuple[HallServer, Path, Watcher],
) -> None:
    server, trigger, alarms = faulty
    server.args = faulty_args(server, trigger, "inf")
    server.start()
    trigger.touch()
    assert server.process is not None
    assert server.process.wait(60) == 3
    log = server.log.read_text()
    assert "exiting with status 3" in log and "OSError: the board cannot be drawn" in log
    assert log.count("Traceback") == 1  # the first time only; then one line now and then
    raised = [a for a in alarms.json(topics.alarm(SITE)) if a["kind"] == "worker_fault"]
    assert raised and not raised[0]["cleared"] and "board cannot be drawn" in raised[0]["text"]
    assert wait_for(lambda: server.status[-1:] == [b"offline"])
    # The store was closed: the next hall opens it (a supervisor restarts the server).
    server.args = [sys.executable, "-m", "hallq", "server", *server.args[4:]]
    server.start()
    assert server.terminate() == 0


@pytest.mark.broker
def test_sigterm_after_a_fault_that_cleared_exits_0(
    faulty: tuple[HallServer, Path, Watcher],
) -> None:
    server, trigger, alarms = faulty
    server.args = faulty_args(server, trigger, "2.5")
    server.start()
    trigger.touch()

    def kinds() -> list[bool]:
        return [
            a["cleared"] for a in alarms.json(topics.alarm(SITE)) if a["kind"] == "worker_fault"
        ]

    assert wait_for(lambda: kinds() == [False, True], 30), kinds()
    assert server.terminate() == 0
    assert "worker fault over" in server.log.read_text()
