"""A snapshot that cannot be decoded does not stop the hall (issue 12): the one before it is used,
or every event is replayed from the first, with a warning that names it and says what was done;
and how far apart snapshots are."""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contract import protocol
from hall.engine.engine import Engine
from hall.engine.model import event_from_dict, state_to_dict
from hall.store import core as core_module
from hall.store.clock import FixedClock
from hall.store.core import HallCore, Incoming
from hall.store.store import SnapshotUnreadable, Store, db_path
from tests.fixtures.halls import SITE, small_hall

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2026, 11, 26, 9, 30, tzinfo=SHANGHAI)


def issue(rid: str) -> Incoming:
    payload = protocol.dumps({"v": 1, "id": rid, "op": "issue", "service": "psb-id-card"})
    return Incoming("kiosk", "k1", payload)


def state_of(core: HallCore) -> dict[str, Any]:
    return state_to_dict(core.engine.state)


def full_replay(core: HallCore) -> dict[str, Any]:
    """The state that every stored event gives from nothing, with no snapshot."""
    engine = Engine(core.config)
    for _, _, event in core.store.events():
        engine.apply(event_from_dict(event))
    return state_to_dict(engine.state)


def snapshots(data: Path) -> list[tuple[int, int, str]]:
    """(id, last event id, body) of each stored snapshot, oldest first."""
    with sqlite3.connect(db_path(data)) as db:
        rows = db.execute("SELECT id, last_event_id, body FROM snapshots ORDER BY id").fetchall()
    return [(int(i), int(e), str(b)) for i, e, b in rows]


def rewrite(data: Path, snapshot_id: int, body: str) -> None:
    db = sqlite3.connect(db_path(data))
    db.execute("UPDATE snapshots SET body = ? WHERE id = ?", (body, snapshot_id))
    db.commit()
    db.close()


def hall_with_snapshots(data: Path, clock: FixedClock) -> dict[str, Any]:
    """30 tickets issued with a snapshot every 10 events: two snapshots kept. Its state."""
    with HallCore(small_hall(), data, clock, snapshot_every=10) as core:
        for n in range(30):
            core.execute([issue(f"r{n}")])
        before = state_of(core)
    assert len(snapshots(data)) == 2
    return before


def reopened(
    data: Path, clock: FixedClock, caplog: pytest.LogCaptureFixture, before: dict[str, Any]
) -> HallCore:
    """The hall of `hall_with_snapshots` opened again, its warnings captured: the state is as before
    and as every event replayed from nothing gives it."""
    with caplog.at_level(logging.WARNING, logger="hall.store.core"):
        core = HallCore(small_hall(), data, clock, snapshot_every=10)
    try:
        assert state_of(core) == before
        assert state_of(core) == full_replay(core)
    except AssertionError:
        core.close()
        raise
    return core


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_a_snapshot_with_a_renamed_field_gives_way_to_a_full_replay(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, clock = tmp_path / "data", FixedClock(MORNING)
    before = hall_with_snapshots(data, clock)
    # As an upgrade that renamed a ticket's `service` would find them: neither can be decoded.
    for snapshot_id, _, body in snapshots(data):
        state = json.loads(body)
        for ticket in state["tickets"]:
            ticket["service_code"] = ticket.pop("service")
        rewrite(data, snapshot_id, json.dumps(state))
    newest = snapshots(data)[-1][0]
    with reopened(data, clock, caplog, before) as core:
        said = warnings_of(caplog)
        assert any(
            f"snapshot {newest} " in line
            and "cannot be decoded" in line
            and "service" in line
            and "replayed all" in line
            for line in said
        ), said
        # Still serving, numbers going on from where they were.
        reply = json.loads(core.execute([issue("r99")]).replies[0].payload)
        assert reply["result"]["ticket"]["number"] == "A031"
        after = state_of(core)
    # A readable snapshot was stored after the fallback: the next start does not fall back.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hall.store.core"):
        again = HallCore(small_hall(), data, clock, snapshot_every=10)
    with again:
        assert state_of(again) == after
    assert not [line for line in warnings_of(caplog) if "cannot be decoded" in line]


def test_a_corrupt_newest_snapshot_gives_way_to_the_previous_one_and_the_events_after_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, clock = tmp_path / "data", FixedClock(MORNING)
    before = hall_with_snapshots(data, clock)
    (previous, previous_at, _), (newest, _, _) = snapshots(data)
    rewrite(data, newest, '{"format": 1, "tick')  # cut short, as a damaged page would leave it
    with reopened(data, clock, caplog, before):
        said = warnings_of(caplog)
        assert any(
            f"snapshot {newest} " in line
            and "not JSON" in line
            and f"used the previous snapshot {previous} (at event {previous_at}" in line
            for line in said
        ), said


def test_the_store_reads_an_older_snapshot_on_request(tmp_path: Path) -> None:
    data, clock = tmp_path / "data", FixedClock(MORNING)
    hall_with_snapshots(data, clock)
    (previous, previous_at, _), (newest, newest_at, _) = snapshots(data)
    rewrite(data, newest, "[1, 2")
    with Store(data, SITE) as store:
        with pytest.raises(SnapshotUnreadable, match=f"snapshot {newest} .*not JSON"):
            store.load()
        older = store.load(older=1)
        assert (older.snapshot_id, older.snapshot_event_id) == (previous, previous_at)
        assert len(older.events) >= newest_at - previous_at
        assert older.last_event_id == older.snapshot_event_id + len(older.events)
        none_left = store.load(older=2)
        assert none_left.snapshot is None and none_left.snapshot_event_id == 0
        assert none_left.last_event_id == older.last_event_id
        assert len(none_left.events) == none_left.last_event_id


def test_check_config_reads_past_an_undecodable_snapshot_too(tmp_path: Path) -> None:
    from hall.tools.config_cli import changes_to_today

    data, clock = tmp_path / "data", FixedClock(MORNING)
    hall_with_snapshots(data, clock)
    for snapshot_id, _, _ in snapshots(data):
        rewrite(data, snapshot_id, '{"format": 0}')
    lines = changes_to_today(small_hall(), str(data))
    assert lines and "business day 2026-11-26" in lines[0]


def window_request(rid: str, body: dict[str, Any]) -> Incoming:
    return Incoming("window", "w01", protocol.dumps({"v": 1, "id": rid, **body}))


def test_a_snapshot_from_before_cases_were_kept_gets_them_rebuilt_from_the_finishes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An upgrade: the snapshot has no "cases". The cases its finishes accepted (and did not
    close) are rebuilt, as the reports count them, so close_case finds them; then stored."""
    data, clock = tmp_path / "data", FixedClock(MORNING)
    with HallCore(small_hall(), data, clock, snapshot_every=1000) as core:
        core.execute([window_request("l", {"op": "login", "clerk": "c0201"})])
        for n in range(3):
            core.execute([issue(f"i{n}")])
            core.execute([window_request(f"c{n}", {"op": "call_next"})])
            finish = {"op": "finish", "outcome": "accepted" if n < 2 else "on_the_spot"}
            core.execute([window_request(f"f{n}", finish)])
        ids = list(core.engine.state.cases)
        assert len(ids) == 2
        close = {"op": "close_case", "case": ids[0]}
        core.execute([window_request("x", close)])
        core.store.save_snapshot(core.engine.snapshot())
        before = {c.id: c for c in core.engine.state.cases.values() if c.closed is None}
    snapshot_id, _, body = snapshots(data)[-1]
    old = json.loads(body)
    del old["cases"]
    rewrite(data, snapshot_id, json.dumps(old))
    with caplog.at_level(logging.WARNING, logger="hall"):
        core = HallCore(small_hall(), data, clock, snapshot_every=1000)
    with core:
        assert core.engine.state.cases == before and list(before) == [ids[1]]
        assert any("1 rebuilt from the stored finishes" in w for w in warnings_of(caplog))
        assert "cases" in json.loads(snapshots(data)[-1][2])  # stored: rebuilt once
        core.execute([window_request("y", {"op": "close_case", "case": ids[1]})])
        assert core.engine.state.cases[ids[1]].closed is not None


def test_snapshots_are_spaced_by_the_size_of_the_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot writes the whole day, so by default it waits for SNAPSHOT_PER_TICKET events per
    ticket of the day (and at least SNAPSHOT_EVERY); a fixed `snapshot_every` is kept as given."""
    monkeypatch.setattr(core_module, "SNAPSHOT_EVERY", 4)
    clock = FixedClock(MORNING)
    with HallCore(small_hall(), tmp_path / "scaled", clock) as core:
        opened = snapshots(tmp_path / "scaled")
        # Tickets 1-3: fewer events than SNAPSHOT_EVERY. Ticket 4: 4 events, but the day of 4
        # tickets wants 8 before the next; each ticket (one event) raises that by two.
        for n in range(30):
            core.execute([issue(f"r{n}")])
        assert snapshots(tmp_path / "scaled") == opened
    with HallCore(small_hall(), tmp_path / "fixed", clock, snapshot_every=4) as core:
        for n in range(30):
            core.execute([issue(f"r{n}")])
        ids = [event_id for _, event_id, _ in snapshots(tmp_path / "fixed")]
    assert ids[-1] - ids[-2] == 4, ids
