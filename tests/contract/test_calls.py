"""CallSequence: every seq shown once, in increasing order, or a redraw."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from contract.calls import CallSequence, board_day, call_day


def call(seq: int, day: str = "2026-12-06") -> dict[str, Any]:
    compact = day.replace("-", "")
    return {
        "v": 1,
        "seq": seq,
        "at": f"{day}T09:00:00+08:00",
        "ticket": {"id": f"{compact}-A{seq:03d}", "number": f"A{seq:03d}"},
    }


def board(seq: int, day: str = "2026-12-06") -> dict[str, Any]:
    recent = [call(seq, day)] if seq else []
    return {"v": 1, "seq": seq, "at": f"{day}T09:00:00+08:00", "recent": recent}


class Screen:
    def __init__(self) -> None:
        self.redraws = 0
        self.sequence = CallSequence(self.redraw)

    def redraw(self) -> None:
        self.redraws += 1


def test_a_repeat_is_dropped_and_a_gap_asks_for_a_redraw() -> None:
    screen = Screen()
    assert screen.sequence.on_board(board(3))
    assert not screen.sequence.on_call(call(3))  # in the board already
    assert screen.sequence.on_call(call(4))
    assert not screen.sequence.on_call(call(4))  # the hall republished it after a crash
    assert screen.redraws == 0
    assert screen.sequence.on_call(call(7))  # 5 and 6 were missed: shown, and a redraw
    assert screen.redraws == 1
    assert not screen.sequence.on_board(board(6))  # older than what is shown
    assert screen.sequence.on_board(board(7))


def test_the_rollover_starts_again_at_one() -> None:
    screen = Screen()
    assert screen.sequence.on_call(call(40, "2026-12-05"))
    assert screen.sequence.on_board(board(0, "2026-12-06"))  # the new day's empty board
    assert screen.sequence.on_call(call(1, "2026-12-06"))
    assert not screen.sequence.on_call(call(41, "2026-12-05"))  # yesterday's, late
    assert screen.sequence.on_call(call(3, "2026-12-07"))  # the next day, 1 and 2 missed
    assert screen.redraws == 1


def test_days_from_tickets_and_boards() -> None:
    assert call_day(call(1, "2026-11-26")) == "2026-11-26"
    assert call_day({"seq": 1, "at": "2026-11-26T23:59:00+08:00"}) == "2026-11-26"
    assert board_day({"seq": 0, "at": "2026-11-27T08:00:00+08:00", "recent": []}) == "2026-11-27"
    assert board_day({"seq": 0, "business_day": "2026-11-26", "recent": []}) == "2026-11-26"


def test_junk_is_not_a_call() -> None:
    screen = Screen()
    assert not screen.sequence.on_call({"seq": "1"})
    assert not screen.sequence.on_call({"seq": True})
    assert not screen.sequence.on_call({})
    assert not screen.sequence.on_board({"seq": -1})


# What the hall sends: days in order, calls 1..n in each, boards in between; the network repeats,
# loses and delays some of it (a board may be older than the calls around it).
@st.composite
def traffic(draw: st.DrawFn) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    for day_index in range(draw(st.integers(1, 3))):
        day = f"2026-12-{6 + day_index:02d}"
        for seq in range(1, draw(st.integers(0, 12)) + 1):
            events.append(("call", call(seq, day)))
            if draw(st.booleans()):
                events.append(("board", board(seq - draw(st.integers(0, 1)), day)))
    out: list[tuple[str, dict[str, Any]]] = []
    for event in events:
        fate = draw(st.sampled_from(["keep", "keep", "keep", "lose", "twice", "late"]))
        if fate == "keep":
            out.append(event)
        elif fate == "twice":
            out += [event, event]
        elif fate == "late" and out:
            out.insert(len(out) - draw(st.integers(1, min(3, len(out)))), event)
    return out


@given(traffic())
def test_every_seq_shown_once_in_increasing_order_or_a_redraw(
    events: list[tuple[str, dict[str, Any]]],
) -> None:
    screen = Screen()
    shown: list[tuple[str, int]] = []  # (day, seq) of the calls shown, or drawn from a board
    for kind, payload in events:
        position = (call_day(payload) if kind == "call" else board_day(payload)) or ""
        key = (position, payload["seq"])
        newest = max(shown, default=("", 0))
        if kind == "board":
            if screen.sequence.on_board(payload):
                assert key >= newest
                shown.append(key)
            else:
                assert key < newest
            continue
        redraws = screen.redraws
        if screen.sequence.on_call(payload):
            assert key > newest, "shown twice or out of order"
            expected = (newest[0], newest[1] + 1) if key[0] == newest[0] else (key[0], 1)
            if shown and key != expected:
                assert screen.redraws == redraws + 1, "a gap without a redraw"
            else:
                assert screen.redraws == redraws
            shown.append(key)
        else:
            assert key <= newest, "a new call was dropped"
