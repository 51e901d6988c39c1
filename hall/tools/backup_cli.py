"""`hallq backup --data DIR --to FILE`: a consistent copy of a hall's store, also while it runs.

`hallq backup --data DIR --into FOLDER --keep DAYS` is the nightly form (deploy/systemd's
hallq-backup.timer): the copy goes to FOLDER/hall-YYYY-MM-DD.sqlite3 (today's date on this
machine; a second run the same day replaces it), and the dated copies older than DAYS days are
deleted. Restore steps: docs/deploying.md "Backups".

SQLite's online backup API copies every page under one read transaction; in WAL mode that neither
stops nor waits for the running hall server, and the copy is the store as of one commit: never half
of a batch. The copy is a single file (no -wal sidecar): put it in an empty data folder as
`hall.sqlite3` to restore.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sqlite3
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from hall.store.store import BUSY_TIMEOUT_MS, StorageError, copy_database, db_path

log = logging.getLogger(__name__)

DATED = re.compile(r"^hall-(\d{4}-\d{2}-\d{2})\.sqlite3$")  # what --into writes and --keep prunes


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
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--to", help="the file to write the copy to")
    where.add_argument(
        "--into",
        help="a folder: the copy goes to FOLDER/hall-YYYY-MM-DD.sqlite3 (today's date)",
    )
    parser.add_argument(
        "--keep",
        type=int,
        metavar="DAYS",
        help="with --into: delete the dated copies older than DAYS days (today's counts as one)",
    )
    return parser


def dated_copy(folder: Path, day: date) -> Path:
    return folder / f"hall-{day.isoformat()}.sqlite3"


def prune(folder: Path, today: date, keep_days: int) -> list[Path]:
    """Delete the dated copies in `folder` from before the last `keep_days` days; returns them.
    Only files named as --into names them are touched: anything else in the folder stays."""
    oldest_kept = today - timedelta(days=keep_days - 1)
    removed = []
    for path in sorted(folder.iterdir()):
        match = DATED.match(path.name)
        if match is None:
            continue
        try:
            day = date.fromisoformat(match.group(1))
        except ValueError:
            continue
        if day < oldest_kept:
            path.unlink()
            removed.append(path)
    return removed


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
    if args.keep is not None and (args.into is None or args.keep < 1):
        print(
            "hallq backup: --keep DAYS goes with --into FOLDER, and DAYS is 1 or more",
            file=sys.stderr,
        )
        return 2
    started = time.monotonic()
    today = date.today()
    dest = Path(args.to) if args.to else dated_copy(Path(args.into), today)
    try:
        # Written under a temporary name and renamed (copy_database): a copy cut short (a full
        # disk) never takes a dated name, and the copies are pruned only after a good one.
        counts = backup(Path(args.data), dest)
        removed = prune(dest.parent, today, args.keep) if args.keep is not None else []
    except (StorageError, OSError) as exc:
        print(f"hallq backup: {exc}", file=sys.stderr)
        return 1
    seconds = time.monotonic() - started
    print(
        f"hallq backup: {dest} ({dest.stat().st_size} bytes, {seconds:.2f} s): "
        f"{counts['events']} events, {counts['answers']} stored answers, "
        f"{counts['unpublished']} unpublished calls, {counts['snapshots']} snapshots"
    )
    for path in removed:
        print(f"hallq backup: removed {path} (older than {args.keep} days)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
