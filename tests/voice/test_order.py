"""Which calls are said: in seq order, each once; a recall again; replays of `calls` and of the
retained `board` say nothing twice, also across a restart (the saved Heard)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from voice.order import KEEP, CallOrder, Heard, HeardFile


def call(seq: int, number: str = "A001", day: str = "20261126", recall: int = 0,
         at: str = "09:00:00") -> dict[str, Any]:  # fmt: skip
    return {"v": 1, "seq": seq, "at": f"{day[:4]}-{day[4:6]}-{day[6:]}T{at}+08:00",
            "ticket": {"id": f"{day}-{number}", "number": number},
            "window": {"id": "w01", "name": "1号窗口", "area": "1F"}, "recall": recall}  # fmt: skip


def board(*calls: dict[str, Any], at: str | None = None) -> dict[str, Any]:
    newest = max((c["seq"] for c in calls), default=0)
    when = f"2026-11-26T{at}+08:00" if at else (calls[-1]["at"] if calls else "")
    return {"v": 1, "seq": newest, "at": when,
            "recent": list(reversed(calls))}  # fmt: skip


def seqs(calls: list[dict[str, Any]]) -> list[int]:
    return [c["seq"] for c in calls]


def test_each_call_once_and_a_recall_again() -> None:
    order = CallOrder()
    said: list[dict[str, Any]] = []
    for seq in (1, 2, 2, 3, 1, 4):
        said += order.on_call(call(seq, f"A{seq:03d}", recall=1 if seq == 4 else 0))
    assert seqs(said) == [1, 2, 3, 4]
    assert said[-1]["recall"] == 1


def test_first_start_says_nothing_of_the_days_history_then_follows() -> None:
    order = CallOrder()
    assert order.on_board(board(call(1), call(2), call(3))) == []
    assert order.on_call(call(3)) == []
    assert seqs(order.on_call(call(4))) == [4]


def test_a_replayed_board_says_nothing_twice_and_fills_a_recent_gap() -> None:
    order = CallOrder(catch_up_seconds=30)
    for seq in (1, 2):
        order.on_call(call(seq, at="09:00:00"))
    # away: 3 (long ago) and 4 (10 s before the board) were missed
    replay = board(call(1), call(2), call(3, at="09:00:01"), call(4, at="09:05:00"), at="09:05:10")
    assert seqs(order.on_board(replay)) == [4]
    assert order.on_board(replay) == []
    assert order.on_call(call(3)) == [] and order.on_call(call(4)) == []
    assert seqs(order.on_call(call(5))) == [5]


def test_a_new_business_day_starts_from_seq_one_and_old_days_are_dropped() -> None:
    order = CallOrder()
    order.on_call(call(7, day="20261126"))
    assert seqs(order.on_call(call(1, day="20261127"))) == [1]
    assert order.on_call(call(8, day="20261126")) == []
    assert order.heard.day == "20261127"


def test_heard_survives_a_restart(tmp_path: Path) -> None:
    path = HeardFile(tmp_path / "state" / "a.json")
    order = CallOrder(path.load())
    for seq in (1, 2, 3):
        order.on_call(call(seq))
    path.save(order.heard)
    again = CallOrder(path.load())
    assert again.on_board(board(call(1), call(2), call(3))) == []
    assert again.on_call(call(3)) == []
    assert seqs(again.on_call(call(4))) == [4]


def test_an_unreadable_state_file_starts_as_new(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{not json")
    assert HeardFile(tmp_path / "a.json").load() == Heard()


def test_memory_is_bounded_by_a_floor() -> None:
    order = CallOrder()
    for seq in range(1, KEEP + 50):
        order.on_call(call(seq))
    assert len(order.heard.seen) <= KEEP
    assert order.on_call(call(3)) == []
