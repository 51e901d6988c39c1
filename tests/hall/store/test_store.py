"""The durable store on a real SQLite file: WAL + synchronous=FULL, atomic batches, real failures."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hall.store.store import (
    CommandRecord,
    StorageError,
    Store,
    StoreInUse,
    StoreMismatch,
    db_path,
)

DAY = "2026-11-26"


def event(kind: str, n: int, **extra: object) -> dict[str, object]:
    return {"type": kind, "at": f"2026-11-26T09:{n // 60:02d}:{n % 60:02d}+08:00", "n": n, **extra}


def record(n: int, device: str = "k1", outbox: int = 0, answer: bool = True) -> CommandRecord:
    return CommandRecord(
        business_day=DAY,
        events=[event("ticket_issued", n, number=f"A{n:03d}"), event("queue_changed", n)],
        device=device if answer else None,
        request_id=f"r{n}" if answer else None,
        answer=f'{{"v":1,"id":"r{n}","ok":true}}'.encode() if answer else None,
        outbox=[("hallq/s/calls", f'{{"seq":{n},"i":{i}}}'.encode()) for i in range(outbox)],
        stored_at=1_800_000_000.0 + n,
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "data", "demo")


def test_open_asserts_wal_and_synchronous_full(store: Store, tmp_path: Path) -> None:
    assert store.pragmas() == ("wal", 2)
    # The journal mode is a property of the file: an independent connection sees it too.
    other = sqlite3.connect(db_path(tmp_path / "data"))
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()


def test_a_batch_is_written_and_read_back_in_order(store: Store) -> None:
    result = store.write_batch([record(1), record(2, outbox=2), record(3, answer=False)])
    assert result.events_written == 6
    assert result.last_event_id == 6
    assert len(result.outbox_ids) == 2
    loaded = store.load()
    assert loaded.snapshot is None
    assert [e["n"] for e in loaded.events] == [1, 1, 2, 2, 3, 3]
    assert loaded.events[0] == event("ticket_issued", 1, number="A001")
    assert loaded.last_event_id == 6
    assert store.answer_for("k1", "r2") == b'{"v":1,"id":"r2","ok":true}'
    assert store.answer_for("k1", "r3") is None
    assert store.answer_for("k2", "r2") is None
    assert [(d, e["type"]) for _, d, e in store.events()][:2] == [
        (DAY, "ticket_issued"),
        (DAY, "queue_changed"),
    ]


def test_answers_are_kept_as_exact_bytes(store: Store) -> None:
    raw = '{"v":1,"id":"x","ok":false,"error":{"code":"queue_empty","message":"无人等候"}}'.encode()
    store.write_batch(
        [CommandRecord(DAY, [], device="w05", request_id="x", answer=raw, stored_at=1.0)]
    )
    assert store.answer_for("w05", "x") == raw


def test_outbox_keeps_commit_order_until_published_and_never_reuses_an_id(store: Store) -> None:
    first = store.write_batch([record(1, outbox=2), record(2, outbox=1)]).outbox_ids
    pending = store.pending_outbox()
    assert [m.id for m in pending] == list(first)
    assert [m.payload for m in pending] == [
        b'{"seq":1,"i":0}',
        b'{"seq":1,"i":1}',
        b'{"seq":2,"i":0}',
    ]
    assert pending[0].topic == "hallq/s/calls"
    store.mark_published(first[:2])
    assert store.pragmas() == ("wal", 2)  # the mark's cheaper sync level does not linger
    assert [m.id for m in store.pending_outbox()] == [first[2]]
    store.mark_published([first[2]])
    assert store.pending_outbox() == []
    again = store.write_batch([record(3, outbox=1)]).outbox_ids
    assert again[0] > max(first)  # a stale mark_published can never drop a newer message
    assert store.pending_outbox(limit=5)[0].id == again[0]


def test_load_starts_from_the_newest_snapshot(store: Store) -> None:
    store.write_batch([record(1), record(2)])
    store.write_batch([record(3)], snapshot={"state": "after 3", "tickets": ["A003"]})
    store.write_batch([record(4)])
    loaded = store.load()
    assert loaded.snapshot == {"state": "after 3", "tickets": ["A003"]}
    assert loaded.snapshot_event_id == 6
    assert [e["n"] for e in loaded.events] == [4, 4]
    assert loaded.last_event_id == 8
    assert store.save_snapshot({"state": "after 4"}) == 8
    assert store.load().events == []
    assert store.load().snapshot == {"state": "after 4"}


def test_only_the_newest_snapshots_are_kept(store: Store) -> None:
    for n in range(5):
        store.write_batch([record(n)], snapshot={"n": n})
    assert store.counts()["snapshots"] == 2
    assert store.load().snapshot == {"n": 4}


def test_reopening_gives_everything_back(tmp_path: Path) -> None:
    with Store(tmp_path, "demo") as store:
        store.write_batch([record(n, outbox=1) for n in range(1, 51)])
    with Store(tmp_path, "demo") as store:
        assert len(store.load().events) == 100
        assert len(store.pending_outbox()) == 50
        assert store.answer_for("k1", "r50") is not None
        assert store.counts() == {"events": 100, "answers": 50, "outbox": 50, "snapshots": 0}


def test_a_store_of_another_site_is_refused(tmp_path: Path) -> None:
    Store(tmp_path, "demo").close()
    with pytest.raises(StoreMismatch, match="belongs to site 'demo'"):
        Store(tmp_path, "other-hall")


def test_one_process_at_a_time_writes_a_data_folder(tmp_path: Path) -> None:
    store = Store(tmp_path, "demo")
    with pytest.raises(StoreInUse, match=f"pid {os.getpid()}"):
        Store(tmp_path, "demo")
    store.close()
    Store(tmp_path, "demo").close()
    # Another process holds it: refused with its pid; once that process is killed, it is free.
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        with pytest.raises(StoreInUse, match=f"pid {holder.pid}"):
            Store(tmp_path, "demo")
    finally:
        holder.kill()
        holder.wait()
    with Store(tmp_path, "demo") as again:
        assert again.pragmas() == ("wal", 2)


ROOT = str(Path(__file__).resolve().parents[3])
HOLDER = f"""
import sys, time
sys.path.insert(0, {ROOT!r})
from hall.store.store import Store
store = Store(sys.argv[1], "demo")
print("holding", flush=True)
time.sleep(60)
"""


def test_a_store_of_a_development_schema_is_refused(tmp_path: Path) -> None:
    with Store(tmp_path, "demo") as store:
        store._db.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    with pytest.raises(StoreMismatch, match="development version"):
        Store(tmp_path, "demo")
    # Once fixed, the refused folder opens: the failed open let go of its lock.
    other = sqlite3.connect(db_path(tmp_path))
    other.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    other.commit()
    other.close()
    Store(tmp_path, "demo").close()


def test_old_answers_and_published_calls_are_purged(store: Store) -> None:
    ids = store.write_batch([record(n, outbox=1) for n in range(1, 11)]).outbox_ids
    store.mark_published(ids)
    assert store.purge(answers_before=1_800_000_000.0 + 6) == 5
    assert store.answer_for("k1", "r5") is None
    assert store.answer_for("k1", "r6") is not None
    assert store.counts()["events"] == 20  # events are kept for statistics
    assert store.counts()["outbox"] == 1  # the newest stays, so its id is never given again
    assert store.write_batch([record(11, outbox=1)]).outbox_ids == (max(ids) + 1,)
    with pytest.raises(StorageError, match="already stored"):
        store.write_batch([record(6)])
    store.write_batch([record(5)])  # purged: the key is free again


def test_a_stored_key_is_never_written_twice(store: Store) -> None:
    store.write_batch([record(1)])
    with pytest.raises(StorageError, match="already stored"):
        store.write_batch([record(2), record(1)])
    with pytest.raises(StorageError, match="already stored"):
        store.write_batch([record(3), record(3)])
    _assert_untouched(store, 2, 1, 0)


def _assert_untouched(store: Store, events: int, answers: int, outbox: int) -> None:
    counts = store.counts()
    assert (counts["events"], counts["answers"], counts["outbox"]) == (events, answers, outbox)


def test_a_full_disk_fails_the_whole_batch_and_the_store_goes_on(store: Store) -> None:
    store.write_batch([record(1, outbox=1)])
    before = store.counts()
    # Make the file "full": no page beyond the ones it has now.
    store.set_max_page_count(store.page_count())
    big = CommandRecord(
        DAY,
        [event("big", 2, blob="x" * 100_000)],
        device="k1",
        request_id="r2",
        answer=b"answer",
        outbox=[("hallq/s/calls", b"call")],
    )
    with pytest.raises(StorageError, match="full"):
        store.write_batch([record(3, outbox=1), big])
    _assert_untouched(store, before["events"], before["answers"], before["outbox"])
    assert store.answer_for("k1", "r3") is None
    # Room again (an operator freed space): the same store writes on.
    store.set_max_page_count(1_000_000)
    store.write_batch([record(3, outbox=1), big])
    assert store.answer_for("k1", "r2") == b"answer"
    assert len(store.pending_outbox()) == 3


def test_a_locked_database_fails_the_batch_without_writing(tmp_path: Path) -> None:
    store = Store(tmp_path, "demo", busy_timeout_ms=50)
    store.write_batch([record(1)])
    other = sqlite3.connect(db_path(tmp_path), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        with pytest.raises(StorageError, match="locked"):
            store.write_batch([record(2), record(3)])
    finally:
        other.execute("ROLLBACK")
        other.close()
    _assert_untouched(store, 2, 1, 0)
    store.write_batch([record(2)])
    _assert_untouched(store, 4, 2, 0)


def test_a_failure_late_in_the_batch_rolls_back_its_start(store: Store) -> None:
    store.write_batch([record(1)])
    # SQLite refuses the second record's answer after the batch's events are already inserted.
    unbindable = CommandRecord(DAY, [event("e", 9)], "k1", "r9", ["not", "bytes"])  # type: ignore[arg-type]
    with pytest.raises(StorageError):
        store.write_batch([record(2, outbox=1), unbindable])
    _assert_untouched(store, 2, 1, 0)
    assert store.answer_for("k1", "r2") is None
    store.write_batch([record(2)])


def test_a_read_only_file_fails_writes_but_reads_go_on(tmp_path: Path) -> None:
    with Store(tmp_path, "demo") as first:
        first.write_batch([record(1)])
    # A read-only connection stands for a file the hall may no longer write (root ignores chmod).
    store = Store(tmp_path, "demo")
    store._db.execute("PRAGMA query_only = ON")
    with pytest.raises(StorageError, match=r"readonly|read-only|query_only"):
        store.write_batch([record(2)])
    assert store.answer_for("k1", "r1") is not None
    assert len(store.load().events) == 2


def test_the_store_can_be_used_from_two_threads(store: Store) -> None:
    errors: list[BaseException] = []

    def write(base: int) -> None:
        try:
            for n in range(base, base + 50):
                store.write_batch([record(n, outbox=1)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(b,)) for b in (0, 1000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.counts()["events"] == 200


def test_backup_is_a_whole_single_file_copy(store: Store, tmp_path: Path) -> None:
    store.write_batch([record(n, outbox=1) for n in range(1, 21)], snapshot={"n": 20})
    dest = tmp_path / "backups" / "hall-copy.sqlite3"
    store.backup(dest)
    assert not dest.with_name(dest.name + ".partial").exists()
    copy = sqlite3.connect(dest)
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 40
    copy.close()
    # A backup is a data folder's store: put it in place and the hall opens it.
    restored = tmp_path / "restored"
    restored.mkdir()
    dest.replace(db_path(restored))
    with Store(restored, "demo") as again:
        assert again.load().snapshot == {"n": 20}
        assert again.answer_for("k1", "r20") is not None
