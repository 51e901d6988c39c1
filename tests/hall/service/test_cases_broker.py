"""The retained `cases` (issue 21) from a real `hallq server` through a real Mosquitto: a case
accepted just before the 03:00 rollover (still the day before's business day) turns red at the
rollover, an operator closes it, and a restarted hall republishes the list at its reconnect."""

from __future__ import annotations

import queue
from pathlib import Path

import pytest

from contract import messages, topics
from contract.client import HallClient
from contract.mqtt_url import parse_url
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import HallServer, to_toml
from tests.fixtures.halls import ALWAYS_OPEN, SITE, small_hall_data

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]

# Friday 02:59:00 at 4x, still Thursday's business day: the rollover comes 15 real seconds later.
CLOCK = "2026-11-27T02:59:00+08:00"
SPEED = 4.0


def test_cases_follow_the_date_a_close_and_a_reconnect(broker: Broker, tmp_path: Path) -> None:
    data = small_hall_data()
    data["calendar"] = ALWAYS_OPEN  # open at night; every day a working day
    data["broker"] = {"url": broker.url}
    config = tmp_path / "hall.toml"
    config.write_text(to_toml(data), encoding="utf-8")
    server = HallServer(
        broker.url, SITE, config, tmp_path / "data", tmp_path / "hall.log", clock=CLOCK, speed=SPEED
    )
    address = parse_url(broker.url)
    seen: queue.Queue[messages.Cases] = queue.Queue()

    def next_cases(predicate: object, timeout: float = 30.0) -> messages.Cases:
        """The first `cases` message that satisfies the predicate (older ones are dropped)."""
        assert callable(predicate)
        while True:
            message = seen.get(timeout=timeout)
            if predicate(message):
                return message

    try:
        server.start()
        with (
            HallClient.connect(address, SITE, "operator", "op1") as operator,
            HallClient.connect(address, SITE, "window", "w02") as window,
            HallClient.connect(address, SITE, "kiosk", "k1") as kiosk,
        ):
            operator.subscribe(
                topics.cases(SITE), lambda m: seen.put(messages.parse("cases", m.payload))
            )
            first = next_cases(lambda c: True)
            assert first.cases == () and first.day == "2026-11-26"

            window.request("login", clerk="c0201")
            ticket = kiosk.request("issue", service="psb-id-card")["ticket"]["id"]
            window.request("call_next")
            window.request("finish", outcome="accepted")  # promised in 0 days: due today
            accepted = next_cases(lambda c: len(c.cases) == 1)
            (case,) = accepted.cases
            assert (case.id, case.due, case.state) == (ticket, "2026-11-26", "near")
            assert accepted.departments["psb"].near == 1

            # 03:00: the business day changes (the rollover), the case is overdue.
            red = next_cases(lambda c: c.day == "2026-11-27")
            assert [(c.id, c.state, c.days_left) for c in red.cases] == [(ticket, "overdue", -1)]
            assert red.counts.overdue == 1

            result = operator.request("close_case", case=ticket, note="已办结")
            assert result["case"]["state"] == "overdue"
            assert next_cases(lambda c: c.cases == ()).counts.overdue == 0

            # Accept another, restart the hall: its reconnect republishes the list.
            window.request("login", clerk="c0201")  # the rollover logged the clerk out
            second = kiosk.request("issue", service="psb-id-card")["ticket"]["id"]
            window.request("call_next")
            window.request("finish", outcome="accepted")
            before = next_cases(lambda c: [x.id for x in c.cases] == [second])
            server.kill()
            server.start()
            again = next_cases(lambda c: c.at > before.at)  # sent by the restarted hall
            assert [(x.id, x.state) for x in again.cases] == [(second, "near")]
    finally:
        server.close()
