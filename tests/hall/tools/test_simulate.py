"""`hallq simulate` against a real hall server process and a real Mosquitto, on a fast hall clock:
it issues, calls, serves and rates; follows the hall's clock; works under the generated ACL with each
device's own credentials; and leaves no thread behind. Also the pure parts: the visitor mix, the
clock follower, the `clock` payload."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from contract.hall_clock import HallClock, parse_clock
from contract.mqtt_url import parse_url
from hall.config.schema import HallConfig, load_config
from hall.service.service import clock_payload
from hall.store.clock import FixedClock, ScaledClock
from hall.tools import simulate_traffic as traffic
from hall.tools.simulate import Options, Simulation, simulation
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import (
    EXAMPLES,
    WORKDAY_MORNING,
    HallServer,
    example_config,
    wait_for,
)

SMALL = EXAMPLES / "small-hall.toml"
PREFECTURE = EXAMPLES / "prefecture-hall.toml"
ZONE = ZoneInfo("Asia/Shanghai")
START = datetime.fromisoformat(WORKDAY_MORNING).astimezone(ZONE)


def small_config(folder: Path, url: str) -> Path:
    """The small example hall, pointed at the test's broker."""
    return example_config("small-hall", folder, url)


@pytest.fixture
def hall(broker: Broker, tmp_path: Path) -> Iterator[HallServer]:
    config = small_config(tmp_path, broker.url)
    data, log = tmp_path / "data", tmp_path / "hall.log"
    running = HallServer(broker.url, "small", config, data, log, speed=600, log_level="WARNING")
    running.start()
    yield running
    running.close()


def simulate_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "hallq", "simulate", *args]


def threads_now() -> set[threading.Thread]:
    return set(threading.enumerate())


# -- against the real hall --------------------------------------------------------------------------


@pytest.mark.broker
def test_a_fast_hall_day_issues_calls_serves_and_rates(hall: HallServer, broker: Broker) -> None:
    config = load_config(hall.config)
    before = threads_now()
    lines: list[str] = []
    address = parse_url(broker.url)
    options = Options(hours=0.6, seed=7, visitors_per_hour=80)
    sim = Simulation(config, lambda device: address, options, say=lines.append)
    started = time.monotonic()
    with simulation(sim):
        assert sim.clock.received and sim.clock.speed == 600  # it follows the hall's clock
        sim.run_until_done()
    elapsed = time.monotonic() - started
    # 0.6 hall hours at x600 are 3.6 s of real time: the waits were scaled by the hall's speed.
    assert 3.0 < elapsed < 12, elapsed
    tally = sim.tally
    assert tally.ops["login"] == len(config.windows)
    assert tally.ops["issue"] >= 20
    assert tally.ops["call_next"] >= 10 and tally.ops["start"] >= 5 and tally.ops["finish"] >= 3
    assert tally.ops["rate"] >= 1
    assert not tally.timeouts
    numbers = [i.number for i in tally.issued]
    assert len(numbers) == len(set(numbers))  # numbers are unique (one day, prefixes differ)
    assert {c.ticket_id for c in tally.called} <= {i.ticket_id for i in tally.issued}
    assert any(" calls " in line for line in lines) and any(" issued " in line for line in lines)
    assert all(line[:8].count(":") == 2 for line in lines)  # each line starts with the hall's time
    summary = sim.summary()
    assert "issued" in summary and "no answer: none" in summary
    # Every thread it started is gone (paho's network threads included).
    assert wait_for(lambda: threads_now() <= before, 5), threads_now() - before


@pytest.mark.broker
def test_windows_n_plays_a_subset_on_few_connections(hall: HallServer, broker: Broker) -> None:
    config = load_config(hall.config)
    address = parse_url(broker.url)
    sim = Simulation(config, lambda device: address, Options(hours=0.2, seed=1, windows=2))
    with simulation(sim):
        # The kiosks and two windows; each window's connection also rates for its evaluator.
        assert sorted(sim._clients) == sorted([k.id for k in config.kiosks] + ["w001", "w002"])
        sim.run_until_done()
    assert {c.window for c in sim.tally.called} <= {"w001", "w002"}
    assert sim.tally.ops["login"] == 2 and not sim.tally.timeouts


@pytest.mark.broker
def test_the_command_runs_and_prints_a_summary(hall: HallServer, broker: Broker) -> None:
    done = subprocess.run(
        simulate_cmd(
            "--config",
            str(hall.config),
            "--url",
            broker.url,
            "--hours",
            "0.4",
            "--seed",
            "3",
            "--speed-from-hall",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "hall clock x600" in out and " issued " in out and " calls " in out
    assert "summary:" in out and "no answer: none" in out
    assert "Traceback" not in done.stderr


@pytest.mark.broker
def test_the_command_stops_on_sigint_and_joins(hall: HallServer, broker: Broker) -> None:
    process = subprocess.Popen(
        simulate_cmd(
            "--config", str(hall.config), "--url", broker.url, "--hours", "100", "--quiet"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2.5)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert out.startswith("summary:") and "Traceback" not in err


@pytest.mark.broker
def test_without_the_hall_clock_speed_from_hall_refuses(broker: Broker, tmp_path: Path) -> None:
    config = small_config(tmp_path, broker.url)  # no hall server: no clock
    done = subprocess.run(
        simulate_cmd(
            "--config", str(config), "--url", broker.url, "--speed-from-hall", "--hours", "1"
        ),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1 and "clock" in done.stderr and "Traceback" not in done.stderr


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[site]\n")
    for args in (["--config", str(bad)], ["--config", str(SMALL), "--hours", "0"]):
        done = subprocess.run(
            simulate_cmd(*args),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    missing = subprocess.run(
        simulate_cmd("--config", str(SMALL), "--credentials", str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert missing.returncode == 1 and "broker-config" in missing.stderr


# -- the pure parts ----------------------------------------------------------------------------------


def test_the_first_five_departments_draw_most_visitors() -> None:
    config = load_config(PREFECTURE)
    mix = traffic.visitor_mix(config, config.windows)
    rng = random.Random(1)
    drawn = [config.service(mix.draw(rng)) for _ in range(5000)]
    first_five = {d.code for d in config.departments[:5]}
    share = sum(1 for s in drawn if s is not None and s.department in first_five) / len(drawn)
    department = {s.code: s.department for s in config.services}
    windows_first_five = len(
        [w for w in config.windows if any(department[c] in first_five for c in w.tiers[0])]
    )
    assert share > 1.5 * windows_first_five / len(config.windows)
    assert all(s is not None and not s.needs_appointment for s in drawn)
    # Only what a played window serves is drawn.
    few = config.windows[:3]
    served = {c for w in few for c in w.services}
    small_mix = traffic.visitor_mix(config, few)
    assert {small_mix.draw(rng) for _ in range(300)} <= served
    assert traffic.default_visitors_per_hour(config, config.windows) > 100


def test_service_times_center_on_avg_minutes() -> None:
    config: HallConfig = load_config(SMALL)
    service = config.services[0]
    rng = random.Random(2)
    draws = [traffic.service_seconds(config, service.code, rng) for _ in range(4000)]
    mean = sum(draws) / len(draws) / 60
    assert abs(mean - service.avg_minutes) < 0.1 * service.avg_minutes


def test_clock_payload_round_trips_through_the_follower() -> None:
    scaled = ScaledClock(START, 60.0)
    body = json.loads(clock_payload(scaled))
    assert body["v"] == 1 and body["speed"] == 60.0 and isinstance(body["unix"], float)
    reading = parse_clock(body)
    assert reading is not None
    follower = HallClock(ZONE)
    follower.on_clock("t", body)
    assert follower.speed == 60.0
    assert abs((follower.now() - scaled.now()).total_seconds()) < 0.5
    # A late reader (the retained message 10 s old) still gets the hall's time right.
    late = dict(body, unix=body["unix"] - 10.0)
    follower.on_clock("t", late)
    expected = datetime.fromisoformat(body["at"]) + timedelta(seconds=600)
    assert abs((follower.now() - expected).total_seconds()) < 1.0
    assert json.loads(clock_payload(FixedClock(START)))["speed"] == 0.0
    for bad in (None, {}, {"at": "x", "speed": 1, "unix": 0}, {"at": START.isoformat()}):
        assert parse_clock(bad) is None


def test_hall_time_waits_are_scaled_and_stoppable() -> None:
    follower = HallClock(ZONE)
    follower.on_clock("t", json.loads(clock_payload(ScaledClock(START, 600.0))))
    stop = threading.Event()
    began = time.monotonic()
    assert follower.sleep(60, stop)  # a hall minute at x600: 0.1 s
    assert 0.08 < time.monotonic() - began < 0.5
    threading.Timer(0.1, stop.set).start()
    began = time.monotonic()
    assert not follower.sleep(3600, stop)  # stopped long before the hall hour
    assert time.monotonic() - began < 0.5
