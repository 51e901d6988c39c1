"""HallCore: engine + store + clock, on a real SQLite file, with real failures of the store."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contract import protocol, topics
from hall.engine.model import state_to_dict
from hall.store.clock import FixedClock
from hall.store.core import HallCore, Incoming, Outcome
from hall.store.store import Store, db_path
from tests.fixtures.halls import CLERK_PIN, SITE, small_hall

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)


def req(device_class: str, device: str, rid: str | None, op: str, **fields: Any) -> Incoming:
    body: dict[str, Any] = {"v": 1, "op": op, **fields}
    if rid is not None:
        body["id"] = rid
    return Incoming(device_class, device, json.dumps(body, ensure_ascii=False).encode())


def issue(rid: str, service: str = "psb-id-card", kiosk: str = "k1") -> Incoming:
    return req("kiosk", kiosk, rid, "issue", service=service)


def window(rid: str, window_id: str, op: str, **fields: Any) -> Incoming:
    return req("window", window_id, rid, op, **fields)


def answer(outcome: Outcome, index: int = 0) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(outcome.replies[index].payload)
    return body


def state_of(core: HallCore) -> dict[str, Any]:
    return state_to_dict(core.engine.state)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MORNING)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def core(data: Path, clock: FixedClock) -> Iterator[HallCore]:
    with HallCore(small_hall(), data, clock) as opened:
        yield opened


def reopen(data: Path, clock: FixedClock, **kwargs: Any) -> HallCore:
    return HallCore(small_hall(), data, clock, **kwargs)


def open_w02(core: HallCore) -> None:
    assert answer(core.execute([window("login", "w02", "login", clerk="c0201")]))["ok"]


# --- opening ------------------------------------------------------------------------------------


def test_a_new_hall_opens_on_the_clocks_business_day(core: HallCore) -> None:
    assert core.engine.state.business_day == MORNING.date()
    events = core.store.events()
    assert [e["type"] for _, _, e in events] == ["day_rolled_over"]
    assert core.store.counts()["snapshots"] == 1  # every rollover leaves a snapshot


def test_before_the_rollover_time_it_is_still_yesterday(data: Path) -> None:
    early = FixedClock(datetime(2026, 11, 26, 2, 30, tzinfo=SHANGHAI))
    with reopen(data, early) as core:
        assert str(core.engine.state.business_day) == "2026-11-25"


# --- answers and idempotency --------------------------------------------------------------------


def test_an_issue_is_answered_and_survives_a_restart(core: HallCore, data: Path) -> None:
    outcome = core.execute([issue("r1")])
    body = answer(outcome)
    assert body["ok"] and body["id"] == "r1"
    assert body["result"]["ticket"]["number"] == "A001"
    assert outcome.replies[0].stored and not outcome.replies[0].replayed
    assert core.store.answer_for("k1", "r1") == outcome.replies[0].payload
    before = state_of(core)
    core.close()
    with reopen(data, FixedClock(MORNING)) as again:
        assert state_of(again) == before


def test_a_repeated_request_gets_the_stored_bytes_whatever_its_body(
    core: HallCore, data: Path, clock: FixedClock
) -> None:
    first = core.execute([issue("r1")]).replies[0].payload
    clock.advance(minutes=3)
    again = core.execute([issue("r1", service="tax-invoice")])
    assert again.replies[0].payload == first
    assert again.replies[0].replayed
    assert len(core.engine.state.tickets) == 1
    assert not again.changes  # nothing was done again
    # Not JSON at all, but the same id cannot be seen: answered with id null, not stored.
    core.close()
    with reopen(data, clock) as restarted:
        assert restarted.execute([issue("r1", service="amr-change")]).replies[0].payload == first
        assert len(restarted.engine.state.tickets) == 1


def test_a_duplicate_inside_one_batch_is_done_once(core: HallCore) -> None:
    outcome = core.execute([issue("r1"), issue("r1", service="tax-invoice"), issue("r2")])
    assert outcome.replies[0].payload == outcome.replies[1].payload
    assert outcome.replies[1].replayed
    assert answer(outcome, 2)["result"]["ticket"]["number"] == "A002"
    assert len(core.engine.state.tickets) == 2
    assert core.store.counts()["answers"] == 2


def test_the_same_id_from_two_devices_is_two_requests(core: HallCore) -> None:
    outcome = core.execute([issue("same", kiosk="k1"), issue("same", kiosk="k2")])
    numbers = [answer(outcome, i)["result"]["ticket"]["number"] for i in range(2)]
    assert numbers == ["A001", "A002"]


def test_refusals_are_stored_too(core: HallCore) -> None:
    first = core.execute([window("c1", "w02", "call_next")])
    assert answer(first)["error"]["code"] == "not_logged_in"
    open_w02(core)
    core.execute([issue("r1")])
    # The retry of the refused request gets the refusal again, although it would succeed now.
    assert core.execute([window("c1", "w02", "call_next")]).replies[0].payload == (
        first.replies[0].payload
    )


def test_messages_are_in_the_halls_language(data: Path, clock: FixedClock) -> None:
    config = small_hall()
    english = config.model_copy(update={"site": config.site.model_copy(update={"language": "en"})})
    with HallCore(small_hall(), data / "zh", clock) as zh:
        message = answer(zh.execute([window("c1", "w02", "call_next")]))["error"]["message"]
        assert "(" not in message
    with HallCore(english, data / "en", clock) as en:
        message = answer(en.execute([window("c1", "w02", "call_next")]))["error"]["message"]
        assert "(" in message and message.isascii() is False


# --- what is not stored -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device_class", "device"),
    [("kiosk", "k9"), ("window", "k1"), ("kiosk", "w01"), ("display", "d1"), ("evaluator", "op1")],
)
def test_unknown_devices_are_answered_and_nothing_is_stored(
    core: HallCore, device_class: str, device: str
) -> None:
    before = core.store.counts()
    outcome = core.execute([req(device_class, device, "x1", "issue", service="psb-id-card")])
    body = answer(outcome)
    assert body == {
        "v": 1,
        "id": "x1",
        "ok": False,
        "error": {"code": "unknown_device", "message": body["error"]["message"]},
    }
    assert not outcome.replies[0].stored
    assert core.store.counts() == before
    assert core.store.answer_for(device, "x1") is None


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"[1,2]", b'{"v":1,"op":"issue"}', b'{"v":1,"id":"","op":"issue"}', b"\xff\xfe"],
)
def test_requests_without_a_valid_id_are_answered_with_id_null_and_not_stored(
    core: HallCore, payload: bytes
) -> None:
    before = core.store.counts()
    outcome = core.execute([Incoming("kiosk", "k1", payload)])
    body = answer(outcome)
    assert body["id"] is None and body["ok"] is False
    assert body["error"]["code"] == "invalid_request"
    assert core.store.counts() == before


def test_a_bad_request_with_an_id_is_stored_under_it(core: HallCore) -> None:
    bad = core.execute([req("kiosk", "k1", "b1", "fly")])
    assert answer(bad)["error"]["code"] == "unknown_op"
    assert bad.replies[0].stored
    assert core.execute([issue("b1")]).replies[0].payload == bad.replies[0].payload
    assert core.engine.state.tickets == {}


# --- calls go to the outbox with their commit ---------------------------------------------------


def test_calls_are_committed_to_the_outbox_in_seq_order(core: HallCore) -> None:
    open_w02(core)
    core.execute([issue("r1"), issue("r2")])
    outcome = core.execute([window("c1", "w02", "call_next"), window("c2", "w02", "call_next")])
    assert [answer(outcome, i)["ok"] for i in range(2)] == [True, True]
    pending = core.store.pending_outbox()
    assert [m.id for m in outcome.calls] == [m.id for m in pending]
    assert {m.topic for m in pending} == {topics.calls(SITE)}
    messages = [json.loads(m.payload) for m in pending]
    assert [m["seq"] for m in messages] == [1, 2]
    assert [m["ticket"]["number"] for m in messages] == ["A001", "A002"]
    assert pending[0].payload == protocol.dumps(messages[0])
    core.store.mark_published(m.id for m in outcome.calls)
    assert core.store.pending_outbox() == []


# --- what changed -------------------------------------------------------------------------------


def test_each_batch_says_which_retained_topics_changed(core: HallCore, clock: FixedClock) -> None:
    issued = core.execute([issue("r1")])
    assert issued.changes.board and issued.changes.queues
    assert not issued.changes.windows and not issued.changes.catalog
    opened = core.execute([window("l1", "w02", "login", clerk="c0201")])
    assert opened.changes.windows == {"w02"}
    called = core.execute([window("c1", "w02", "call_next")])
    assert called.changes.windows == {"w02"}
    finished = core.execute([window("f1", "w02", "finish")])
    assert finished.changes.ratings == {"w02"}
    notice = core.execute([req("operator", "op1", "n1", "notice", text="午休 12:00-13:00")])
    assert answer(notice)["ok"]
    assert notice.changes.catalog
    clock.advance(minutes=5)
    expired = core.tick()
    assert expired.changes.ratings == {"w02"}
    assert core.engine.rating_view("w02") is None
    assert not core.tick().changes  # nothing more to expire


# --- the store fails ----------------------------------------------------------------------------


def test_a_full_disk_fails_the_batch_with_storage_error_and_the_hall_goes_on(
    core: HallCore, data: Path
) -> None:
    open_w02(core)
    core.execute([issue("r1")])
    before = state_of(core)
    counts = core.store.counts()
    core.store.set_max_page_count(core.store.page_count())
    # Enough in one batch (tens of kB) to need new pages however much room the last ones have.
    batch = [
        window("c1", "w02", "call_next"),
        req("operator", "op1", "n1", "notice", text="系统维护" * 100),
        Incoming("kiosk", "k1", b"junk"),
        *(issue(f"r{n}") for n in range(2, 40)),
    ]
    outcome = core.execute(batch)
    assert outcome.storage_failed
    assert {answer(outcome, i)["error"]["code"] for i in (0, 1, *range(3, 41))} == {"storage_error"}
    assert [answer(outcome, i)["id"] for i in (0, 1, 3)] == ["c1", "n1", "r2"]
    assert answer(outcome, 2)["error"]["code"] == "invalid_request"  # needed no store
    assert not any(r.stored for r in outcome.replies)
    assert outcome.calls == [] and not outcome.changes
    assert state_of(core) == before  # memory is disk again
    assert core.store.counts() == counts
    # The disk has room again: the same requests, retried, are done now; numbering goes on.
    core.store.set_max_page_count(1_000_000)
    retried = core.execute(batch)
    assert all(answer(retried, i)["ok"] for i in (0, 1, *range(3, 41)))
    assert answer(retried, 0)["result"]["ticket"]["number"] == "A001"
    assert answer(retried, 3)["result"]["ticket"]["number"] == "A002"
    assert json.loads(core.store.pending_outbox()[0].payload)["seq"] == 1


def test_a_locked_store_fails_the_batch_and_the_next_one_works(
    data: Path, clock: FixedClock
) -> None:
    core = HallCore(small_hall(), data, clock, store=Store(data, SITE, busy_timeout_ms=50))
    core.execute([issue("r1")])
    other = sqlite3.connect(db_path(data), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        outcome = core.execute([issue("r2")])
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert answer(outcome)["error"]["code"] == "storage_error"
    assert len(core.engine.state.tickets) == 1
    assert answer(core.execute([issue("r2")]))["result"]["ticket"]["number"] == "A002"
    core.close()


def test_an_engine_fault_is_contained_to_its_request(
    core: HallCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = core.engine.handle

    def broken(command: Any, now: datetime) -> Any:
        if getattr(command, "service", None) == "tax-invoice":
            real(command, now)  # half-done work that must not stay
            raise RuntimeError("bug")
        return real(command, now)

    monkeypatch.setattr(core.engine, "handle", broken)
    outcome = core.execute([issue("r1"), issue("r2", service="tax-invoice"), issue("r3")])
    assert answer(outcome, 0)["result"]["ticket"]["number"] == "A001"
    assert answer(outcome, 1)["error"]["code"] == "invalid_request"
    assert not outcome.replies[1].stored
    assert answer(outcome, 2)["result"]["ticket"]["number"] == "A002"
    assert sorted(t.number for t in core.engine.state.tickets.values()) == ["A001", "A002"]


def test_an_engine_fault_in_the_timers_does_not_stop_the_hall(
    core: HallCore, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hall.engine.model import ExpireRatings, Rollover

    real = core.engine.handle
    broken_types: tuple[type, ...] = (ExpireRatings,)

    def broken(command: Any, now: datetime) -> Any:
        if isinstance(command, broken_types):
            real(command, now)
            raise RuntimeError("bug")
        return real(command, now)

    monkeypatch.setattr(core.engine, "handle", broken)
    core.execute([issue("r1")])
    clock.set(datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI))
    core.tick()  # the rollover is kept, the broken expiry dropped
    assert str(core.engine.state.business_day) == "2026-11-27"
    # The engine was rebuilt (the patch is gone with the old one); break the new one's rollover.
    real = core.engine.handle
    broken_types = (Rollover,)
    monkeypatch.setattr(core.engine, "handle", broken)
    clock.set(datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI))
    outcome = core.execute([issue("r2")])  # served by the rebuilt engine, which rolls by itself
    assert answer(outcome)["result"]["ticket"]["number"] == "A001"
    assert str(core.engine.state.business_day) == "2026-11-28"


def test_an_engine_fault_never_reaches_a_snapshot(
    data: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    core = reopen(data, clock, snapshot_every=1)  # a snapshot after every batch
    real = core.engine.handle

    def broken(command: Any, now: datetime) -> Any:
        if getattr(command, "service", None) == "tax-invoice":
            real(command, now)
            raise RuntimeError("bug")
        return real(command, now)

    monkeypatch.setattr(core.engine, "handle", broken)
    core.execute([issue("r1"), issue("r2", service="tax-invoice")])
    live = state_of(core)
    assert len(core.engine.state.tickets) == 1
    core.close()
    with reopen(data, clock) as again:
        assert state_of(again) == live


def test_a_decoder_fault_is_answered_and_stores_nothing(
    core: HallCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hall.store.core

    real = hall.store.core.decode_request

    def broken(config: Any, device_class: str, device: str, payload: bytes) -> Any:
        if b"tax-invoice" in payload:
            raise ValueError("bug")
        return real(config, device_class, device, payload)

    monkeypatch.setattr(hall.store.core, "decode_request", broken)
    outcome = core.execute([issue("r1", service="tax-invoice"), issue("r2")])
    assert answer(outcome, 0)["error"]["code"] == "invalid_request"
    assert answer(outcome, 0)["id"] == "r1"
    assert not outcome.replies[0].stored
    assert core.store.answer_for("k1", "r1") is None
    assert answer(outcome, 1)["ok"]


# --- days, snapshots, purges --------------------------------------------------------------------


def test_the_day_rolls_over_before_the_first_batch_of_a_new_day(
    core: HallCore, clock: FixedClock, data: Path
) -> None:
    open_w02(core)
    core.execute([issue("r1"), issue("r2")])
    clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=SHANGHAI))
    outcome = core.execute([issue("r3")])
    assert answer(outcome)["result"]["ticket"]["number"] == "A001"
    assert str(core.engine.state.business_day) == "2026-11-27"
    assert outcome.changes.catalog and outcome.changes.windows == {f"w0{n}" for n in range(1, 6)}
    days = {(d, e["type"]) for _, d, e in core.store.events()}
    assert ("2026-11-26", "ticket_issued") in days
    assert ("2026-11-27", "day_rolled_over") in days
    loaded = core.store.load()
    assert loaded.events == []  # the rollover batch ended with a snapshot of its state
    before = state_of(core)
    core.close()
    with reopen(data, clock) as again:
        assert state_of(again) == before


def test_a_hall_that_was_down_over_the_rollover_starts_the_new_day_at_open(
    core: HallCore, clock: FixedClock, data: Path
) -> None:
    core.execute([issue("r1")])
    core.close()
    clock.set(datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI))
    with reopen(data, clock) as again:
        assert str(again.engine.state.business_day) == "2026-11-28"
        assert again.engine.state.tickets == {}


def test_tick_rolls_the_day_on_its_timer(core: HallCore, clock: FixedClock) -> None:
    core.execute([issue("r1")])
    assert not core.tick().changes.catalog
    clock.set(datetime(2026, 11, 27, 3, 0, 1, tzinfo=SHANGHAI))
    assert core.tick().changes.catalog
    assert core.engine.state.tickets == {}


def test_answers_older_than_seven_days_are_purged_at_rollover(
    core: HallCore, clock: FixedClock
) -> None:
    first = core.execute([issue("r1")]).replies[0].payload
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI))
    core.tick()
    assert core.store.answer_for("k1", "r1") == first  # 5 days: kept
    clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=SHANGHAI))
    core.tick()
    assert core.store.answer_for("k1", "r1") is None  # 8 days: gone
    assert any(e["type"] == "ticket_issued" for _, _, e in core.store.events())  # kept for good


def test_snapshots_every_n_events_keep_replays_short(data: Path, clock: FixedClock) -> None:
    with reopen(data, clock, snapshot_every=10) as core:
        for n in range(30):
            core.execute([issue(f"r{n}")])
        loaded = core.store.load()
        assert loaded.snapshot is not None
        assert len(loaded.events) < 10
        before = state_of(core)
    with reopen(data, clock, snapshot_every=10) as again:
        assert state_of(again) == before
        assert answer(again.execute([issue("r99")]))["result"]["ticket"]["number"] == "A031"


def test_a_pin_login_goes_through_the_store(core: HallCore, data: Path, clock: FixedClock) -> None:
    wrong = core.execute([window("l1", "w01", "login", clerk="c0101", pin="0000")])
    assert answer(wrong)["error"]["code"] == "wrong_pin"
    right = core.execute([window("l2", "w01", "login", clerk="c0101", pin=CLERK_PIN)])
    assert answer(right)["ok"]
    core.close()
    with reopen(data, clock) as again:
        assert again.engine.state.windows["w01"].clerk == "c0101"


def test_a_day_of_traffic_replays_to_the_same_state(
    core: HallCore, data: Path, clock: FixedClock
) -> None:
    open_w02(core)
    for n in range(40):
        clock.advance(timedelta(seconds=30))
        core.execute([issue(f"i{n}"), window(f"c{n}", "w02", "call_next")])
        if n % 3 == 0:
            core.execute([window(f"s{n}", "w02", "start"), window(f"f{n}", "w02", "finish")])
        if n % 7 == 0:
            core.execute([req("evaluator", "e02", f"e{n}", "rate", ticket="x", score=5)])
    before = state_of(core)
    core.close()
    with reopen(data, clock) as again:
        assert state_of(again) == before
