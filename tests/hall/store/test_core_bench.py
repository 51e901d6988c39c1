"""bench/engine.py stays runnable: a short run prints every figure the issue asks for."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_engine_bench_prints_its_figures(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "engine.py"),
            "--seconds",
            "1",
            "--bare-seconds",
            "0.5",
            "--dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"\d+ tickets issued", out)
    assert re.search(r"[\d,]+ commands/s, [\d,]+ lifecycles/s; refused: none", out)
    assert re.search(r"bare sqlite3 loop .*: [\d,]+ transactions/s", out)
    assert "hall store wal / 2 (FULL); bare loop wal / 2 (FULL)" in out
    assert re.search(r"ratio engine commands/s : bare transactions/s = \d+\.\d\d", out)
    assert list(tmp_path.iterdir()) == []  # its files are cleaned up
