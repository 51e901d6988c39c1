"""`hallq backup --data DIR --to FILE`: a consistent copy of a hall's store, also while it runs.

SQLite's online backup API copies every page under one read transaction; in WAL mode that neither
stops nor waits for the running hall server, and the copy is the store as of one commit: never half
of a batch. The copy is a single file (no -wal sidecar): put it in an empty data folder as
`hall.sqlite3` to restore.
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys
import time
from pathlib import Path

from hall.store import BUSY_TIMEOUT_MS, StorageError, copy_database, db_path

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hallq backup",
        description="Copy a hall's store consistently to FILE, also while the hall server runs.",
        epilog="To restore: stop the hall server, put FILE as hall.sqlite3 into an empty data "
        "folder (or in place of the old one, with its -wal and -shm files removed), start it.",
    )
    parser.add_argument(
        "--data",
        default=os.environ.get("HALLQ_DATA_DIR"),
        help="the hall's data folder (default: $HALLQ_DATA_DIR)",
    )
    parser.add_argument("--to", required=True, help="the file to write the copy to")
    return parser


def backup(data_dir: Path, dest: Path) -> dict[str, int]:
    """Copy the store of `data_dir` to `dest`; returns the copy's row counts per table, and
    `unpublished`: the calls not yet acknowledged by the broker."""
    source_path = db_path(data_dir)
    if not source_path.is_file():
        raise StorageError(f"no hall store at {source_path}: check --data")
    if dest.resolve() == source_path.resolve():
        raise StorageError("--to names the live store itself: give another file")
    try:
        # mode=rw: never create an empty store where the hall's should be.
        source = sqlite3.connect(f"{source_path.resolve().as_uri()}?mode=rw", uri=True)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open {source_path}: {exc}") from exc
    try:
        source.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        copy_database(source, dest)
    finally:
        source.close()
    copy = sqlite3.connect(f"{dest.resolve().as_uri()}?mode=ro", uri=True)
    try:
        counts = {
            table: int(copy.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
            for table in ("events", "answers", "outbox", "snapshots")
        }
        # The outbox keeps published rows (its newest one always, so ids are never reused):
        # only those not yet acknowledged by the broker are unpublished.
        counts["unpublished"] = int(
            copy.execute("SELECT COUNT(*) FROM outbox WHERE published = 0").fetchone()[0]
        )
        return counts
    finally:
        copy.close()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.data:
        print("hallq backup: give --data DIR (or set HALLQ_DATA_DIR)", file=sys.stderr)
        return 2
    started = time.monotonic()
    dest = Path(args.to)
    try:
        counts = backup(Path(args.data), dest)
    except (StorageError, OSError) as exc:
        print(f"hallq backup: {exc}", file=sys.stderr)
        return 1
    seconds = time.monotonic() - started
    print(
        f"hallq backup: {dest} ({dest.stat().st_size} bytes, {seconds:.2f} s): "
        f"{counts['events']} events, {counts['answers']} stored answers, "
        f"{counts['unpublished']} unpublished calls, {counts['snapshots']} snapshots"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
