"""A simulated day of the prefecture example hall at 600x, checked from the store's event log.

A real `hallq server` on a scaled clock (08:00 to 17:15 hall time: every opening and closing edge of
a weekday, 09:00, 12:00, 13:30, 17:00), a real Mosquitto, traffic from `hallq simulate` (16 windows of
the public security and tax departments, their visitors), bookings sent with `hallq bookings import`,
check-ins at a kiosk and an operator's cap driven from here through hall/client.py at given hall
times. Afterwards the event log must show: no ticket issued outside its service's hours, no walk-in
past a cap, and every checked-in booking called before any walk-in of its service from its slot on.

About 60 s of wall time; marked `broker` (it needs Mosquitto, which CI installs: there it fails
instead of skipping). Not `slow`: it is the acceptance test of the hall's rules and always runs.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

import pytest

from contract import topics
from contract.client import HallClient, RequestRefused
from contract.hall_clock import HallClock
from contract.mqtt_url import parse_url
from hall.config.schema import HallConfig, load_config
from hall.store.store import db_path
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import EXAMPLES, HallServer, example_config
from tests.fixtures.halls import ZONE

pytestmark = [pytest.mark.broker, pytest.mark.timeout(240)]

PREFECTURE = EXAMPLES / "prefecture-hall.toml"
SPEED = 600
# A Thursday. An hour before the doors open: at 600x the server's start, the import and the
# simulator's start take a few real seconds, tens of hall minutes on a loaded machine.
START = datetime(2026, 11, 26, 8, 0, tzinfo=ZONE)
HOURS = 9.25  # to 17:15
SITE = "prefecture"
CAPPED = "psb-hukou-move-in"  # the operator caps it low for the day: the simulated kiosks meet it
CAP = 4

BOOKINGS = [  # code, service, day, slot
    ("AP1", "psb-id-card-apply", "2026-11-26", "09:20"),
    ("AP2", "psb-id-card-apply", "2026-11-26", "09:40"),
    ("AP3", "tax-invoice-claim", "2026-11-26", "10:00"),
    ("AP4", "psb-foreigner-residence", "2026-11-26", "10:30"),  # appointment only
    ("AP5", "tax-export-refund", "2026-11-26", "14:00"),  # afternoon only
    ("AP6", "psb-id-card-renew", "2026-11-26", "15:00"),
    ("AP7", "psb-hukou-move-out", "2026-11-27", "09:30"),  # tomorrow's
]
# (hall time, service, booking code or None, the answer expected: "ok" or an error code)
SCRIPT = [
    ("08:50", "psb-id-card-apply", "AP1", "outside_hours"),
    ("09:05", "psb-id-card-apply", "AP1", "ok"),  # before its slot
    ("09:06", "psb-id-card-apply", "AP1", "booking_used"),  # checked in twice
    ("09:07", "psb-hukou-move-out", "AP7", "booking_wrong_day"),
    ("09:08", "psb-id-card-apply", "NOPE", "unknown_booking"),
    ("09:45", "psb-id-card-apply", "AP2", "ok"),  # after its slot
    ("09:50", "tax-invoice-claim", "AP3", "ok"),
    ("10:35", "psb-foreigner-residence", "AP4", "ok"),
    ("11:00", "psb-foreigner-residence", None, "appointment_required"),
    ("12:10", "tax-export-refund", "AP5", "outside_hours"),  # lunch
    ("13:35", "tax-export-refund", "AP5", "ok"),
    ("15:10", "psb-id-card-renew", "AP6", "ok"),
]


def hallq(*args: str) -> list[str]:
    return [sys.executable, "-m", "hallq", *args]


def hall_time(hhmm: str) -> datetime:
    return datetime.combine(START.date(), dtime.fromisoformat(hhmm), tzinfo=ZONE)


@dataclass
class Driver:
    """The check-ins and the operator's cap, at their hall times, in a thread of the test."""

    config: HallConfig
    url: str
    clock: HallClock
    answers: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    error: BaseException | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _run(self) -> None:
        address = parse_url(self.url)
        kiosk = HallClient.connect(address, SITE, "kiosk", "k06", client_id="rules-day-k06")
        operator = HallClient.connect(
            address, SITE, "operator", "op-monitor-2", client_id="rules-day-op"
        )
        with kiosk, operator:
            result = operator.request("service", service=CAPPED, cap=CAP)
            assert result["service"]["cap"] == CAP
            for at, service, code, _expected in SCRIPT:
                if not self.clock.sleep_until(hall_time(at), self.stop):
                    return
                fields: dict[str, Any] = {"service": service}
                if code is not None:
                    fields["appointment"] = code
                try:
                    kiosk.request("issue", timeout=3.0, **fields)
                    got = "ok"
                except RequestRefused as refused:
                    got = refused.code
                self.answers.append((at, service, code, got))


@pytest.fixture
def day(broker: Broker, tmp_path: Path) -> Iterator[tuple[Path, Path, Driver, str, int]]:
    config_path = example_config("prefecture-hall", tmp_path, broker.url)
    config = load_config(config_path)
    data = tmp_path / "data"
    server = HallServer(
        broker.url,
        SITE,
        config_path,
        data,
        tmp_path / "hall.log",
        clock=START.isoformat(),
        speed=SPEED,
        log_level="WARNING",
    )
    clock = HallClock(ZONE)
    watcher = HallClient.connect(parse_url(broker.url), SITE, "display", "rules-day-watch")
    stop = threading.Event()
    try:
        server.start()
        watcher.subscribe_json(topics.clock(SITE), clock.on_clock)
        assert clock.wait_received(20), (tmp_path / "hall.log").read_text(errors="replace")
        # The bookings arrive before the doors open, through the import command.
        csv_path = tmp_path / "bookings.csv"
        rows = ["code,service,day,slot,name"] + [f"{c},{s},{d},{t},访客" for c, s, d, t in BOOKINGS]
        csv_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        imported = subprocess.run(
            hallq("bookings", "import", str(csv_path), "--config", str(config_path)),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert imported.returncode == 0, imported.stderr
        assert f"{len(BOOKINGS)} added" in imported.stdout
        driver = Driver(config, broker.url, clock, stop=stop)
        thread = threading.Thread(target=driver.run, name="rules-day-driver")
        thread.start()
        sim = subprocess.run(
            hallq(
                "simulate", "--config", str(config_path), "--url", broker.url,
                "--hours", str(HOURS - 0.1), "--windows", "16", "--seed", "11",
                "--speed-from-hall", "--quiet",
            ),
            capture_output=True,
            text=True,
            timeout=200,
        )  # fmt: skip
        driver.stop.set()
        thread.join(30)
        code = server.terminate(timeout=20)
        yield data, tmp_path / "hall.log", driver, sim.stdout + sim.stderr, code
    finally:
        stop.set()  # the driver thread ends whatever happened
        watcher.close()
        server.close()


def events_of(data: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db_path(data)) as db:
        rows = db.execute("SELECT type, body FROM events ORDER BY id").fetchall()
    return [{**json.loads(body), "type": kind} for kind, body in rows]


def refusals_of(data: Path) -> Counter[str]:
    with sqlite3.connect(db_path(data)) as db:
        rows = db.execute("SELECT answer FROM answers").fetchall()
    codes: Counter[str] = Counter()
    for (answer,) in rows:
        body = json.loads(answer)
        if not body.get("ok"):
            codes[body["error"]["code"]] += 1
    return codes


def open_now(config: HallConfig, service: str, at: datetime) -> bool:
    """Independent of hall/engine/rules.py: a Thursday that is no holiday, so the spans naming thu."""
    spans = config.hours_of(service)
    moment = at.astimezone(ZONE).time()
    return any("mon-fri" in s.days and s.start <= moment < s.end for s in spans)


def test_a_day_at_600x_keeps_the_hours_the_caps_and_the_bookings(
    day: tuple[Path, Path, Driver, str, int],
) -> None:
    data, log, driver, sim_output, server_code = day
    assert driver.error is None, repr(driver.error)
    assert server_code == 0, log.read_text(errors="replace")[-3000:]
    config = load_config(PREFECTURE)
    # The scripted check-ins got the answers of the rules.
    assert [(a[0], a[3]) for a in driver.answers] == [(s[0], s[3]) for s in SCRIPT], sim_output
    events = events_of(data)
    issued = [e for e in events if e["type"] == "ticket_issued"]
    assert len(issued) > 100, sim_output

    # 1. No ticket outside hours, and tickets in both spans of the day.
    outside = [
        e for e in issued if not open_now(config, e["service"], datetime.fromisoformat(e["at"]))
    ]
    assert outside == []
    times = [datetime.fromisoformat(e["at"]).astimezone(ZONE).time() for e in issued]
    assert min(times) >= dtime(9) and max(times) < dtime(17)
    assert any(t < dtime(12) for t in times) and any(t >= dtime(13, 30) for t in times)
    refusals = refusals_of(data)
    assert refusals["outside_hours"] > 0  # the simulated kiosks met the closed hours

    # 2. No walk-in past the cap in force (the config's, or the operator's for the day).
    caps = {s.code: s.cap for s in config.services}
    counts: Counter[str] = Counter()
    over = []
    for event in events:
        if event["type"] == "service_changed":
            caps[event["service"]] = (
                event["cap"] if event["cap"] is not None else config.service(event["service"]).cap  # type: ignore[union-attr]
            )
        elif event["type"] == "ticket_issued":
            cap = caps.get(event["service"])
            if event["appointment"] is None and cap is not None and counts[event["service"]] >= cap:
                over.append(event)
            counts[event["service"]] += 1
    assert over == []
    assert counts[CAPPED] >= CAP and refusals["quota_reached"] > 0, (counts, refusals)
    reached = [e for e in events if e["type"] == "quota_warning" and e["service"] == CAPPED]
    assert [e["level"] for e in reached] == ["reached"]

    # 3. Every checked-in booking is called, and before every walk-in of its service from its slot
    # (or its check-in, if later) on.
    appointments = {e["ticket"]: e for e in issued if e["appointment"] is not None}
    assert sorted(e["appointment"] for e in appointments.values()) == [
        "AP1", "AP2", "AP3", "AP4", "AP5", "AP6",
    ]  # fmt: skip
    first_call: dict[str, int] = {}
    for index, event in enumerate(events):
        if event["type"] == "ticket_called" and event["ticket"] not in first_call:
            first_call[event["ticket"]] = index
    assert set(appointments) <= set(first_call), "a checked-in booking was never called"
    waits_for_window: set[str] = set()
    late = []
    for index, event in enumerate(events):
        if event["type"] == "ticket_transferred":
            if event["target"] is not None:
                waits_for_window.add(event["ticket"])
            else:
                waits_for_window.discard(event["ticket"])
        if event["type"] != "ticket_called" or event["ticket"] in appointments:
            continue
        if event["ticket"] in waits_for_window:
            continue  # sent to the window: called before anything else, by the contract
        called_at = datetime.fromisoformat(event["at"])
        for ticket, booked in appointments.items():
            due = max(datetime.fromisoformat(booked["slot"]), datetime.fromisoformat(booked["at"]))
            issued_index = events.index(booked)
            if (
                booked["service"] == event["service"]
                and issued_index < index < first_call[ticket]
                and called_at >= due
            ):
                late.append((booked["appointment"], event["number"], event["at"]))
        waits_for_window.discard(event["ticket"])
    assert late == []
    calls = sum(1 for e in events if e["type"] == "ticket_called")
    print(
        f"{len(issued)} issued, {calls} called, refusals {dict(refusals)}, {CAPPED}: {counts[CAPPED]}"
    )
