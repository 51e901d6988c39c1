"""python-escpos, set up by an explicit call: `setup()` gives its `printer` module.

python-escpos re-parses its 300 KB capabilities.json on every import (0.3 s) and leaves a new temp
folder each time unless ESCPOS_CAPABILITIES_PICKLE_DIR names a folder: the Makefile exports one; a
kiosk started any other way gets one under the user's cache folder. The variable must be set
before python-escpos is imported, so `setup()` does both (and quiets its connectors' log lines);
importing this module changes nothing.
"""

from __future__ import annotations

import functools
import logging
import os
import stat
import tempfile
from pathlib import Path
from types import ModuleType

PICKLE_DIR_VARIABLE = "ESCPOS_CAPABILITIES_PICKLE_DIR"


@functools.cache
def setup() -> ModuleType:
    """Set ESCPOS_CAPABILITIES_PICKLE_DIR (unless set) and make its folder, add the filter that
    drops the connectors' INFO lines to the root logger, import python-escpos: its `printer` module
    (Serial, Network, Usb, File, Dummy). Once per process; later calls return the same module."""
    folder = os.environ.get(PICKLE_DIR_VARIABLE)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
    else:
        os.environ[PICKLE_DIR_VARIABLE] = _pickle_dir()
    from escpos import printer as imported

    printer: ModuleType = imported
    root = logging.getLogger()
    if not any(isinstance(f, _QuietConnectors) for f in root.filters):
        root.addFilter(_QuietConnectors(os.path.dirname(printer.__file__ or "")))
    return printer


def _pickle_dir() -> str:
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hallq-escpos"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        # A read-only home: a folder of this user's own under /tmp still avoids the leak. Never a
        # shared one: python-escpos unpickles what it finds there, so another local user could
        # plant code in it. Made 0700, and refused unless it is ours and nobody else may write it.
        folder = Path(tempfile.gettempdir()) / f"hallq-escpos-cache-{os.getuid()}"
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
            folder = Path(tempfile.mkdtemp(prefix="hallq-escpos-"))  # one of our own, this run
    return str(folder)


class _QuietConnectors(logging.Filter):
    """python-escpos logs "Serial printer enabled" / "Closing ..." at INFO on the root logger
    for every open and close: a kiosk that reads the status every few seconds would log little
    else. This drops those INFO lines only (a filter on the root logger sees only records logged
    on the root logger itself, so nobody else's records pass through it)."""

    def __init__(self, escpos_dir: str) -> None:
        super().__init__()
        self.escpos_dir = escpos_dir

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or not record.pathname.startswith(self.escpos_dir)


__all__ = ["PICKLE_DIR_VARIABLE", "setup"]
