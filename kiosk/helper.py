"""A short-lived Python process of this same code base, for work whose memory the kiosk must not keep
(pypinyin's dictionaries, the hall's config models): what it loads goes when it exits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the folder holding the kiosk package


def run_module(
    module: str, *args: str, stdin: str | None = None, timeout: float
) -> subprocess.CompletedProcess[str]:
    """`python -m MODULE ARGS` with `stdin`, this code base first on its path (whatever the kiosk's
    working folder); its stdout and stderr as text. Raises subprocess.TimeoutExpired past `timeout`
    (it only bounds a hang) and OSError if it cannot start."""
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *([path] if path else [])])}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=timeout,
        check=False,
    )
