"""`hallq backup`: a consistent copy of a store that another process is writing to at that moment."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import pytest

from hall.store.clock import FixedClock
from hall.store.core import HallCore
from hall.store.store import Store, db_path
from hall.tools.backup_cli import main
from tests.fixtures.halls import small_hall

ROOT = Path(__file__).resolve().parents[3]

# A writer in another process: every batch is 2 commands of 3 events, 1 answer and 1 outbox
# message each, so any torn copy breaks `events == 3 * answers`.
WRITER = textwrap.dedent(
    """
    import sys, time
    from hall.store.store import CommandRecord, Store
    store = Store(sys.argv[1], "demo")
    n = 0
    while True:
        batch = []
        for _ in range(2):
            n += 1
            batch.append(CommandRecord(
                "2026-11-26",
                [{"type": "e", "at": "t", "n": n, "i": i} for i in range(3)],
                device="k1", request_id=f"r{n}", answer=b"answer %d" % n,
                outbox=[("hallq/demo/calls", b"call %d" % n)], stored_at=time.time(),
            ))
        store.write_batch(batch, snapshot={"n": n} if n % 200 == 0 else None)
        if n % 14 == 0:
            store.mark_published(m.id for m in store.pending_outbox())
        if n == 2:
            print("ready", flush=True)
    """
)


@pytest.fixture
def running_writer(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(data)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        yield data
    finally:
        writer.kill()
        writer.wait()


def test_backup_of_a_hall_that_is_writing_is_consistent(
    running_writer: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers_seen = []
    for i in range(5):
        time.sleep(0.15)  # let the writer commit more in between
        dest = tmp_path / "backups" / f"copy{i}.sqlite3"
        assert main(["--data", str(running_writer), "--to", str(dest)]) == 0
        assert str(dest) in capsys.readouterr().out
        copy = sqlite3.connect(dest)
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        events, answers = (
            copy.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("events", "answers")
        )
        assert events == 3 * answers  # whole batches only
        # The last answer's batch is wholly there, and its outbox message too unless published.
        last = copy.execute("SELECT MAX(CAST(substr(request_id, 2) AS INTEGER)) FROM answers")
        n = last.fetchone()[0]
        assert n % 2 == 0
        assert copy.execute("SELECT MAX(json_extract(body, '$.n')) FROM events").fetchone()[0] == n
        copy.close()
        answers_seen.append(answers)
    assert answers_seen == sorted(answers_seen)
    assert answers_seen[-1] > answers_seen[0]  # the hall kept writing while we copied

    # The copy is a store: restored into a data folder, it opens and loads.
    restored = tmp_path / "restored"
    restored.mkdir()
    (tmp_path / "backups" / "copy4.sqlite3").replace(db_path(restored))
    with Store(restored, "demo") as store:
        loaded = store.load()
        assert store.counts()["answers"] == answers_seen[-1]
        assert all(e["type"] == "e" for e in loaded.events)


def test_backup_of_a_running_hall_core_restores_to_a_consistent_hall(tmp_path: Path) -> None:
    """The real thing: a HallCore process serving requests while the copy is taken."""
    data = tmp_path / "data"
    worker_script = str(Path(__file__).parents[1] / "store" / "crash_worker.py")
    worker = subprocess.Popen(
        [sys.executable, worker_script, str(data), str(time.time()), "50"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert worker.stdin is not None and worker.stdout is not None
    lines = [
        b"0\twindow\tw02\t"
        + json.dumps({"v": 1, "id": "l", "op": "login", "clerk": "c0201"}).encode()
    ]
    for n in range(1, 20000):
        body = (
            {"v": 1, "id": f"i{n}", "op": "issue", "service": "psb-id-card"}
            if n % 2
            else {"v": 1, "id": f"c{n}", "op": "call_next"}
        )
        device = "kiosk\tk1" if n % 2 else "window\tw02"
        lines.append(f"{n}\t{device}\t".encode() + json.dumps(body).encode())
    feeder = threading.Thread(target=_feed, args=(worker.stdin, lines), daemon=True)
    try:
        assert worker.stdout.readline().strip() == b"ready"
        feeder.start()
        for _ in range(300):  # the hall is busy answering
            worker.stdout.readline()
        dest = tmp_path / "copy.sqlite3"
        assert main(["--data", str(data), "--to", str(dest)]) == 0
    finally:
        worker.kill()
        worker.wait()
        feeder.join(5)
    restored = tmp_path / "restored"
    restored.mkdir()
    dest.replace(db_path(restored))
    clock = FixedClock(datetime(2026, 11, 26, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai")))
    with HallCore(small_hall(), restored, clock) as hall:
        issued = {}
        for n in range(1, 20000, 2):
            stored = hall.store.answer_for("k1", f"i{n}")
            if stored is not None:
                ticket = json.loads(stored)["result"]["ticket"]
                issued[ticket["id"]] = ticket["number"]
        assert 100 < len(issued) < 9999  # taken while the hall was still working
        state = hall.engine.state
        # Whole batches only: every stored answer has its ticket, and every ticket its answer.
        assert {t.id: t.number for t in state.tickets.values()} == issued
        calls = [json.loads(m.payload)["seq"] for m in hall.store.pending_outbox()]
        assert calls == list(range(1, state.call_seq + 1))


def _feed(stdin: IO[bytes], lines: list[bytes]) -> None:
    with contextlib.suppress(OSError):
        for line in lines:
            stdin.write(line + b"\n")
        stdin.flush()


def test_backup_through_the_hallq_command(running_writer: Path, tmp_path: Path) -> None:
    dest = tmp_path / "via-cli.sqlite3"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hallq.cli",
            "backup",
            "--data",
            str(running_writer),
            "--to",
            str(dest),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "events" in done.stdout
    assert sqlite3.connect(dest).execute("PRAGMA quick_check").fetchone()[0] == "ok"


def test_backup_says_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["--data", str(tmp_path / "nothing"), "--to", str(tmp_path / "x")]) == 1
    assert "no hall store" in capsys.readouterr().err
    assert not (tmp_path / "nothing").exists()  # never creates an empty store
    Store(tmp_path / "data", "demo").close()
    live = db_path(tmp_path / "data")
    assert main(["--data", str(tmp_path / "data"), "--to", str(live)]) == 1
    assert "live store" in capsys.readouterr().err
    monkeypatch.delenv("HALLQ_DATA_DIR", raising=False)
    assert main(["--to", str(tmp_path / "x")]) == 2
    monkeypatch.setenv("HALLQ_DATA_DIR", str(tmp_path / "data"))
    assert main(["--to", str(tmp_path / "from-env.sqlite3")]) == 0


def test_backup_counts_only_the_calls_not_yet_published(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 13, fault 6: it printed "3 unpublished calls" when all three had been published.
    from hall.store.store import CommandRecord

    data = tmp_path / "data"
    with Store(data, "demo") as store:
        store.write_batch(
            [
                CommandRecord(
                    "2026-11-26",
                    [{"type": "e", "at": "t"}],
                    outbox=[("hallq/demo/calls", b"call %d" % n)],
                    stored_at=time.time(),
                )
                for n in range(3)
            ]
        )
        store.mark_published(m.id for m in store.pending_outbox())
        store.write_batch(
            [
                CommandRecord(
                    "2026-11-26",
                    [{"type": "e", "at": "t"}],
                    outbox=[("hallq/demo/calls", b"call 4")],
                    stored_at=time.time(),
                )
            ]
        )
    assert main(["--data", str(data), "--to", str(tmp_path / "copy.sqlite3")]) == 0
    assert " 1 unpublished calls" in capsys.readouterr().out
