"""hardware/printer/_escpos.py: python-escpos is set up by an explicit, idempotent call (issue 12)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hardware.printer import _escpos

ROOT = Path(__file__).resolve().parents[3]


def test_the_escpos_setup_sets_its_folder_and_filter_once_and_gives_the_printers(
    tmp_path: Path,
) -> None:
    script = r"""
import json, logging, os, sys
from hardware.printer import _escpos
assert "escpos" not in sys.modules  # importing the wrapper imports nothing of python-escpos
first = _escpos.setup()
second = _escpos.setup()
root = logging.getLogger()
print(json.dumps({
    "same": first is second,
    "has_printers": all(hasattr(first, n) for n in ("Serial", "Network", "Usb", "File", "Dummy")),
    "folder": os.environ.get(_escpos.PICKLE_DIR_VARIABLE),
    "filters": sum(type(f).__name__ == "_QuietConnectors" for f in root.filters),
}))
"""
    env = {k: v for k, v in os.environ.items() if k != _escpos.PICKLE_DIR_VARIABLE}
    env.update(PYTHONPATH=str(ROOT), XDG_CACHE_HOME=str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    folder = tmp_path / "cache" / "hallq-escpos"
    assert seen == {"same": True, "has_printers": True, "folder": str(folder), "filters": 1}
    assert folder.is_dir()
