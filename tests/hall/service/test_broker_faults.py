"""Broker faults while a real `hallq server` works through a burst (issue 10), with a real Mosquitto:
the hall's link cut by a TCP proxy the test controls, the broker stopped with SIGSTOP (shorter and
longer than the hall's keepalive), the broker SIGKILLed at several moments and restarted on its port.

The burst: a few thousand cheap kiosk `status` requests, then 60 windows' `call_next` at once, sent
pipelined (the hall commits and publishes while its link is down). Afterwards:
- a display subscriber whose own link stayed up got every `seq`, in order, with no gap; after a
  SIGKILL, every call still in the outbox at the kill arrives, and those after the restart in order;
- every display converges to the retained `board`;
- the outbox is empty soon after the reconnect (asserted loosely, printed);
- a kiosk's `status` round trip is as quick as before (p50, asserted within 3x, printed);
- SIGTERM ends the server with status 0.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from contract import topics
from contract.client import HallClient
from contract.mqtt_url import parse_url
from contract.transport import Message
from hall.config.schema import HallConfig, Window, load_config
from hall.store.store import db_path
from tests.fixtures.broker import Broker, default_conf, free_port, running_broker
from tests.fixtures.hall_server import HallServer, example_config, wait_for
from tests.fixtures.tcp_proxy import TcpProxy, tcp_proxy
from tests.hall.service.screen_model import Display, picture_of, retained_board

pytestmark = [pytest.mark.broker]

SITE = "prefecture"
WINDOWS = 60
KIOSKS = 4
CHEAP = 2000  # kiosk `status` requests ahead of the calls in each burst
KEEPALIVE = 5  # the hall's keepalive (the config's minimum): a SIGSTOP of 12 s outlasts it


def say(text: str) -> None:
    print(f"[broker faults] {text}", flush=True)


@pytest.fixture
def big_broker(tmp_path: Path) -> Iterator[Broker]:
    """Mosquitto as the tests' `broker`, but queueing up to 20000 messages per client: a burst of
    a few thousand requests must reach the hall whole (the default 1000 drops the rest)."""
    folder, port = tmp_path / "broker", free_port()
    folder.mkdir()
    conf = default_conf(port, folder) + "max_queued_messages 20000\nmax_inflight_messages 100\n"
    with running_broker(folder, conf, port=port) as running:
        yield running


def first_arrivals(seqs: list[int]) -> list[int]:
    """Each seq at its first arrival (a repeat of a seq shown is allowed by the contract)."""
    shown: set[int] = set()
    first = []
    for seq in seqs:
        if seq not in shown:
            shown.add(seq)
            first.append(seq)
    return first


class Load:
    """60 window terminals and 4 kiosks, each on its own connection straight to the broker; requests
    are sent pipelined and answers collected by id; unanswered ones are sent again (same id)."""

    def __init__(self, broker: Broker, config: HallConfig) -> None:
        self.address = parse_url(broker.url)
        self.config = config
        self.windows: list[Window] = []  # the played windows, chosen by set_up()
        self.lock = threading.Lock()
        self.answers: dict[str, dict[str, Any]] = {}
        self.sent: dict[str, tuple[HallClient, str, bytes]] = {}
        self.clients: dict[str, HallClient] = {}
        self.kiosks = [self._connect("kiosk", k.id) for k in config.kiosks[:KIOSKS]]
        self.ticket = ""

    def _connect(self, device_class: str, device_id: str) -> HallClient:
        client = HallClient.connect(self.address, SITE, device_class, device_id, wait=15)
        client.subscribe(topics.response(SITE, device_class, device_id), self._on_answer, wait=10)
        self.clients[device_id] = client
        return client

    def _on_answer(self, message: Message) -> None:
        answer = json.loads(message.payload)
        with self.lock:
            self.answers[str(answer.get("id"))] = answer

    def send(self, client: HallClient, request_id: str, op: str, **fields: Any) -> None:
        body = json.dumps({"v": 1, "id": request_id, "op": op, **fields}).encode()
        topic = topics.request(SITE, client.device_class, client.device_id)
        with self.lock:
            self.sent[request_id] = (client, topic, body)
        client.transport.publish(topic, body, qos=1)

    def answered(self, ids: list[str]) -> int:
        with self.lock:
            return sum(1 for i in ids if i in self.answers)

    def wait_answered(self, ids: list[str], timeout: float = 60.0, resend: float = 3.0) -> bool:
        """Until every id is answered, sending the unanswered again every `resend` s (a device
        retries; the hall answers a repeated id from its store)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if wait_for(lambda: self.answered(ids) == len(ids), resend):
                return True
            with self.lock:
                missing = [self.sent[i] for i in ids if i not in self.answers]
            for client, topic, body in missing:
                client.transport.publish(topic, body, qos=1)
        return self.answered(ids) == len(ids)

    def set_up(self, calls_per_window: int) -> None:
        """WINDOWS windows logged in, each with `calls_per_window` tickets of a service it serves
        first waiting (found by trying: some services need a booking or open later)."""
        chosen: dict[str, str] = {}
        candidates = {w.id: list(w.tiers[0]) for w in self.config.windows}
        while len(chosen) < WINDOWS and any(candidates.values()):
            tries = []
            for index, (window_id, services) in enumerate(candidates.items()):
                if window_id in chosen or not services:
                    continue
                tries.append((f"probe-{window_id}-{len(services)}", window_id, services.pop(0)))
                self.send(self.kiosks[index % KIOSKS], tries[-1][0], "issue", service=tries[-1][2])
            assert self.wait_answered([t[0] for t in tries], 60)
            for request_id, window_id, service in tries:
                if self.answers[request_id]["ok"]:
                    chosen[window_id] = service
                    self.ticket = self.ticket or self.answers[request_id]["result"]["ticket"]["id"]
        self.windows = [w for w in self.config.windows if w.id in chosen][:WINDOWS]
        assert len(self.windows) == WINDOWS
        ids = []
        for window in self.windows:
            ids.append(f"login-{window.id}")
            self.send(self._connect("window", window.id), ids[-1], "login", clerk=window.clerks[0])
        for n in range(calls_per_window - 1):
            for index, window in enumerate(self.windows):
                ids.append(f"issue-{n}-{window.id}")
                self.send(self.kiosks[index % KIOSKS], ids[-1], "issue", service=chosen[window.id])
        assert self.wait_answered(ids, 60)
        refused = [self.answers[i] for i in ids if not self.answers[i]["ok"]]
        assert not refused, refused[:3]

    def burst(self, tag: str) -> tuple[list[str], list[str]]:
        """CHEAP status requests from the kiosks, then every window's call_next: all pipelined."""
        cheap = [f"{tag}-s{n}" for n in range(CHEAP)]
        for n, request_id in enumerate(cheap):
            self.send(self.kiosks[n % KIOSKS], request_id, "status", ticket=self.ticket)
        calls = [f"{tag}-call-{w.id}" for w in self.windows]
        for window, request_id in zip(self.windows, calls, strict=True):
            self.send(self.clients[window.id], request_id, "call_next")
        return cheap, calls

    def status_p50(self, rounds: int = 40) -> float:
        """A kiosk's `status` round trip (request to answer), p50 in ms."""
        kiosk, times = self.kiosks[0], []
        for _ in range(rounds):
            started = time.perf_counter()
            kiosk.request("status", ticket=self.ticket, timeout=10)
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def pending_outbox(data: Path) -> list[int]:
    """The seq of every call in the hall's outbox (read-only, beside the running hall)."""
    with sqlite3.connect(f"file:{db_path(data)}?mode=ro", uri=True, timeout=10) as db:
        rows = db.execute("SELECT payload FROM outbox WHERE published = 0 ORDER BY id").fetchall()
    return [int(json.loads(bytes(row[0]))["seq"]) for row in rows]


def settled_outbox(data: Path, still: float = 2.0, timeout: float = 20.0) -> list[int]:
    """The outbox once it has not changed for `still` s (the hall's worker went through what it
    had and noted what was acknowledged)."""
    deadline = time.monotonic() + timeout
    last, since = pending_outbox(data), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < still:
        time.sleep(0.2)
        now = pending_outbox(data)
        if now != last:
            last, since = now, time.monotonic()
    return last


@dataclasses.dataclass
class Rig:
    broker: Broker
    proxy: TcpProxy
    hall: HallServer
    data: Path
    load: Load
    displays: list[Display]

    def onlines(self) -> int:
        return sum(1 for s in self.hall.status if s == b"online")

    def outbox_drains(self, fault_over: float, label: str) -> None:
        """The outbox empties soon after the hall's connection (through the proxy) that came
        once the fault was over."""
        assert wait_for(lambda: pending_outbox(self.data) == [], 30), pending_outbox(self.data)
        drained = time.monotonic()
        reconnected = max([fault_over, *self.proxy.accepted[-1:]])
        say(f"{label}: outbox empty {drained - reconnected:.2f} s after the reconnect")
        assert drained - reconnected < 15  # 5 s is the goal: bounds a hang only (loaded machine)

    def converge(self) -> int:
        """Every display shows the retained board; returns its seq. The board is read again until
        they agree: the hall's last round of retained state may follow the last answers and
        acknowledged calls by up to 150 ms (see docs/protocol.md, order and guarantees)."""
        deadline = time.monotonic() + 15
        while True:
            board = retained_board(self.broker, SITE)
            expected = picture_of(board)
            pictures = [display.picture() for display in self.displays]
            if all(picture == expected for picture in pictures):
                return int(board["seq"])
            assert time.monotonic() < deadline, ([p[:1] for p in pictures], expected[:1])
            time.sleep(0.2)


@pytest.fixture
def rig(big_broker: Broker, tmp_path: Path) -> Iterator[Rig]:
    """The hall (prefecture example, keepalive 5 s) behind a TCP proxy; displays and devices
    straight on the broker."""
    with ExitStack() as stack:
        proxy = stack.enter_context(tcp_proxy(big_broker.port))
        config_path = example_config("prefecture-hall", tmp_path, proxy.url)
        text = config_path.read_text("utf-8").replace("keepalive = 30", f"keepalive = {KEEPALIVE}")
        config_path.write_text(text, "utf-8")
        config = load_config(config_path)
        assert config.broker.keepalive == KEEPALIVE
        data = tmp_path / "data"
        hall = HallServer(
            big_broker.url, SITE, config_path, data, tmp_path / "hall.log", log_level="INFO"
        )
        stack.callback(hall.close)
        hall.start()
        displays = [Display(big_broker, SITE, f"display-{n}", keepalive=120) for n in range(2)]
        for display in displays:
            stack.callback(display.close)
        load = Load(big_broker, config)
        stack.callback(load.close)
        yield Rig(big_broker, proxy, hall, data, load, displays)
        say("hall log, last lines:\n" + (tmp_path / "hall.log").read_text(errors="replace")[-1500:])


def check_every_seq_in_order(rig: Rig, label: str) -> None:
    top = rig.converge()
    for display in rig.displays:
        first = first_arrivals(display.seen())
        assert first == list(range(1, top + 1)), f"{label}: {first[:5]}…{first[-5:]} (top {top})"
    say(f"{label}: seq 1..{top} arrived in order at {len(rig.displays)} displays")


def fault_during_burst(
    rig: Rig, tag: str, fault: Callable[[], None], when: Callable[[list[str]], bool]
) -> None:
    """Send a burst; when `when(cheap ids)` says so, apply `fault` (it returns once the fault is
    over); then every request is answered and the outbox drains after the hall's reconnect."""
    load, onlines = rig.load, rig.onlines()
    cheap, calls = load.burst(tag)
    assert wait_for(lambda: when(cheap), 30)
    answered_at_fault = load.answered(cheap)
    fault()
    fault_over = time.monotonic()
    held = len(pending_outbox(rig.data))
    assert wait_for(lambda: rig.onlines() > onlines, 60), "the hall did not reconnect"
    rig.outbox_drains(fault_over, f"{tag} ({held} calls unacknowledged when it ended)")
    assert load.wait_answered(calls + cheap, 90)  # requests lost with the link: sent again
    called = [load.answers[i] for i in calls]
    assert all(a["ok"] for a in called), [a for a in called if not a["ok"]][:3]
    say(f"{tag}: fault after {answered_at_fault}/{CHEAP} cheap answers; all answered")
    assert wait_for(lambda: pending_outbox(rig.data) == [], 30)


def after_bound(before: float) -> float:
    """What a kiosk's status round trip may cost after a fault, in ms. The fault this guards
    against added the worker's 100 ms back-off to every request for as long as the hall ran; a
    loaded 2-core machine (the figures are printed; bench/latency.py measures speed) moves the p50
    by a few tens of ms either way, so the bound is well below the fault and well above the noise."""
    return max(5 * before, before + 50)


def test_a_cut_of_the_halls_link_during_a_burst(rig: Rig) -> None:
    load = rig.load
    load.set_up(calls_per_window=2)
    before = load.status_p50()

    def cut() -> None:
        rig.proxy.cut()
        time.sleep(1.5)
        rig.proxy.resume()

    fault_during_burst(rig, "cut", cut, lambda cheap: load.answered(cheap) >= CHEAP // 2)
    check_every_seq_in_order(rig, "cut")
    after = load.status_p50()
    say(f"cut: kiosk status p50 {before:.2f} ms before, {after:.2f} ms after")
    assert after <= after_bound(before), (before, after)
    assert rig.hall.terminate() == 0


def sigstop(rig: Rig, seconds: float) -> Callable[[], None]:
    def stop() -> None:
        pid = rig.broker.process.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            os.kill(pid, signal.SIGCONT)

    return stop


def test_the_broker_stopped_shortly_during_a_burst(rig: Rig) -> None:
    load = rig.load
    load.set_up(calls_per_window=2)
    before = load.status_p50()
    onlines = rig.onlines()
    cheap, calls = load.burst("stop")
    assert wait_for(lambda: load.answered(cheap) >= 100, 30)
    sigstop(rig, 2.0)()  # shorter than the keepalive: the hall's link may survive it
    assert load.wait_answered(calls + cheap, 90)
    if rig.onlines() > onlines:
        say("short stop: the hall reconnected")
    assert wait_for(lambda: pending_outbox(rig.data) == [], 30)
    check_every_seq_in_order(rig, "short stop")
    after = load.status_p50()
    say(f"short stop: kiosk status p50 {before:.2f} ms before, {after:.2f} ms after")
    assert after <= after_bound(before), (before, after)
    assert rig.hall.terminate() == 0


@pytest.mark.slow
def test_the_broker_stopped_longer_than_the_keepalive(rig: Rig) -> None:
    load = rig.load
    load.set_up(calls_per_window=2)
    before = load.status_p50()
    fault_during_burst(
        rig, "long stop", sigstop(rig, 2.5 * KEEPALIVE), lambda c: load.answered(c) >= 100
    )
    check_every_seq_in_order(rig, "long stop")
    after = load.status_p50()
    say(f"long stop: kiosk status p50 {before:.2f} ms before, {after:.2f} ms after")
    assert after <= after_bound(before), (before, after)
    assert rig.hall.terminate() == 0


@pytest.mark.slow
def test_the_broker_killed_at_several_moments_loses_no_unacknowledged_call(rig: Rig) -> None:
    """The hall reaches the restarted broker through the proxy, resumed once the displays are
    back: so they listen when the hall sends again what the dead broker had not acknowledged."""
    load = rig.load
    load.set_up(calls_per_window=3)
    before = load.status_p50()
    moments: dict[str, Callable[[list[str], int], bool]] = {
        # the burst still in the broker: the hall has read none of it
        "before the hall read the burst": lambda cheap, top: True,
        # the hall is answering the cheap requests, the calls behind them
        "while it commits": lambda cheap, top: load.answered(cheap) >= CHEAP // 2,
        # the burst's first calls reached a display
        "while it publishes": lambda cheap, top: max(rig.displays[0].seen(), default=0) > top,
    }
    for number, (label, when) in enumerate(moments.items()):
        top = rig.converge()
        connects = [d.connects for d in rig.displays]
        onlines = rig.onlines()
        cheap, calls = load.burst(f"kill{number}")
        assert wait_for(lambda c=cheap, t=top, w=when: w(c, t), 30)  # type: ignore[misc]
        rig.broker.process.kill()
        rig.broker.process.wait(5)
        rig.proxy.cut()  # the hall comes back after the displays
        # What the broker acknowledged is marked in the outbox at the end of the hall's next
        # worker step; once the outbox stays as it is, what is left is what the dead broker had
        # not acknowledged (or what was committed after).
        unacknowledged = settled_outbox(rig.data)
        rig.broker.restart()
        for display, count in zip(rig.displays, connects, strict=True):
            assert wait_for(lambda d=display, n=count: d.connects > n, 30)  # type: ignore[misc]
        arrived_before = [len(d.seen()) for d in rig.displays]
        rig.proxy.resume()
        fault_over = time.monotonic()
        assert wait_for(lambda o=onlines: rig.onlines() > o, 60), "the hall did not reconnect"
        rig.outbox_drains(fault_over, label)
        assert load.wait_answered(calls + cheap, 90)  # what the dead broker held: sent again
        assert all(load.answers[i]["ok"] for i in calls)
        assert wait_for(lambda: pending_outbox(rig.data) == [], 30)
        final = rig.converge()
        for display, mark in zip(rig.displays, arrived_before, strict=True):
            seqs = display.seen()
            after = first_arrivals(seqs[mark:])
            # Sent again after the restart: every call the dead broker had not acknowledged.
            # (A call that reached a display before the kill may have been acknowledged by then,
            # its mark still to come when the outbox was read: not sent again, rightly.)
            missing = set(unacknowledged) - set(after) - set(seqs[:mark])
            assert not missing, (
                f"{label}: never sent again: {sorted(missing)[:10]} of {len(unacknowledged)}; "
                f"arrived before the kill: {sorted(missing & set(seqs[:mark]))[:10]}; "
                f"after: {after[:10]}"
            )
            assert after == list(range(after[0], final + 1)) if after else True, (label, after)
        say(
            f"{label}: {len(unacknowledged)} calls unacknowledged at the kill, all sent again; "
            f"seq {top + 1}..{final}"
        )
    after_p50 = load.status_p50()
    say(f"kills: kiosk status p50 {before:.2f} ms before, {after_p50:.2f} ms after")
    assert after_p50 <= after_bound(before), (before, after_p50)
    assert rig.hall.terminate() == 0
