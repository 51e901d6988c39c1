"""`hallq check-config` and `hallq pin-hash`, run as a user runs them."""

from __future__ import annotations

import fcntl
import os
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from hall.config.pins import verify_pin
from hallq.cli import main

EXAMPLES = Path(__file__).resolve().parents[3] / "deploy" / "examples"
HALLQ = [sys.executable, "-m", "hallq.cli"]


def test_check_config_accepts_the_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("small-hall.toml", "prefecture-hall.toml"):
        path = EXAMPLES / name
        assert main(["check-config", "--config", str(path)]) == 0
        out = capsys.readouterr()
        assert f"{path}: OK" in out.out
        assert "warning" not in out.err
    assert "105 windows" in out.out and "243 services" in out.out


def test_check_config_reports_problems_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hall.toml"
    path.write_text(
        (EXAMPLES / "small-hall.toml").read_text().replace('id = "k01"', 'id = "hall"', 1)
    )
    assert main(["check-config", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: kiosks[0].id: the id 'hall' is reserved" in err
    assert "nothing was started" in err


def test_check_config_warns_of_a_service_nobody_serves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (EXAMPLES / "small-hall.toml").read_text()
    # Take one service off every window that serves it.
    text = text.replace('"psb-hukou-cancel", ', "").replace(', "psb-hukou-cancel"', "")
    path = tmp_path / "hall.toml"
    path.write_text(text)
    assert main(["check-config", "--config", str(path)]) == 0
    assert "no window serves 'psb-hukou-cancel'" in capsys.readouterr().err
    assert main(["check-config", "--strict", "--config", str(path)]) == 1


def test_check_config_needs_the_config_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["check-config"])
    assert caught.value.code == 2
    assert "--config" in capsys.readouterr().err


def test_pin_hash_reads_the_pin_from_stdin() -> None:
    result = subprocess.run(
        [*HALLQ, "pin-hash"], input="2468\n", capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    stored = result.stdout.strip()
    assert stored.startswith("pbkdf2_sha256$20000$")
    assert verify_pin("2468", stored) and not verify_pin("2469", stored)


@pytest.mark.parametrize("pin", ["", "12", "12ab", "1234567890123", "١٢٣٤"])
def test_pin_hash_refuses_what_a_keypad_cannot_type(pin: str) -> None:
    result = subprocess.run(
        [*HALLQ, "pin-hash"], input=pin + "\n", capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "4 to 12 digits" in result.stderr
    assert result.stdout == ""


def test_pin_hash_takes_no_pin_argument() -> None:
    result = subprocess.run(
        [*HALLQ, "pin-hash", "1234"], capture_output=True, text=True, check=False, input=""
    )
    assert result.returncode == 2
    assert "pbkdf2" not in result.stdout


def _talk_on_terminal(answers: list[str]) -> tuple[int, str]:
    """Run `hallq pin-hash` on a real pseudo-terminal, typing `answers` at its prompts."""
    master, slave = os.openpty()

    def own_terminal() -> None:  # the pty becomes the child's controlling terminal (/dev/tty)
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        [*HALLQ, "pin-hash"],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=slave,
        preexec_fn=own_terminal,
        text=True,
    )
    os.close(slave)
    seen = ""
    deadline = time.monotonic() + 20
    pending = list(answers)
    while time.monotonic() < deadline and process.poll() is None:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                seen += os.read(master, 1024).decode(errors="replace")
            except OSError:
                break
        if pending and seen.count("PIN") > len(answers) - len(pending):
            os.write(master, (pending.pop(0) + "\n").encode())
    out, _ = process.communicate(timeout=20)
    os.close(master)
    assert "PIN" in seen
    assert "1357" not in seen  # not echoed
    return process.returncode, out


def test_pin_hash_asks_twice_on_a_terminal() -> None:
    code, out = _talk_on_terminal(["1357", "1357"])
    assert code == 0
    assert verify_pin("1357", out.strip())


def test_pin_hash_refuses_two_different_pins() -> None:
    code, out = _talk_on_terminal(["1357", "1358"])
    assert code == 2
    assert out == ""
