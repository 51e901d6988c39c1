"""deploy/: the systemd units and the install script agree with what broker-config writes."""

from __future__ import annotations

import configparser
import subprocess
from pathlib import Path

from hall.tools.broker_config import CONF_FILE, ENV_DIR, HALL_USER, PRODUCTION
from tests.fixtures.parts import require_program

ROOT = Path(__file__).resolve().parents[3]
UNITS = ROOT / "deploy" / "systemd"
INSTALL = ROOT / "deploy" / "install.sh"


def unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(UNITS / name)
    return parser


def test_broker_unit_runs_the_generated_conf() -> None:
    service = unit("hallq-broker.service")["Service"]
    assert service["ExecStart"].endswith(f"-c {PRODUCTION.out / CONF_FILE}")
    assert service["StateDirectory"] == PRODUCTION.persistence.name  # /var/lib/hallq-broker
    assert service["Restart"] == "on-failure"
    assert "HUP" in service["ExecReload"]


def test_server_unit_has_restart_state_journal_and_credentials() -> None:
    service = unit("hallq-server.service")["Service"]
    assert service["EnvironmentFile"] == str(PRODUCTION.out / ENV_DIR / f"{HALL_USER}.env")
    assert service["Restart"] == "on-failure"
    assert service["StateDirectory"] == "hallq"
    assert "--data /var/lib/hallq" in service["ExecStart"]
    assert service["StandardError"] == "journal"
    assert "hallq-broker.service" in unit("hallq-server.service")["Unit"]["After"]


def test_units_pass_systemd_analyze(tmp_path: Path) -> None:
    # The units are what an install runs: checked by systemd itself (make setup installs it).
    analyze = require_program("systemd-analyze", "systemd")
    units = [*UNITS.glob("*.service"), *UNITS.glob("*.timer")]
    assert {u.name for u in units} >= {"hallq-backup.service", "hallq-backup.timer"}
    for path in units:
        # The venv does not exist here: point at a program that does, and at this checkout's
        # deploy/ for what an install copies to /opt/hallq/deploy.
        text = path.read_text().replace("/opt/hallq/venv/bin/hallq", "/bin/true")
        text = text.replace("/opt/hallq/deploy/", f"{ROOT / 'deploy'}/")
        (tmp_path / path.name).write_text(text)
    result = subprocess.run(
        [analyze, "verify", *sorted(str(tmp_path / u.name) for u in units)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Unknown key" not in result.stderr, result.stderr


def test_backup_unit_runs_the_nightly_backup_as_the_hall_user() -> None:
    service = unit("hallq-backup.service")["Service"]
    assert service["User"] == unit("hallq-server.service")["Service"]["User"]
    assert service["ExecStart"] == (
        "/opt/hallq/venv/bin/hallq backup --data /var/lib/hallq --into /var/backups/hallq --keep 14"
    )
    assert set(service["ReadWritePaths"].split()) == {"/var/backups/hallq", "/var/lib/hallq"}
    timer = unit("hallq-backup.timer")
    assert timer["Timer"]["OnCalendar"] == "*-*-* 23:30:00"
    assert timer["Timer"]["Persistent"] == "true"


def test_install_script_dry_run_shows_every_step() -> None:
    result = subprocess.run(
        ["bash", str(INSTALL), "--dry-run", "--host", "hall.lan", "--san", "10.0.0.2"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in [
        "make-ca.sh /etc/hallq/broker/tls hall.lan 10.0.0.2",
        "broker-config --config /etc/hallq/hall.toml --out /etc/hallq/broker --host hall.lan",
        "chgrp mosquitto /etc/hallq/broker",
        "systemctl enable hallq-broker.service hallq-server.service hallq-backup.timer",
        "/opt/hallq/venv/bin/pip install",
    ]:
        assert expected in out, out


def test_install_script_refuses_unknown_options() -> None:
    result = subprocess.run(
        ["bash", str(INSTALL), "--dry-run", "--frobnicate"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "unknown option" in result.stderr
