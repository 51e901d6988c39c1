"""The nightly backup and the restore steps of docs/deploying.md ("Backups"), carried out: a hall
with tickets is copied by the command hallq-backup.service runs, restored into a new data folder as
the document says, and `hallq server` started on it has every ticket."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from contract.client import HallClient
from contract.mqtt_url import parse_url
from hall.tools.backup_cli import dated_copy, prune
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import HallServer, to_toml
from tests.fixtures.halls import SITE, small_hall_data

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "systemd" / "hallq-backup.service"
DOC = ROOT / "docs" / "deploying.md"


def nightly_backup(data: Path, backups: Path) -> subprocess.CompletedProcess[str]:
    """What hallq-backup.service runs, with the test's folders in place of /var/lib, /var/backups."""
    exec_start = next(
        line.split("=", 1)[1]
        for line in UNIT.read_text().splitlines()
        if line.startswith("ExecStart=")
    )
    args = exec_start.split()[1:]  # after /opt/hallq/venv/bin/hallq
    args = [
        {"/var/lib/hallq": str(data), "/var/backups/hallq": str(backups)}.get(a, a) for a in args
    ]
    return subprocess.run(
        [sys.executable, "-m", "hallq", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


def test_backup_then_restore_as_documented(broker: Broker, tmp_path: Path) -> None:
    config = tmp_path / "hall.toml"
    hall_data = small_hall_data()
    hall_data["broker"] = {"url": broker.url, "keepalive": 10}
    config.write_text(to_toml(hall_data), encoding="utf-8")
    data, backups = tmp_path / "var-lib-hallq", tmp_path / "var-backups-hallq"
    address = parse_url(broker.url)

    server = HallServer(broker.url, SITE, config, data, tmp_path / "hall.log")
    try:
        server.start()
        with HallClient.connect(address, SITE, "kiosk", "k1") as kiosk:
            tickets = [kiosk.request("issue", service="psb-id-card", timeout=5)["ticket"] for _ in range(3)]  # fmt: skip
        done = nightly_backup(data, backups)  # while the hall runs, as the timer does
        assert done.returncode == 0, done.stderr
    finally:
        server.close()
    copy = dated_copy(backups, date.today())
    assert copy.is_file() and str(copy) in done.stdout

    # The restore steps of docs/deploying.md, run as written, with the test's folders (and no
    # user hallq) in place of the machine's: the hall server is stopped (above) and started below.
    for step in restore_steps():
        if step.startswith("systemctl "):
            assert step in ("systemctl stop hallq-server", "systemctl start hallq-server")
            continue
        command = (
            step.replace("-o hallq -g hallq ", "")
            .replace("/var/backups/hallq/hall-2026-12-05.sqlite3", str(copy))
            .replace("/var/lib/hallq", str(data))
        )
        subprocess.run(["sh", "-ec", command], check=True, timeout=30)
    assert (tmp_path / "var-lib-hallq.before-restore" / "hall.sqlite3").is_file()

    restored = HallServer(broker.url, SITE, config, data, tmp_path / "restored.log")
    try:
        restored.start()
        with HallClient.connect(address, SITE, "kiosk", "k2") as kiosk:
            for ticket in tickets:
                again = kiosk.request("status", ticket=ticket["id"], timeout=5)["ticket"]
                assert (again["number"], again["status"]) == (ticket["number"], "waiting")
            nxt = kiosk.request("issue", service="psb-id-card", timeout=5)["ticket"]
            assert nxt["number"] == "A004"  # the numbering goes on from the copy
    finally:
        restored.close()


def restore_steps() -> list[str]:
    """The shell lines of the restore block of docs/deploying.md "Backups"."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("To restore a copy") :]
    block = section[section.index("```sh\n") + 6 : section.index("```\n", section.index("```sh"))]
    steps = [line.strip() for line in block.splitlines() if line.strip()]
    assert steps[0] == "systemctl stop hallq-server" and steps[-1] == "systemctl start hallq-server"
    return steps


def test_nightly_copies_are_kept_for_the_given_days(tmp_path: Path) -> None:
    today = date(2026, 12, 6)
    for days_ago in range(20):
        dated_copy(tmp_path, today - timedelta(days=days_ago)).write_text("copy")
    (tmp_path / "hall-before-upgrade.sqlite3").write_text("kept by hand")
    (tmp_path / "notes.txt").write_text("not a copy")
    removed = prune(tmp_path, today, 14)
    assert len(removed) == 6
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left[0] == "hall-2026-11-23.sqlite3"  # today and the 13 days before it
    assert "hall-before-upgrade.sqlite3" in left and "notes.txt" in left
    assert len(left) == 16


def test_keep_goes_with_into(tmp_path: Path) -> None:
    from hall.tools.backup_cli import main

    assert main(["--data", str(tmp_path), "--to", str(tmp_path / "x"), "--keep", "3"]) == 2
    assert main(["--data", str(tmp_path), "--into", str(tmp_path), "--keep", "0"]) == 2
