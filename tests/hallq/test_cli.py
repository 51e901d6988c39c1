"""The `hallq` front door: every subcommand's module exists, and the hall server's side never
imports a screen or a device library."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from hallq.cli import SUBCOMMANDS, main

HEAVY = ("kivy", "escpos", "serial", "qrcode", "PIL", "usb", "matplotlib", "xlsxwriter", "openpyxl")


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_subcommand_has_its_module(name: str) -> None:
    module, _ = SUBCOMMANDS[name]
    assert importlib.util.find_spec(module) is not None, f"hallq {name}: no module {module}"


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in SUBCOMMANDS)
    assert main(["no-such-thing"]) == 2


@pytest.mark.parametrize(
    "module",
    [
        "hall.service.server_cli",
        "hall.service.service",
        "hall.tools.simulate",
        "hall.tools.broker_config",
        "hall.tools.backup_cli",
        "hall.reports.cli",  # matplotlib and xlsxwriter only once a report is drawn
    ],
)
def test_the_hall_side_imports_no_screen_or_device_library(module: str) -> None:
    probe = (
        f"import sys, {module}; "
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}); "
        "print(','.join(heavy))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "", f"{module} imports {done.stdout.strip()}"
