"""The hall's durable store: SQLite in WAL mode with synchronous=FULL, one transaction per batch.

What is kept, and why:
- events: every event the engine ever produced (statistics read them; a restart replays them);
- answers: the exact bytes answered to `(device, request id)`, so a retried request gets the same
  bytes without the work being done twice (purged after 7 days);
- outbox: `calls` messages committed but not yet published (publish-after-commit; after a crash the
  service publishes what is left, in commit order);
- snapshots: the engine's state as of an event id, so a restart never replays months;
- meta: the schema version and the site the store belongs to.

A batch of commands goes in with `write_batch()` (the durable write; the handlers' in-memory
apply is another thing) in ONE transaction (one fsync of the WAL); any SQLite error rolls the whole
batch back and raises StorageError, so nothing is ever half-written.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from contract.protocol import dumps_text

log = logging.getLogger(__name__)

DB_NAME = "hall.sqlite3"
LOCK_NAME = "hall.lock"
SCHEMA_VERSION = 2  # 1: development only (answers keyed in SQLite)
ANSWER_DAYS = 7  # the contract asks for at least 24 hours; the issue for 7 days
SNAPSHOTS_KEPT = 2  # the newest one is used; the one before it is the fallback if it cannot be read
BUSY_TIMEOUT_MS = 2000  # a backup's reader never blocks us in WAL; this covers checkpoints

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id           INTEGER PRIMARY KEY,
    business_day TEXT NOT NULL,
    type         TEXT NOT NULL,
    at           TEXT NOT NULL,
    body         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS answers (
    id         INTEGER PRIMARY KEY,
    device     TEXT NOT NULL,
    request_id TEXT NOT NULL,
    answer     BLOB NOT NULL,
    stored_at  REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS answers_by_key ON answers (device, request_id);
CREATE TABLE IF NOT EXISTS outbox (
    id        INTEGER PRIMARY KEY,
    topic     TEXT NOT NULL,
    payload   BLOB NOT NULL,
    published INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS snapshots (
    id            INTEGER PRIMARY KEY,
    last_event_id INTEGER NOT NULL,
    taken_at      TEXT NOT NULL,
    body          TEXT NOT NULL
);
"""
# Why the tables are shaped so (each page a commit touches is one more write to the WAL before its
# fsync): events, answers and outbox only ever append, so a command dirties the last leaf of each
# and rarely more. The answers' lookup key (device, request id) is a unique index on disk: random
# request ids touch a random leaf of it per commit (one page more to write), but memory stays flat
# whatever the traffic (an in-memory key map grew by ~270 bytes per stored answer, kept 7 days:
# 30,000 refused requests cost 8 MB of resident memory). No index on events: a business day's events
# are one id range.
# The outbox keeps its newest row even when published, so INTEGER PRIMARY KEY never reuses an id.
# Ids are given explicitly from counters kept in memory (one writer per store: see _claim).
_INSERT_EVENT = "INSERT INTO events (id, business_day, type, at, body) VALUES (?, ?, ?, ?, ?)"
_INSERT_ANSWER = (
    "INSERT INTO answers (id, device, request_id, answer, stored_at) VALUES (?, ?, ?, ?, ?)"
)
_INSERT_OUTBOX = "INSERT INTO outbox (id, topic, payload) VALUES (?, ?, ?)"


class StorageError(Exception):
    """The store could not do what was asked; nothing of the failed transaction was written."""


class StoreInUse(StorageError):
    """Another process has this data folder's store open for writing."""


class StoreMismatch(StorageError):
    """The data folder belongs to another site or a newer schema: refuse rather than mix halls."""


class SnapshotUnreadable(ValueError):
    """A stored snapshot cannot be decoded (damaged, or written by a version whose fields were
    renamed since): the core falls back to the one before it, or to a replay of every event."""

    def __init__(self, snapshot_id: int, last_event_id: int, taken_at: str, reason: str) -> None:
        self.snapshot_id = snapshot_id
        self.last_event_id = last_event_id
        self.taken_at = taken_at
        self.reason = reason
        super().__init__(f"{self.name} cannot be decoded: {reason}")

    @property
    def name(self) -> str:
        return snapshot_name(self.snapshot_id, self.last_event_id, self.taken_at)


def snapshot_name(snapshot_id: int, last_event_id: int, taken_at: str) -> str:
    """How the log names a snapshot: `snapshot 7 (at event 5000, taken 2026-12-07T01:02:03Z)`."""
    return f"snapshot {snapshot_id} (at event {last_event_id}, taken {taken_at})"


@dataclass(frozen=True)
class CommandRecord:
    """What one command leaves in the store.

    `device`/`request_id`/`answer`: the idempotency row (all three, or no row: answers without an id,
    `storage_error` and `unknown_device` are never stored). `events`: the engine's event dicts, each
    with "type" and "at". `outbox`: (topic, payload) messages to publish after the commit, in order.
    """

    business_day: str
    events: Sequence[dict[str, Any]] = ()
    device: str | None = None
    request_id: str | None = None
    answer: bytes | None = None
    outbox: Sequence[tuple[str, bytes]] = ()
    stored_at: float = 0.0  # the hall's time (epoch seconds) of the answer, for the 7-day purge


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    topic: str
    payload: bytes


@dataclass(frozen=True)
class Loaded:
    """The newest snapshot (None: start from nothing) and every event after it, in order."""

    snapshot: dict[str, Any] | None
    snapshot_event_id: int
    events: list[dict[str, Any]] = field(default_factory=list)
    last_event_id: int = 0
    snapshot_id: int = 0  # its row (0: no snapshot)
    snapshot_taken_at: str = ""

    @property
    def snapshot_name(self) -> str:
        return snapshot_name(self.snapshot_id, self.snapshot_event_id, self.snapshot_taken_at)

    def unreadable(self, reason: str) -> SnapshotUnreadable:
        """This snapshot could not be decoded (by the engine: its fields are not what it reads)."""
        return SnapshotUnreadable(
            self.snapshot_id, self.snapshot_event_id, self.snapshot_taken_at, reason
        )


@dataclass(frozen=True)
class CommitResult:
    last_event_id: int
    events_written: int
    outbox_ids: tuple[int, ...]


class Store:
    """One hall's store in `data_dir`. Thread-safe (one lock); the service uses it from one worker."""

    def __init__(self, data_dir: str | Path, site: str, busy_timeout_ms: int = BUSY_TIMEOUT_MS):
        self.data_dir = Path(data_dir)
        self.path = db_path(self.data_dir)
        self.site = site
        self._lock = threading.Lock()
        self._owner = _claim(self.data_dir)
        try:
            # Autocommit mode: the transactions are ours (BEGIN IMMEDIATE ... COMMIT), not the module's.
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, cached_statements=64
            )
            self._configure(busy_timeout_ms)
            self._db.executescript(_SCHEMA)
            self._check_meta()
            self._last_ids = {
                table: self._max_id(table) for table in ("events", "answers", "outbox")
            }
        except (sqlite3.Error, OSError) as exc:
            self._abandon()
            raise StorageError(f"cannot open the store {self.path}: {exc}") from exc
        except BaseException:
            self._abandon()
            raise
        log.info("store opened: %s (site %s, journal=wal, synchronous=full)", self.path, site)

    def _abandon(self) -> None:
        """A failed open: let go of the connection and the folder."""
        db = getattr(self, "_db", None)
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                db.close()
        self._owner.close()

    # --- set-up -----------------------------------------------------------------------------------

    def _configure(self, busy_timeout_ms: int) -> None:
        db = self._db
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        db.execute("PRAGMA synchronous = FULL")
        sync = db.execute("PRAGMA synchronous").fetchone()[0]
        # A store that silently fell back to another journal or sync level would lose printed tickets
        # in a power cut: refuse to run instead.
        if str(mode).lower() != "wal" or int(sync) != 2:
            raise StorageError(
                f"{self.path}: journal_mode={mode}, synchronous={sync}; need wal and FULL (2)"
            )
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute("PRAGMA temp_store = MEMORY")

    def _check_meta(self) -> None:
        rows = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        if not rows:
            with self._transaction():
                self._db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [
                        ("schema", str(SCHEMA_VERSION)),
                        ("site", self.site),
                        ("created_at", str(time.time())),
                    ],
                )
            return
        schema = int(rows.get("schema", "0"))
        if schema > SCHEMA_VERSION:
            raise StoreMismatch(
                f"{self.path}: written by a newer hallq (schema {schema}); upgrade hallq"
            )
        if schema < SCHEMA_VERSION:
            raise StoreMismatch(
                f"{self.path}: written by a development version of hallq (schema {schema}): "
                "move that data folder away and start with an empty one"
            )
        if rows.get("site") != self.site:
            raise StoreMismatch(
                f"{self.path}: belongs to site {rows.get('site')!r}, not {self.site!r}: "
                "give this hall its own --data folder"
            )

    def pragmas(self) -> tuple[str, int]:
        """(journal_mode, synchronous) as SQLite reports them now."""
        with self._lock:
            mode = self._db.execute("PRAGMA journal_mode").fetchone()[0]
            sync = self._db.execute("PRAGMA synchronous").fetchone()[0]
        return str(mode), int(sync)

    def set_max_page_count(self, pages: int) -> int:
        """Cap the file's size (tests use it to make the disk 'full'); returns the cap in force."""
        with self._lock:
            return int(self._db.execute(f"PRAGMA max_page_count = {int(pages)}").fetchone()[0])

    def page_count(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA page_count").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            try:
                self._db.close()
            except sqlite3.Error as exc:  # closing is best effort: the commits are already durable
                log.warning("store close: %s", exc)
            self._owner.close()  # releases the folder for the next hall process

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; any SQLite error rolls back and becomes StorageError."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except sqlite3.IntegrityError as exc:  # the unique key of answers: a repeat
            self._rollback()
            raise StorageError(
                f"an answer to one of these requests is already stored: nothing written ({exc})"
            ) from exc
        except sqlite3.Error as exc:
            self._rollback()
            raise StorageError(f"store write failed, nothing written: {exc}") from exc
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        except sqlite3.Error as exc:  # SQLite may already have rolled back (e.g. SQLITE_FULL)
            log.warning("store rollback: %s", exc)

    def write_batch(
        self, records: Sequence[CommandRecord], snapshot: dict[str, Any] | None = None
    ) -> CommitResult:
        """Write a batch of commands in ONE transaction; with `snapshot`, the engine state after it.

        Raises StorageError (and writes nothing) on any failure, also for an idempotency key that is
        already stored (the caller answers those from `answer_for` instead).
        """
        snapshot_body = None if snapshot is None else dumps_text(snapshot)
        with self._lock:  # ids come from the counters: the whole batch is put together under it
            last = dict(self._last_ids)
            events: list[tuple[int, str, str, str, str]] = []
            answers: list[tuple[int, str, str, bytes, float]] = []
            outbox: list[tuple[int, str, bytes]] = []
            keys: set[tuple[str, str]] = set()
            for record in records:
                day = record.business_day
                for event in record.events:
                    last["events"] += 1
                    body = dumps_text(event)
                    events.append((last["events"], day, event["type"], event["at"], body))
                if record.answer is not None:
                    if record.device is None or record.request_id is None:
                        raise ValueError("an answer is stored under a device and a request id")
                    key = (record.device, record.request_id)
                    if key in keys:
                        raise StorageError(f"an answer to {key} is already stored: nothing written")
                    last["answers"] += 1
                    keys.add(key)
                    answers.append((last["answers"], *key, record.answer, record.stored_at))
                for topic, payload in record.outbox:
                    last["outbox"] += 1
                    outbox.append((last["outbox"], topic, payload))
            with self._transaction() as db:
                if events:
                    db.executemany(_INSERT_EVENT, events)
                if answers:
                    db.executemany(_INSERT_ANSWER, answers)
                if outbox:
                    db.executemany(_INSERT_OUTBOX, outbox)
                if snapshot_body is not None:
                    self._insert_snapshot(db, snapshot_body, last["events"])
            # Committed: only now do the counters move on.
            self._last_ids = last
        return CommitResult(last["events"], len(events), tuple(row[0] for row in outbox))

    def _max_id(self, table: str) -> int:
        return int(self._db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0])

    @staticmethod
    def _insert_snapshot(db: sqlite3.Connection, body: str, last_event_id: int) -> None:
        db.execute(
            "INSERT INTO snapshots (last_event_id, taken_at, body) VALUES (?, ?, ?)",
            (last_event_id, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), body),
        )
        db.execute(
            "DELETE FROM snapshots WHERE id NOT IN "
            "(SELECT id FROM snapshots ORDER BY id DESC LIMIT ?)",
            (SNAPSHOTS_KEPT,),
        )

    def save_snapshot(self, snapshot: dict[str, Any]) -> int:
        """Store the engine's state as of the newest event; returns that event id."""
        body = dumps_text(snapshot)
        with self._lock, self._transaction() as db:
            last = self._last_ids["events"]
            self._insert_snapshot(db, body, last)
        log.info("snapshot saved at event %d (%d bytes)", last, len(body))
        return last

    # --- reads --------------------------------------------------------------------------------------

    def load(self, older: int = 0) -> Loaded:
        """The newest snapshot and the events after it: what a restart rebuilds the engine from.

        `older`: skip that many of the newest snapshots (they could not be decoded); with no
        snapshot left, every event from the first. Raises SnapshotUnreadable if the snapshot's
        JSON is damaged.
        """
        try:
            with self._lock:
                return _load(self._db, older)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read the store {self.path}: {exc}") from exc

    def answer_for(self, device: str, request_id: str) -> bytes | None:
        """The stored answer to `(device, request id)`, byte-identical, or None."""
        try:
            with self._lock:
                row = self._db.execute(
                    "SELECT answer FROM answers WHERE device = ? AND request_id = ?",
                    (device, request_id),
                ).fetchone()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read an answer: {exc}") from exc
        return None if row is None else bytes(row[0])

    def pending_outbox(self, limit: int | None = None) -> list[OutboxMessage]:
        """Committed messages not yet marked published, in commit order."""
        sql = "SELECT id, topic, payload FROM outbox WHERE published = 0 ORDER BY id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        try:
            with self._lock:
                rows = self._db.execute(sql).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read the outbox: {exc}") from exc
        return [OutboxMessage(int(i), str(t), bytes(p)) for i, t, p in rows]

    def mark_published(self, ids: Iterable[int]) -> None:
        """Note messages as published.

        Written without its own fsync (synchronous=NORMAL for this one transaction): the next
        commit's fsync makes it durable. Losing a mark in a power cut only means publishing that call
        again, with its same `seq`, which the contract allows; it saves an fsync per published batch.
        """
        rows = [(i,) for i in ids]
        if not rows:
            return
        with self._lock:
            self._db.execute("PRAGMA synchronous = NORMAL")
            try:
                with self._transaction() as db:
                    db.executemany("UPDATE outbox SET published = 1 WHERE id = ?", rows)
            finally:
                self._db.execute("PRAGMA synchronous = FULL")

    def purge(self, answers_before: float) -> int:
        """Forget answers stored before `answers_before` (epoch seconds of the hall's time) and the
        published calls (but the newest row, so no id is ever reused). Returns answers purged."""
        with self._lock, self._transaction() as db:
            count = db.execute(
                "DELETE FROM answers WHERE stored_at < ?", (answers_before,)
            ).rowcount
            db.execute(
                "DELETE FROM outbox WHERE published = 1 AND id < (SELECT MAX(id) FROM outbox)"
            )
        if count:
            log.info("purged %d stored answers older than %s", count, answers_before)
        return int(count)

    def counts(self) -> dict[str, int]:
        """Rows per table, for tests, the backup report and operators."""
        out = {}
        with self._lock:
            for table in ("events", "answers", "outbox", "snapshots"):
                out[table] = int(self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
        return out

    def events(self, after: int = 0) -> list[tuple[int, str, dict[str, Any]]]:
        """(id, business day, event dict) after an event id: for statistics and tests."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, business_day, body FROM events WHERE id > ? ORDER BY id", (after,)
            ).fetchall()
        return [(int(i), str(d), json.loads(b)) for i, d, b in rows]

    def rows_until(
        self, last_event_id: int, types: Iterable[str], chunk: int = 10_000
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """(business day, event dict) of the events of these types up to an event id, oldest
        first, read a chunk at a time: to rebuild what a snapshot written before an upgrade
        lacks (hall/store/core.py rebuild_cases) without holding a year of events at once."""
        kinds = tuple(types)
        marks = ",".join("?" * len(kinds))
        after = 0
        while True:
            with self._lock:
                rows = self._db.execute(
                    f"SELECT id, business_day, body FROM events WHERE id > ? AND id <= ? "
                    f"AND type IN ({marks}) ORDER BY id LIMIT ?",
                    (after, last_event_id, *kinds, chunk),
                ).fetchall()
            for _, day, body in rows:
                yield str(day), json.loads(body)
            if len(rows) < chunk:
                return
            after = int(rows[-1][0])

    # --- backup -------------------------------------------------------------------------------------

    def backup(self, dest: str | Path) -> None:
        """A consistent copy of the store in `dest`, through SQLite's online backup API."""
        with self._lock:
            copy_database(self._db, Path(dest))


def _claim(data_dir: Path) -> IO[str]:
    """Take the data folder for this process: one writer per store, or numbers would repeat.

    An flock on `hall.lock`; the kernel drops it when the process dies, even by SIGKILL.
    """
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        handle = (data_dir / LOCK_NAME).open("a+")
    except OSError as exc:
        raise StorageError(f"cannot use the data folder {data_dir}: {exc}") from exc
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise StoreInUse(
            f"the data folder {data_dir} is in use by another hall process (pid {holder}): "
            "stop it, or give this one its own --data folder"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def read_only_load(data_dir: str | Path, older: int = 0) -> Loaded:
    """What `Store.load` gives, read without taking the folder (the server may be running):
    for `hallq check-config --data`, which only looks."""
    path = db_path(data_dir)
    if not path.exists():
        raise StorageError(f"no store in {data_dir} ({path.name} not found)")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot read the store {path}: {exc}") from exc
    try:
        return _load(db, older)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot read the store {path}: {exc}") from exc
    finally:
        db.close()


def _load(db: sqlite3.Connection, older: int) -> Loaded:
    """The snapshot `older` places before the newest (none left: no snapshot), and every event
    after it, read in one transaction so that they agree even while another connection writes."""
    db.execute("BEGIN")
    try:
        row = db.execute(
            "SELECT id, last_event_id, taken_at, body FROM snapshots "
            "ORDER BY id DESC LIMIT 1 OFFSET ?",
            (older,),
        ).fetchone()
        after = 0 if row is None else int(row[1])
        bodies = db.execute(
            "SELECT id, body FROM events WHERE id > ? ORDER BY id", (after,)
        ).fetchall()
    finally:
        db.execute("COMMIT")
    last = bodies[-1][0] if bodies else after
    if row is None:
        return Loaded(None, 0, [json.loads(body) for _, body in bodies], last)
    snapshot_id, taken_at = int(row[0]), str(row[2])
    try:
        snapshot = json.loads(row[3])
    except ValueError as exc:  # a damaged body (UnicodeDecodeError is a ValueError too)
        raise SnapshotUnreadable(snapshot_id, after, taken_at, f"not JSON ({exc})") from exc
    if not isinstance(snapshot, dict):
        raise SnapshotUnreadable(snapshot_id, after, taken_at, "not a JSON object")
    events = [json.loads(body) for _, body in bodies]
    return Loaded(snapshot, after, events, last, snapshot_id, taken_at)


def db_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / DB_NAME


def copy_database(source: sqlite3.Connection, dest: Path) -> None:
    """Copy `source` to `dest` in one step (one read transaction: a consistent picture even while
    another process writes), via a temporary file renamed into place, so `dest` is whole or absent."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target)  # pages=-1: all pages in one step, under one read lock
            # A single-file copy: move it out of WAL so it is complete without a -wal sidecar.
            target.execute("PRAGMA journal_mode = DELETE")
            ok = target.execute("PRAGMA quick_check").fetchone()[0]
            if ok != "ok":
                raise StorageError(f"backup copy failed its check: {ok}")
        finally:
            target.close()
        partial.replace(dest)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise StorageError(f"backup to {dest} failed: {exc}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
