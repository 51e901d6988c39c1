"""The rules through the hall service (in-memory loopback transport): an operator's `service` op and a
booking are visible at once on the retained `catalog` and `queues` every kiosk draws from."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from contract import topics
from contract.client import RequestRefused
from hall.store.clock import Clock, FixedClock, ScaledClock
from tests.fixtures.hall_server import wait_for
from tests.fixtures.halls import SITE, ZONE, rules_hall
from tests.hall.service.loopback_hall import LoopbackHall

START = datetime(2026, 11, 26, 9, 0, tzinfo=ZONE)  # a Thursday: the rules hall is open


class Hall(LoopbackHall):
    """The rules hall on the loopback bus, read through its retained catalog and queues."""

    def __init__(self, data: Path, clock: Clock | None = None) -> None:
        super().__init__(rules_hall(), data, clock or FixedClock(START), queues_interval=0.1)

    def catalog_service(self, code: str) -> dict[str, Any]:
        services = self.retained(topics.catalog(SITE))["services"]
        return next(s for s in services if s["code"] == code)

    def queue(self, code: str) -> dict[str, Any]:
        entry = self.retained(topics.queues(SITE))["services"][code]
        assert isinstance(entry, dict)
        return entry


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    running = Hall(tmp_path / "data")
    assert running.service.wait_idle()
    assert wait_for(lambda: topics.queues(SITE) in running.broker.retained)
    yield running
    running.close()


def test_an_operators_cap_and_closure_show_at_once(hall: Hall) -> None:
    operator = hall.client("operator", "op1")
    kiosk = hall.client("kiosk", "k1")
    assert hall.catalog_service("psb-hukou")["hours"][0] == {
        "days": "mon-fri",
        "from": "09:00",
        "to": "12:00",
    }
    kiosk.request("issue", service="psb-hukou")
    result = operator.request("service", service="psb-hukou", cap=1)
    assert result["service"]["cap"] == 1
    assert wait_for(lambda: hall.catalog_service("psb-hukou")["cap"] == 1)
    assert wait_for(lambda: hall.queue("psb-hukou")["reason"] == "quota_reached")
    with pytest.raises(RequestRefused) as refused:
        kiosk.request("issue", service="psb-hukou")
    assert refused.value.code == "quota_reached"
    operator.request("service", service="psb-hukou", open=False)
    assert wait_for(lambda: hall.catalog_service("psb-hukou")["open"] is False)
    assert wait_for(
        lambda: hall.queue("psb-hukou") == {**hall.queue("psb-hukou"), "reason": "closed"}
    )
    operator.request("service", service="psb-hukou", open=True, cap=None)
    assert wait_for(lambda: hall.queue("psb-hukou")["can_issue"] is True)
    assert hall.catalog_service("psb-hukou")["cap"] is None


def test_a_booking_over_the_service(hall: Hall) -> None:
    operator = hall.client("operator", "op1")
    kiosk = hall.client("kiosk", "k2")
    assert hall.queue("tax-audit")["reason"] == "appointment_only"
    added = operator.request(
        "booking_add", code="Q7", service="tax-audit", day="2026-11-26", slot="09:00"
    )
    assert added["booking"]["ticket"] is None and added["changed"] is True
    ticket = kiosk.request("issue", service="tax-audit", appointment="q7")["ticket"]
    with pytest.raises(RequestRefused) as refused:
        kiosk.request("issue", service="tax-audit", appointment="Q7")
    assert refused.value.code == "booking_used"
    assert wait_for(lambda: hall.queue("tax-audit")["waiting"] == 1)
    assert ticket["number"] == "B001"


def test_reaching_a_caps_warning_level_and_the_cap_raises_alarms(hall: Hall) -> None:
    alarms: list[dict[str, Any]] = []
    watcher = hall.client("display", "d1")
    watcher.subscribe_json(topics.alarm(SITE), lambda _topic, body: alarms.append(body or {}))
    kiosk = hall.client("kiosk", "k1")
    kiosk.request("issue", service="tax-invoice")  # cap 3, warning at 2
    kiosk.request("issue", service="tax-invoice")
    assert wait_for(lambda: len(alarms) == 1)
    assert alarms[0]["kind"] == "quota" and alarms[0]["subject"] == "tax-invoice"
    assert alarms[0]["severity"] == "warn" and alarms[0]["cleared"] is False
    kiosk.request("issue", service="tax-invoice")
    # The warning's alarm is cleared under its id, the cap's opens under a new one.
    assert wait_for(lambda: len(alarms) == 3)
    assert alarms[1] == {**alarms[0], "cleared": True, "at": alarms[1]["at"]}
    assert alarms[2]["severity"] == "critical" and "3/3" in alarms[2]["text"]
    assert alarms[2]["cleared"] is False and alarms[2]["id"] != alarms[0]["id"]
    # Raising the cap clears it (issue 19: quota alarms clear), once; 3 issued is still past
    # the warning level (2), so that alarm opens again.
    hall.client("operator", "op1").request("service", service="tax-invoice", cap=10)
    assert wait_for(lambda: len(alarms) == 5)
    assert alarms[3]["id"] == alarms[2]["id"] and alarms[3]["cleared"] is True
    assert alarms[4]["severity"] == "warn" and alarms[4]["cleared"] is False
    assert [a.id for a in hall.service.open_alarms()] == [alarms[4]["id"]]


def test_a_quota_alarm_clears_at_the_rollover(tmp_path: Path) -> None:
    clock = FixedClock(START)
    hall = Hall(tmp_path / "data", clock)
    try:
        alarms: list[dict[str, Any]] = []
        watcher = hall.client("display", "d1")
        watcher.subscribe_json(topics.alarm(SITE), lambda _t, body: alarms.append(body or {}))
        kiosk = hall.client("kiosk", "k1")
        for _ in range(3):
            kiosk.request("issue", service="tax-invoice")
        assert wait_for(lambda: any(a["severity"] == "critical" for a in alarms))
        reached = next(a for a in alarms if a["severity"] == "critical")
        clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=ZONE))  # the next business day
        assert wait_for(lambda: {**reached, "cleared": True, "at": alarms[-1]["at"]} in alarms)
        assert wait_for(lambda: hall.service.open_alarms() == [])
        assert [a["id"] for a in alarms].count(reached["id"]) == 2  # raised once, cleared once
    finally:
        hall.close()


def test_queues_follow_a_service_closing_on_a_fast_clock(tmp_path: Path) -> None:
    # 11:59:58 at x10: psb-hukou closes at 12:00, two hall seconds (0.2 s) later. Without a publish
    # scheduled at that edge `queues` would say it can issue for the next minute of real time.
    clock = ScaledClock(datetime(2026, 11, 26, 11, 59, 58, tzinfo=ZONE), speed=10)
    hall = Hall(tmp_path / "data", clock)
    try:
        assert wait_for(lambda: topics.queues(SITE) in hall.broker.retained)
        assert hall.queue("psb-hukou")["can_issue"] is True
        assert wait_for(lambda: hall.queue("psb-hukou")["reason"] == "outside_hours", 3)
    finally:
        hall.close()
