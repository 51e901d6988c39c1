"""What the demo prepares: the morning it starts the hall's clock on, the wired config (validated,
with the emulators' ports and the demo's own devices), TOML written back exactly, the broker's files."""

from __future__ import annotations

import re
import socket
import subprocess
import tomllib
from datetime import date, datetime, time
from pathlib import Path
from time import monotonic, sleep
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contract.device_env import read_env_file
from hall.config.schema import HallConfig, load_config, parse_config
from hallq import demo_setup as setup
from hallq.demo import listening
from hallq.demo_toml import dumps
from tests.fixtures.parts import require_program

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "deploy" / "examples").glob("*.toml"))
PREFECTURE = ROOT / "deploy" / "examples" / "prefecture-hall.toml"
SMALL = ROOT / "deploy" / "examples" / "small-hall.toml"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def small_with(**calendar: Any) -> HallConfig:
    data = tomllib.loads(SMALL.read_text(encoding="utf-8"))
    data["calendar"] = {**data.get("calendar", {}), **calendar}
    return parse_config(data, "small+calendar")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_toml_written_back_reads_the_same(path: Path) -> None:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert tomllib.loads(dumps(data)) == data


def test_toml_values_of_every_kind() -> None:
    data = {
        "top": 'quote " backslash \\ newline \n tab \t bell \x07 中文',
        "t": {"when": time(3, 0), "day": date(2026, 11, 27), "at": datetime(2026, 1, 1, 9, 0)},
        "list": [{"a": 1, "b": [1.5, -2.0], "c": {"d": True, "e": False}}],
        "odd keys": {"key with space": 1, "ключ": "x"},
    }
    assert tomllib.loads(dumps(data)) == data


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Thursday evening, Friday before dawn, Saturday: the next working morning.
        ("2026-11-26T20:00", "2026-11-27T09:00"),
        ("2026-11-27T04:10", "2026-11-30T09:00"),
        ("2026-11-28T11:00", "2026-11-30T09:00"),
        # Monday before the opening is still "after today": the demo never starts mid-day.
        ("2026-11-30T08:00", "2026-12-01T09:00"),
    ],
)
def test_the_next_working_morning(now: str, expected: str) -> None:
    config = load_config(SMALL)
    at = datetime.fromisoformat(now).replace(tzinfo=SHANGHAI)
    start = setup.next_working_morning(config, at)
    assert start == datetime.fromisoformat(expected).replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # A working day not over yet: today's opening, also before it, at lunch, in the afternoon.
        ("2026-11-30T07:30", "2026-11-30T09:00"),
        ("2026-11-30T10:15", "2026-11-30T09:00"),
        ("2026-11-30T12:30", "2026-11-30T09:00"),
        ("2026-11-30T16:59", "2026-11-30T09:00"),
        # Its hours are over: the next working morning (Friday evening: Monday's).
        ("2026-11-30T17:00", "2026-12-01T09:00"),
        ("2026-11-27T20:00", "2026-11-30T09:00"),
        # Not a working day (today, 2026-12-06, is a Sunday): the next working morning.
        ("2026-12-06T10:00", "2026-12-07T09:00"),
    ],
)
def test_the_demo_starts_today_when_today_is_not_over(now: str, expected: str) -> None:
    config = load_config(SMALL)
    start = setup.demo_start(config, datetime.fromisoformat(now).replace(tzinfo=SHANGHAI))
    assert start == datetime.fromisoformat(expected).replace(tzinfo=SHANGHAI)


def test_a_holiday_is_not_today_for_the_demo() -> None:
    config = small_with(years=[{"year": 2026, "holidays": ["2026-11-30"], "workdays": []}])
    monday = datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)
    assert setup.demo_start(config, monday) == datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)


def test_holidays_and_makeup_days_of_the_calendar_count() -> None:
    config = small_with(
        years=[
            {"year": 2026, "holidays": ["2026-11-30", "2026-12-01"], "workdays": ["2026-11-28"]}
        ],
        makeup_hours_as="mon",
    )
    friday = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)
    assert setup.next_working_morning(config, friday).date() == date(2026, 11, 28)  # 调休上班
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)
    assert setup.next_working_morning(config, saturday).date() == date(2026, 12, 2)


def test_the_opening_hour_comes_from_the_hall_hours() -> None:
    config = small_with(hours=[{"days": "mon-fri", "from": "08:30", "to": "17:30"}])
    start = setup.next_working_morning(config, datetime(2026, 11, 26, 23, 0, tzinfo=SHANGHAI))
    assert (start.date(), start.time()) == (date(2026, 11, 27), time(8, 30))


def test_a_real_time_in_another_zone_is_read_in_the_halls() -> None:
    config = load_config(SMALL)
    # 20:00 UTC on Thursday is 04:00 on Friday in Shanghai: the next morning is Monday's.
    utc = datetime.fromisoformat("2026-11-26T20:00+00:00")
    assert setup.next_working_morning(config, utc).date() == date(2026, 11, 30)


def test_clock_spec_is_what_the_server_reads() -> None:
    from hall.store.clock import ScaledClock, parse_clock_spec

    start = datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI)
    spec = setup.clock_spec(start, 10)
    assert spec == "2026-11-30T09:00+08:00x10"
    clock = parse_clock_spec(spec, "Asia/Shanghai")
    assert isinstance(clock, ScaledClock)
    assert (clock.start, clock.speed) == (start, 10)


def test_the_wired_configs(tmp_path: Path) -> None:
    paths = setup.DemoPaths(tmp_path)
    wired = setup.write_configs(PREFECTURE, paths)
    config = load_config(wired.path)  # what every process reads
    assert config == wired.config
    for bridge in config.bridges:
        assert bridge.bus is not None
        assert bridge.bus.port == str(tmp_path / "dev" / bridge.id)
    kiosk = next(k for k in config.kiosks if k.id == setup.KIOSK_ID)
    assert kiosk.printer is not None and kiosk.printer.target == str(tmp_path / "dev" / "printer")
    assert config.device_class(setup.WATCH_ID) == "operator"
    played = load_config(wired.simulate_path)
    assert setup.KIOSK_ID not in played.devices()["kiosks"]
    assert played.devices()["kiosks"] == [k.id for k in load_config(PREFECTURE).kiosks]
    # Everything else is the example as it is.
    original = load_config(PREFECTURE)
    assert (config.windows, config.services, config.site) == (
        original.windows,
        original.services,
        original.site,
    )


def test_broker_files_for_the_demo(tmp_path: Path) -> None:
    paths = setup.DemoPaths(tmp_path)
    paths.fresh()
    wired = setup.write_configs(SMALL, paths)
    files = setup.broker_files(wired.config, paths)
    assert files.local_port != files.tls_port
    conf = files.conf.read_text()
    assert files.conf == tmp_path / "broker" / "mosquitto.conf"
    assert f"listener {files.local_port} 127.0.0.1" in conf
    assert f"listener {files.tls_port} 127.0.0.1" in conf
    assert "allow_anonymous false" in conf
    hall = read_env_file(paths.env_file("hall"))
    assert hall["HALLQ_MQTT_URL"].endswith(f"@127.0.0.1:{files.local_port}")
    watch = read_env_file(paths.env_file(setup.WATCH_ID))
    assert watch["HALLQ_MQTT_URL"].startswith(f"mqtts://{setup.WATCH_ID}:")
    assert watch["HALLQ_MQTT_URL"].endswith(f"@127.0.0.1:{files.tls_port}")
    assert watch["HALLQ_MQTT_CA"] == str(tmp_path / "tls" / "ca.crt")


def test_fresh_keeps_the_ca_and_passwords_and_clears_the_rest(tmp_path: Path) -> None:
    paths = setup.DemoPaths(tmp_path)
    paths.fresh()
    for keep in (paths.tls / "ca.crt", paths.broker / "secrets.json"):
        keep.parent.mkdir(parents=True, exist_ok=True)
        keep.write_text("kept")
    for old in (paths.data / "hall.db", paths.logs / "demo.log", paths.broker_data / "m.db"):
        old.write_text("old")
    paths.fresh()
    assert (paths.tls / "ca.crt").read_text() == "kept"
    assert (paths.broker / "secrets.json").read_text() == "kept"
    assert not any(any(p.iterdir()) for p in (paths.data, paths.logs, paths.broker_data))


def test_the_keypad_clerk_takes_the_last_window_when_a_keypad_serves_it(tmp_path: Path) -> None:
    wired = setup.write_configs(PREFECTURE, setup.DemoPaths(tmp_path))
    clerk = setup.keypad_clerk(wired.config)
    assert clerk == setup.KeypadClerk("keypad-3f", 29, "w105", "c10501", "10501")
    assert wired.config.windows[-1].id == clerk.window  # `simulate --windows N-1` leaves it
    assert setup.keypad_clerk(load_config(SMALL)) is None  # no keypad bus: the simulation plays all


def test_ports_come_from_below_the_ephemeral_range_and_are_free() -> None:
    first, last = setup._quiet_range()
    assert last < int(setup.EPHEMERAL_RANGE.read_text().split()[0])
    ports = setup.free_ports(2)
    assert len(set(ports)) == 2
    assert all(first <= p <= last for p in ports)
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # still free


@pytest.mark.broker
def test_the_demo_broker_opens_its_two_ports_and_no_default_listener(tmp_path: Path) -> None:
    """Mosquitto 2.0 opens a default listener on 1883 (every interface) for a listener option
    written before the first `listener`: the demo's conf must not, or it takes the system
    broker's port."""
    mosquitto = require_program("mosquitto", "mosquitto")
    require_program("openssl", "openssl")
    paths = setup.DemoPaths(tmp_path)
    paths.fresh()
    wired = setup.write_configs(SMALL, paths)
    setup.make_ca(paths)
    files = setup.broker_files(wired.config, paths)
    conf = tmp_path / "verbose.conf"
    conf.write_text(files.conf.read_text() + "log_type all\n")
    broker = subprocess.Popen(
        [mosquitto, "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = monotonic() + 10
        while not (listening(files.local_port) and listening(files.tls_port)):
            assert broker.poll() is None and monotonic() < deadline, "mosquitto did not start"
            sleep(0.05)
    finally:
        broker.terminate()
        output, _ = broker.communicate(timeout=10)
    opened = sorted(
        int(p) for p in re.findall(r"Opening ipv[46] listen socket on port (\d+)", output)
    )
    assert opened == sorted([files.local_port, files.tls_port]), output
