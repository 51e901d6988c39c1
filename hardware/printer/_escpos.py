"""python-escpos, imported once with a fixed capabilities cache.

python-escpos re-parses its 300 KB capabilities.json on every import (0.3 s) and leaves a new temp
folder each time unless ESCPOS_CAPABILITIES_PICKLE_DIR names a folder: the Makefile exports one; a
kiosk started any other way gets one under the user's cache folder.
"""

from __future__ import annotations

import os
from pathlib import Path


def _pickle_dir() -> str:
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hallq-escpos"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: a fixed folder under /tmp still avoids the leak
        folder = Path("/tmp/hallq-escpos-cache")
        folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


if not os.environ.get("ESCPOS_CAPABILITIES_PICKLE_DIR"):
    os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = _pickle_dir()
else:
    Path(os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"]).mkdir(parents=True, exist_ok=True)

from escpos import printer as escpos_printer  # noqa: E402
from escpos.escpos import Escpos  # noqa: E402

__all__ = ["Escpos", "escpos_printer"]
