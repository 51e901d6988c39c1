"""`hallq bookings import FILE.csv`: reading the CSV, and sending it to a real hall on a real Mosquitto."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.client import HallClient
from contract.mqtt_url import parse_url
from hall.tools.bookings_cli import ImportFileError, Row, read_rows
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import EXAMPLES, HallServer, example_config

SMALL = EXAMPLES / "small-hall.toml"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


# -- the CSV -------------------------------------------------------------------------------------


def test_rows_are_read_with_a_bom_extra_columns_and_blank_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path / "b.csv",
        "Code,Service,Day,Slot,姓名,电话\n"
        "b7f3k2,psb-hukou-move-in,2026-11-27,09:30,张三,13800000000\n"
        "\n"
        " K2 , tax-invoice-claim ,2026-11-27,14:00,李四,\n",
        encoding="utf-8-sig",  # as spreadsheet programs save "CSV UTF-8"
    )
    rows, problems = read_rows(path)
    assert problems == []
    assert rows == [
        Row(2, "b7f3k2", "psb-hukou-move-in", "2026-11-27", "09:30"),
        Row(4, "K2", "tax-invoice-claim", "2026-11-27", "14:00"),
    ]


def test_rows_that_cannot_be_bookings_are_named_by_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "b.csv",
        "code,service,day,slot\n"
        "OK1,psb-hukou-move-in,2026-11-27,09:30\n"
        "BAD CODE,psb-hukou-move-in,2026-11-27,09:30\n"
        "B3,,2026-11-27,09:30\n"
        "B4,psb-hukou-move-in,27.11.2026,09:30\n"
        "B5,psb-hukou-move-in,2026-11-27,9:30\n",
    )
    rows, problems = read_rows(path)
    assert [r.code for r in rows] == ["OK1"]
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 4", "line 5", "line 6"]


def test_a_file_that_is_not_a_bookings_csv(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="missing: slot"):
        read_rows(write(tmp_path / "a.csv", "code,service,day\nB1,s,2026-11-27\n"))
    with pytest.raises(ImportFileError, match="UTF-8"):
        read_rows(write(tmp_path / "b.csv", "code,service,day,slot\n", encoding="utf-16"))
    with pytest.raises(ImportFileError):
        read_rows(tmp_path / "missing.csv")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hallq", "bookings", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    csv_path = write(tmp_path / "b.csv", "code,service,day,slot\n")
    no_config = run("import", str(csv_path), env={"PATH": "/usr/bin:/bin"})
    assert no_config.returncode == 2 and "--config" in no_config.stderr
    nobody = run("import", str(csv_path), "--config", str(SMALL), "--operator", "nobody")
    assert nobody.returncode == 2 and "op-1" in nobody.stderr
    bad_file = run("import", str(tmp_path / "none.csv"), "--config", str(SMALL))
    assert bad_file.returncode == 2 and "none.csv" in bad_file.stderr


# -- against a real hall ---------------------------------------------------------------------------


@pytest.fixture
def hall(broker: Broker, tmp_path: Path) -> Iterator[Path]:
    config = example_config("small-hall", tmp_path, broker.url)
    data, log = tmp_path / "data", tmp_path / "hall.log"
    server = HallServer(broker.url, "small", config, data, log, log_level="WARNING")
    try:
        server.start()
        yield config
    finally:
        server.close()


@pytest.mark.broker
def test_import_sends_every_row_and_reports_refusals(hall: Path, tmp_path: Path) -> None:
    csv_path = write(
        tmp_path / "b.csv",
        "code,service,day,slot\n"
        "B1,psb-hukou-move-in,2026-11-26,09:30\n"
        "B2,psb-hukou-move-in,2026-11-27,10:00\n"
        "B3,no-such-service,2026-11-27,10:00\n"
        "B4,psb-hukou-move-in,2026-11-27,9:00\n",
    )
    first = run("import", str(csv_path), "--config", str(hall))
    assert first.returncode == 1
    assert "line 4: B3: unknown_service" in first.stderr
    assert "line 5:" in first.stderr and "HH:MM" in first.stderr
    assert "2 added, 0 unchanged, 1 refused, 0 not answered, 1 not bookings" in first.stdout
    # Run again: nothing changes; the rows the hall has are reported unchanged.
    again = run("import", str(csv_path), "--config", str(hall), "--operator", "op-1")
    assert "0 added, 2 unchanged, 1 refused" in again.stdout
    # The bookings are in the hall: the first checks in today, the second is tomorrow's.
    url = next(
        line.split('"')[1] for line in hall.read_text().splitlines() if line.startswith("url")
    )
    with HallClient.connect(parse_url(url), "small", "kiosk", "k01", client_id="t-k01") as kiosk:
        ticket = kiosk.request("issue", service="psb-hukou-move-in", appointment="b1")["ticket"]
        assert ticket["service"] == "psb-hukou-move-in"
        answer = kiosk.request_answer("issue", service="psb-hukou-move-in", appointment="B2")
        assert answer["error"]["code"] == "booking_wrong_day"
    clean = write(
        tmp_path / "c.csv", "code,service,day,slot\nC1,psb-hukou-move-in,2026-11-28,11:00\n"
    )
    ok = run("import", str(clean), "--config", str(hall))
    assert ok.returncode == 0 and "1 added" in ok.stdout
