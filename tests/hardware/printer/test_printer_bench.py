"""bench/print.py runs and meets its goals (one render per mode and width: a smoke test)."""

from __future__ import annotations

import subprocess
import sys

from printer_helpers import ROOT


def test_bench_prints_its_figures() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "print.py"), "--runs", "3", "--english"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    rows = [
        line.split()
        for line in out.stdout.splitlines()
        if line.split()[:1] in (["native"], ["mixed"], ["raster"])
    ]
    assert len(rows) == 6
    assert "MISSED" not in out.stdout
