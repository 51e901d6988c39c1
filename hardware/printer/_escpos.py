"""python-escpos, imported once with a fixed capabilities cache.

python-escpos re-parses its 300 KB capabilities.json on every import (0.3 s) and leaves a new temp
folder each time unless ESCPOS_CAPABILITIES_PICKLE_DIR names a folder: the Makefile exports one; a
kiosk started any other way gets one under the user's cache folder.
"""

from __future__ import annotations

import logging
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

_ESCPOS_DIR = os.path.dirname(escpos_printer.__file__ or "")


class _QuietConnectors(logging.Filter):
    """python-escpos logs "Serial printer enabled" / "Closing ..." at INFO on the root logger
    for every open and close: a kiosk that reads the status every few seconds would log little
    else. This drops those INFO lines only (a filter on the root logger sees only records logged
    on the root logger itself, so nobody else's records pass through it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or not record.pathname.startswith(_ESCPOS_DIR)


if not any(isinstance(f, _QuietConnectors) for f in logging.getLogger().filters):
    logging.getLogger().addFilter(_QuietConnectors())

__all__ = ["Escpos", "escpos_printer"]
