"""The monitoring room's alarms (issue 19) on an injected clock: each fires once when its condition
starts, clears once when it ends, keeps its id across a restart of the hall, and reaches a monitor
started after it fired (the retained `alarms`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from contract import messages, topics
from contract.client import RequestRefused
from hall.config.schema import HallConfig, parse_config
from hall.store.clock import FixedClock
from hall.store.core import HallCore, Incoming, Outcome
from tests.fixtures.hall_server import wait_for
from tests.fixtures.halls import ALWAYS_OPEN, MORNING, SITE, small_hall_data
from tests.hall.service.loopback_hall import LoopbackHall


def alarm_hall(**alarms: Any) -> HallConfig:
    """The small hall, open around the clock, with an `[alarms]` section."""
    return parse_config(
        {**small_hall_data(), "calendar": ALWAYS_OPEN, "alarms": alarms}, "alarm_hall"
    )


class Hall:
    """A HallCore on a fixed clock, driven request by request and tick by tick."""

    def __init__(self, config: HallConfig, data: Path, clock: FixedClock | None = None) -> None:
        self.config, self.data = config, data
        self.clock = clock or FixedClock(MORNING)
        self.core = HallCore(config, data, self.clock)
        self.requests = 0

    def send(self, device_class: str, device: str, op: str, **fields: Any) -> dict[str, Any]:
        self.requests += 1
        payload = json.dumps({"v": 1, "id": f"r{self.requests}", "op": op, **fields}).encode()
        outcome = self.core.execute([Incoming(device_class, device, payload)])
        answer: dict[str, Any] = json.loads(outcome.replies[0].payload)
        self.sent = [json.loads(a) for a in outcome.alarms]
        return answer

    def ok(self, device_class: str, device: str, op: str, **fields: Any) -> dict[str, Any]:
        answer = self.send(device_class, device, op, **fields)
        assert answer["ok"], answer
        result: dict[str, Any] = answer["result"]
        return result

    def tick(self, **later: float) -> list[dict[str, Any]]:
        """Move the clock on, run the timers: the `alarm` messages they committed."""
        if later:
            self.clock.advance(timedelta(**later))
        outcome: Outcome = self.core.tick()
        return [json.loads(a) for a in outcome.alarms]

    def ts(self) -> int:
        return int(self.clock.now().timestamp())

    def open(self) -> dict[str, str]:
        """Open alarms: id -> kind."""
        return {a.id: a.kind for a in self.core.open_alarms()}

    def restart(self) -> None:
        self.core.close()
        self.core = HallCore(self.config, self.data, self.clock)


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Any]:
    halls: list[Hall] = []

    def build(**alarms: Any) -> Hall:
        hall = Hall(alarm_hall(**alarms), tmp_path / f"data{len(halls)}")
        halls.append(hall)
        return hall

    yield build
    for hall in halls:
        hall.core.close()


def issue(hall: Hall, service: str = "psb-id-card", count: int = 1) -> None:
    for _ in range(count):
        hall.ok("kiosk", "k1", "issue", service=service)


def test_queue_long_fires_once_and_clears_once(make: Any) -> None:
    hall = make(queue_long=2)
    issue(hall, count=2)
    raised = hall.tick()
    assert [(a["kind"], a["subject"], a["cleared"]) for a in raised] == [
        ("queue_long", "psb", False)
    ]
    assert hall.tick(seconds=1) == [] and hall.tick(minutes=5) == []  # once
    hall.ok("window", "w02", "login", clerk="c0201")
    hall.ok("window", "w02", "call_next")
    cleared = hall.tick(seconds=1)
    assert cleared == [{**raised[0], "cleared": True, "at": cleared[0]["at"]}]
    assert hall.tick(seconds=1) == [] and hall.open() == {}


def test_a_departments_own_wait_threshold_and_the_alarms_at(make: Any) -> None:
    hall = make(wait_long_min=30, departments=[{"department": "psb", "wait_long_min": 10}])
    issue(hall)  # psb, at 09:00
    issue(hall, "tax-invoice")
    assert hall.tick(minutes=9) == []
    raised = hall.tick(minutes=2)
    assert [(a["kind"], a["subject"]) for a in raised] == [("wait_long", "psb")]
    assert raised[0]["at"] == "2026-11-26T09:10:00+08:00"  # when the wait reached 10 min
    assert [a["subject"] for a in hall.tick(minutes=20)] == ["tax"]


def test_a_window_paused_too_long_and_one_idle_while_people_wait(make: Any) -> None:
    hall = make(paused_max_min=20, idle_max_min=10)
    hall.ok("window", "w01", "login", clerk="c0101", pin="1234")
    hall.ok("window", "w01", "pause", reason="午休")
    hall.ok("window", "w02", "login", clerk="c0201")
    assert hall.tick(minutes=9) == []  # w02 is open but no one waits
    issue(hall)
    assert hall.tick(minutes=9) == []  # open for 18 min, but the visitor waits since 09:09
    idle = hall.tick(minutes=1)
    assert [(a["kind"], a["subject"]) for a in idle] == [("window_idle", "w02")]
    paused = hall.tick(minutes=5)
    assert [(a["kind"], a["subject"]) for a in paused] == [("window_paused", "w01")]
    assert "午休" in paused[0]["text"]
    hall.ok("window", "w02", "call_next")
    assert [(a["id"], a["cleared"]) for a in hall.tick(seconds=1)] == [(idle[0]["id"], True)]
    hall.ok("window", "w01", "resume")
    assert [(a["id"], a["cleared"]) for a in hall.tick(seconds=1)] == [(paused[0]["id"], True)]


def test_device_offline_and_faults_from_status_and_health(make: Any) -> None:
    hall = make(device_grace_s=60)
    watch = hall.core.devices
    for device in ("k1", "k2", "d1"):
        watch.status(device, b"online", hall.ts())
    watch.status("k1", b"offline", hall.ts())  # its last will
    offline = hall.tick(seconds=1)
    assert [(a["kind"], a["subject"], a["severity"]) for a in offline] == [
        ("device_offline", "k1", "critical")
    ]
    watch.status("k1", b"online", hall.ts())
    assert [(a["id"], a["cleared"]) for a in hall.tick(seconds=1)] == [(offline[0]["id"], True)]
    health = messages.Health(state="paper_near_end", detail=None, at="2026-11-26T09:00:00+08:00")
    watch.health("k1", health.to_bytes(), hall.ts())
    near = hall.tick(seconds=1)
    assert [(a["kind"], a["severity"]) for a in near] == [("device_fault", "warn")]
    out = messages.Health(state="paper_out", detail=None, at="2026-11-26T09:00:00+08:00")
    watch.health("k1", out.to_bytes(), hall.ts())
    worse = hall.tick(seconds=1)  # another fault: the warning clears, a critical one opens
    assert [(a["id"] == near[0]["id"], a["cleared"], a["severity"]) for a in worse] == [
        (True, True, "warn"),
        (False, False, "critical"),
    ]
    assert "paper_out" in worse[1]["text"]
    ready = messages.Health(state="ready", detail=None, at="2026-11-26T09:00:00+08:00")
    watch.health("k1", ready.to_bytes(), hall.ts())
    assert [(a["id"], a["cleared"]) for a in hall.tick(seconds=1)] == [(worse[1]["id"], True)]
    # A device of the config never heard from: offline after the grace; an operator never is.
    assert not watch.status("nobody", b"offline", hall.ts())  # not in the config: ignored
    assert not watch.status("w01", b"offline", hall.ts())  # a window terminal: the staff's
    silent = messages.Health(state="ok", detail=None, at="2026-11-26T09:00:00+08:00")
    watch.health("k2", silent.to_bytes(), hall.ts())
    assert hall.tick(seconds=30) == []
    assert hall.tick(seconds=60) == []  # k1, k2 and d1 are online; no bridge or announcer
    watch.status("d1", b"offline", hall.ts())
    assert [a["subject"] for a in hall.tick(seconds=1)] == ["d1"]


def test_a_device_never_heard_from_is_offline_after_the_grace(make: Any) -> None:
    hall = make(device_grace_s=60)
    assert hall.tick(seconds=59) == []
    late = hall.tick(seconds=2)
    assert sorted(a["subject"] for a in late) == ["d1", "k1", "k2"]
    assert {a["at"] for a in late} == {"2026-11-26T09:01:00+08:00"}


def test_open_alarms_keep_their_ids_across_a_restart(make: Any) -> None:
    hall = make(queue_long=1)
    issue(hall)
    hall.core.devices.status("k2", b"offline", hall.ts())
    first = hall.tick(seconds=1)
    help_id = hall.ok("kiosk", "k1", "help")["alarm"]
    before = hall.open()
    assert sorted(before.values()) == ["device_offline", "kiosk_help", "queue_long"]
    assert help_id in before and {a["id"] for a in first} < before.keys()
    hall.restart()
    assert hall.open() == before
    # Its retained status is not here yet: k2's alarm stands; then it comes, and nothing repeats.
    assert hall.tick(seconds=1) == []
    hall.core.devices.status("k2", b"offline", hall.ts())
    assert hall.tick(seconds=1) == []
    assert hall.ok("kiosk", "k1", "help")["alarm"] == help_id  # once is enough
    hall.core.devices.status("k2", b"online", hall.ts())
    gone = hall.tick(seconds=1)
    assert [(a["kind"], a["cleared"]) for a in gone] == [("device_offline", True)]
    assert gone[0]["id"] in before
    # New alarms after the restart never reuse an id.
    hall.core.devices.status("k2", b"offline", hall.ts())
    again = hall.tick(seconds=1)
    assert again[0]["id"] not in before


def test_alarms_are_in_snapshots(tmp_path: Path) -> None:
    config = alarm_hall(queue_long=1)
    hall = Hall(config, tmp_path / "data")
    hall.core.snapshot_every = 1
    issue(hall)
    hall.tick(seconds=1)
    hall.ok("operator", "op1", "alarm_ack", alarm=next(iter(hall.open())))
    before = hall.core.open_alarms()
    hall.restart()
    assert hall.core.open_alarms() == before and before[0].acked is not None
    hall.core.close()


def test_a_bad_rating_raises_an_alarm_closed_with_a_note(make: Any) -> None:
    hall = make()
    issue(hall, count=2)
    hall.ok("window", "w02", "login", clerk="c0201")
    hall.ok("window", "w02", "call_next")
    ticket = hall.ok("window", "w02", "finish")["ticket"]["id"]
    hall.ok("evaluator", "e02", "rate", ticket=ticket, score=4)
    assert hall.sent == [] and hall.open() == {}
    hall.ok("window", "w02", "call_next")
    second = hall.ok("window", "w02", "finish")["ticket"]
    hall.ok("evaluator", "e02", "rate", ticket=second["id"], score=2)
    [raised] = hall.sent
    assert (raised["kind"], raised["subject"], raised["cleared"]) == (
        "bad_rating",
        second["id"],
        False,
    )
    assert "不满意" in raised["text"] and second["number"] in raised["text"]
    acked = hall.ok("operator", "op1", "alarm_ack", alarm=raised["id"])["alarm"]
    assert acked["acked"]["by"] == "op1"
    refused = hall.send("operator", "op1", "alarm_ack", alarm=raised["id"])
    assert refused["error"]["code"] == "invalid_transition"
    hall.ok("operator", "op1", "alarm_note", alarm=raised["id"], text="已回访")
    hall.restart()  # the ack and the note are replayed
    [kept] = hall.core.open_alarms()
    assert kept.acked is not None and [n.text for n in kept.notes] == ["已回访"]
    closed = hall.ok(
        "operator", "op1", "alarm_note", alarm=raised["id"], text="已致歉，结案", close=True
    )
    assert [n["text"] for n in closed["alarm"]["notes"]] == ["已回访", "已致歉，结案"]
    assert [(a["id"], a["cleared"]) for a in hall.sent] == [(raised["id"], True)]
    assert hall.open() == {}
    types = [e["type"] for _, _, e in hall.core.store.events()]
    assert types.count("alarm_raised") == 1 and types.count("alarm_cleared") == 1
    assert types.count("alarm_acked") == 1 and types.count("alarm_noted") == 2
    gone = hall.send("operator", "op1", "alarm_note", alarm=raised["id"], text="again")
    assert gone["error"]["code"] == "unknown_alarm"


def test_a_kiosks_call_for_help(make: Any) -> None:
    hall = make(queue_long=1)
    alarm_id = hall.ok("kiosk", "k1", "help")["alarm"]
    [raised] = hall.sent
    assert (raised["id"], raised["kind"], raised["subject"]) == (alarm_id, "kiosk_help", "k1")
    assert hall.ok("kiosk", "k1", "help")["alarm"] == alarm_id and hall.sent == []
    assert hall.ok("kiosk", "k2", "help")["alarm"] != alarm_id
    issue(hall)
    queue_id = next(a["id"] for a in hall.tick(seconds=1))
    refused = hall.send("operator", "op1", "alarm_note", alarm=queue_id, text="x", close=True)
    assert refused["error"]["code"] == "invalid_transition"  # it clears with its condition
    empty = hall.send("operator", "op1", "alarm_note", alarm=alarm_id, text=" ")
    assert empty["error"]["code"] == "invalid_request"
    hall.ok("operator", "op1", "alarm_note", alarm=alarm_id, text="已协助取号", close=True)
    assert alarm_id not in hall.open() and queue_id in hall.open()


def test_a_monitor_started_later_sees_every_open_alarm(tmp_path: Path) -> None:
    config = alarm_hall(queue_long=1)
    hall = LoopbackHall(config, tmp_path / "data", FixedClock(MORNING), queues_interval=0.1)
    try:
        kiosk = hall.client("kiosk", "k1")
        alarm_id = kiosk.request("help")["alarm"]
        kiosk.request("issue", service="psb-id-card")
        assert wait_for(lambda: len(hall.service.open_alarms()) == 2)
        monitor = hall.client("operator", "op1")  # started after they fired
        seen: list[messages.Alarms] = []
        monitor.subscribe_json(
            topics.alarms(SITE), lambda _t, body: seen.append(messages.Alarms.from_json(body))
        )

        def open_ids() -> list[str]:
            return [a.id for a in seen[-1].alarms] if seen else []

        assert wait_for(lambda: len(open_ids()) == 2 and open_ids()[-1] == alarm_id)
        monitor.request("alarm_ack", alarm=alarm_id)
        assert wait_for(lambda: seen[-1].alarms[-1].acked is not None)
        with pytest.raises(RequestRefused) as refused:
            monitor.request("alarm_ack", alarm="quota-999")
        assert refused.value.code == "unknown_alarm"
        monitor.request("alarm_note", alarm=alarm_id, text="已处理", close=True)
        assert wait_for(lambda: alarm_id not in open_ids() and len(open_ids()) == 1)
    finally:
        hall.close()


def test_a_device_stopping_raises_its_alarm_through_the_service(tmp_path: Path) -> None:
    config = alarm_hall()
    hall = LoopbackHall(config, tmp_path / "data", FixedClock(MORNING), queues_interval=0.1)
    try:
        got: list[dict[str, Any]] = []
        watcher = hall.client("operator", "op1")
        watcher.subscribe_json(topics.alarm(SITE), lambda _t, body: got.append(body or {}))
        display = hall.client("display", "d1")
        display.close()  # says offline, as its last will would
        assert wait_for(
            lambda: [(a["kind"], a["subject"]) for a in got] == [("device_offline", "d1")]
        )
        assert [a.subject for a in hall.service.open_alarms()] == ["d1"]
    finally:
        hall.close()


def test_the_config_refuses_an_unknown_department_in_alarms() -> None:
    from hall.config.schema import ConfigError

    with pytest.raises(ConfigError, match=r"alarms.departments\[0\].department: unknown"):
        alarm_hall(departments=[{"department": "psx", "queue_long": 3}])


def test_the_alarm_ids_and_times(make: Any) -> None:
    hall = make()
    hall.clock.set(datetime(2026, 11, 26, 10, 0, tzinfo=MORNING.tzinfo))
    alarm_id = hall.ok("kiosk", "k2", "help")["alarm"]
    assert alarm_id == "kiosk_help-1" and hall.sent[0]["at"] == "2026-11-26T10:00:00+08:00"


def test_what_the_first_tick_after_a_restart_raises_is_sent(make: Any) -> None:
    hall = make(paused_max_min=15)
    hall.ok("window", "w02", "login", clerk="c0201")
    hall.ok("window", "w02", "pause")
    hall.core.close()
    hall.clock.advance(timedelta(minutes=20))  # the hall was down while the window stayed paused
    hall.core = HallCore(hall.config, hall.data, hall.clock)
    [raised] = [json.loads(a) for a in hall.core.opening_alarms]
    assert (raised["kind"], raised["subject"], raised["cleared"]) == ("window_paused", "w02", False)
    assert raised["at"] == "2026-11-26T09:15:00+08:00"
