"""deploy/systemd/hallq-announcer.service: what the announcer needs, checked by systemd itself."""

from __future__ import annotations

import configparser
import subprocess
from pathlib import Path

from tests.fixtures.parts import require_program
from voice.announcer_cli import DEVICE_ENV

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "hallq-announcer.service"


def test_the_unit_keeps_state_plays_audio_and_names_the_device_env_file() -> None:
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNIT)
    service = parser["Service"]
    assert service["ExecStart"].split()[1:3] == ["announcer", "--config"]
    assert service["EnvironmentFile"] == "/etc/hallq/hallq.env"  # it holds HALLQ_DEVICE_ID
    assert service["StateDirectory"] == "hallq-announcer"
    assert "audio" in service["SupplementaryGroups"]
    assert "PrivateDevices" not in service  # the sound card is a device
    assert service["RestartPreventExitStatus"] == "2"
    assert DEVICE_ENV == "HALLQ_DEVICE_ID"


def test_the_unit_passes_systemd_analyze(tmp_path: Path) -> None:
    analyze = require_program("systemd-analyze", "systemd")
    text = UNIT.read_text().replace("/opt/hallq/venv/bin/hallq", "/bin/true")
    (tmp_path / UNIT.name).write_text(text)
    result = subprocess.run(
        [analyze, "verify", str(tmp_path / UNIT.name)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Unknown key" not in result.stderr, result.stderr
