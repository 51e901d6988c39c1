"""Read a hall's stored events for a report, also while the hall server runs.

The store is opened read-only (`mode=ro`: this connection can never take a write lock) and read in
one read transaction, so the report sees the store as of one commit. In WAL mode a reader neither
waits for the writer nor makes it wait (checkpoints only skip the pages a reader still needs).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hall.engine.measures import READ_TYPES
from hall.store.store import BUSY_TIMEOUT_MS, StorageError, StoreMismatch, db_path


def connect_read_only(data_dir: str | Path) -> sqlite3.Connection:
    path = db_path(data_dir)
    if not path.exists():
        raise StorageError(f"no hall store at {path}: give the hall's --data folder")
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return db


def read_events(
    data_dir: str | Path, site: str, first: date, last: date
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(business day, event) of the days `first`..`last`, in the order they happened.

    The next day's rollover is included: it names the last day's tickets that expired unserved.
    """
    with closing(connect_read_only(data_dir)) as db:
        db.execute("BEGIN")  # deferred: the first SELECT starts the read transaction
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'site'").fetchone()
            if row is None or row[0] != site:
                found = row[0] if row else None
                raise StoreMismatch(
                    f"{db_path(data_dir)} belongs to site {found!r}, not {site!r}: "
                    "give the --config and --data of the same hall"
                )
            marks = ",".join("?" * len(READ_TYPES))
            cursor = db.execute(
                f"SELECT business_day, body FROM events WHERE type IN ({marks}) "
                "AND ((business_day BETWEEN ? AND ?) OR (business_day = ? AND type = ?)) "
                "ORDER BY id",
                (
                    *READ_TYPES,
                    first.isoformat(),
                    last.isoformat(),
                    (last + timedelta(days=1)).isoformat(),
                    "day_rolled_over",
                ),
            )
            loads = json.loads
            for day, body in cursor:
                yield day, loads(body)
        finally:
            db.execute("ROLLBACK")
