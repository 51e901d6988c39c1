"""The shipped example halls: they load, match the reference data, and follow the documented id scheme."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from hall.config.schema import HallConfig, load_config, strip_rate_limits, without_rate_limits

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "deploy" / "examples"
DATA = EXAMPLES / "data"


@pytest.fixture(scope="module")
def prefecture() -> HallConfig:
    return load_config(EXAMPLES / "prefecture-hall.toml")


@pytest.fixture(scope="module")
def small() -> HallConfig:
    return load_config(EXAMPLES / "small-hall.toml")


def read_csv(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_committed_examples_are_what_the_generator_makes() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "make_example_hall.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_prefecture_hall_has_the_whole_reference_data(prefecture: HallConfig) -> None:
    departments = read_csv("departments.csv")
    services = read_csv("services.csv")
    assert len(prefecture.departments) == len(departments) == 42
    assert len(prefecture.services) == len(services) == 243
    assert len(prefecture.windows) == sum(int(d["windows"]) for d in departments) == 105
    assert [d.prefix for d in prefecture.departments] == [d["prefix"] for d in departments]
    by_code = {s.code: s for s in prefecture.services}
    for row in services:
        s = by_code[row["code"]]
        assert s.department == row["department"]
        assert s.avg_minutes == float(row["avg_minutes"])
        assert s.needs_appointment == (row["needs_appointment"] == "true")


def test_windows_are_numbered_and_named_by_the_scheme(prefecture: HallConfig) -> None:
    assert sorted(w.no for w in prefecture.windows) == list(range(1, 106))
    for w in prefecture.windows:
        assert w.id == f"w{w.no:03d}"
        assert w.name == f"{w.no}号窗口"
        assert w.area in ("1F", "2F", "3F")


def test_each_department_has_its_window_count(prefecture: HallConfig) -> None:
    home: Counter[str] = Counter()
    for w in prefecture.windows:
        # A window's home department is that of its first tier's first service.
        service = prefecture.service(w.tiers[0][0])
        assert service is not None
        home[service.department] += 1
    assert home == {d["code"]: int(d["windows"]) for d in read_csv("departments.csv")}


def test_every_service_is_served_by_some_window(prefecture: HallConfig) -> None:
    served = {code for w in prefecture.windows for code in w.services}
    assert served == {s.code for s in prefecture.services}


def test_rosters_start_with_the_windows_own_clerk_and_a_colleague(prefecture: HallConfig) -> None:
    firsts = [w.clerks[0] for w in prefecture.windows]
    assert len(set(firsts)) == len(firsts)  # every window can be opened at once
    for w in prefecture.windows:
        assert w.clerks[0] == f"c{w.no:03d}01"
        assert len(w.clerks) >= 2
        assert w.clerks[1] != w.clerks[0]
    for c in prefecture.clerks:
        assert c.pin_hash is None  # the demo logs in without PINs
        assert c.keypad_code == c.id[1:]


def test_colleague_belongs_to_the_same_department(prefecture: HallConfig) -> None:
    home = {}
    for w in prefecture.windows:
        service = prefecture.service(w.tiers[0][0])
        assert service is not None
        home[w.clerks[0]] = service.department
    for w in prefecture.windows:
        colleague = w.clerks[1]
        if colleague in home:
            assert home[colleague] == home[w.clerks[0]]
        else:
            assert colleague == f"c{w.no:03d}02"  # the standby clerk of a one-window department


def test_devices_of_the_prefecture_hall(prefecture: HallConfig) -> None:
    assert len(prefecture.kiosks) == 6
    assert sum(k.allow_priority for k in prefecture.kiosks) == 2
    assert {prefecture.evaluator_of(w.id) for w in prefecture.windows} == {
        e.id for e in prefecture.evaluators
    }
    assert len(prefecture.evaluators) == 105
    assert any(not d.windows for d in prefecture.displays)  # a whole-hall screen
    assert any(d.kind == "window" and d.window for d in prefecture.displays)  # window displays
    assert any(d.areas for d in prefecture.displays)  # floor screens
    assert {b.kind for b in prefecture.bridges} == {"led", "keypad"}
    assert prefecture.operators


def test_small_hall_is_small_and_complete(small: HallConfig) -> None:
    assert 3 <= len(small.departments) <= 4
    assert 4 <= len(small.windows) <= 8
    assert small.kiosks and small.displays and small.operators
    assert len(small.evaluators) == len(small.windows)
    served = {code for w in small.windows for code in w.services}
    assert served == {s.code for s in small.services}


def test_every_example_kiosk_has_a_rate_limit_and_benches_can_drop_it(
    prefecture: HallConfig, small: HallConfig
) -> None:
    # Issue 13, fault 7: a stuck or hostile kiosk's refusals are each an answer stored for 7 days.
    for hall in (prefecture, small):
        assert hall.kiosks and all(k.rate_limit_per_min == 20 for k in hall.kiosks)
        assert all(k.rate_limit_per_min is None for k in without_rate_limits(hall).kiosks)
    text = (EXAMPLES / "small-hall.toml").read_text(encoding="utf-8")
    stripped = [line for line in strip_rate_limits(text).splitlines() if not line.startswith("#")]
    assert not any("rate_limit_per_min" in line for line in stripped)
