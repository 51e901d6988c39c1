"""Property tests: random command sequences, with the day rolling over in the middle.

After every step: numbers are unique per department and business day, a ticket is at no more than
one window, the counts match the tickets, a refusal changed nothing; a replica fed only the events
has an equal state; and snapshots taken along the way restore to equal engines that go on equally.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hall.config.schema import HallConfig
from hall.engine.engine import Engine
from hall.engine.errors import HallError
from hall.engine.model import (
    AT_WINDOW,
    HELD,
    WAITING,
    AddBooking,
    CallNext,
    CallNumber,
    Cancel,
    CancelBooking,
    Command,
    DayRolledOver,
    ExpireRatings,
    Finish,
    ForceLogout,
    Hold,
    IssueTicket,
    Login,
    Logout,
    NoShow,
    Pause,
    Rate,
    Recall,
    Reprint,
    Resume,
    Rollover,
    SetService,
    Start,
    TicketIssued,
    TransferToService,
    TransferToWindow,
    Unhold,
    event_from_dict,
    event_to_dict,
)
from hall.engine.numbering import split_number
from hall.engine.policy import QueueIndex
from tests.fixtures.halls import CLERK_PIN, MORNING, small_hall

CONFIG: HallConfig = small_hall(recall_cap=1, number_width=1, rating_seconds=60, reprint_limit=1)
WINDOWS = [w.id for w in CONFIG.windows]
SERVICES = [s.code for s in CONFIG.services]
CLERKS = [c.id for c in CONFIG.clerks]
DEPARTMENT_OF_PREFIX = {d.prefix: d.code for d in CONFIG.departments}

# Weighted: the busy ops of a real hall come up more often.
KINDS = (
    ["issue"] * 6 + ["call_next"] * 6 + ["finish"] * 3 + ["start"] * 2 + ["login"] * 2
    + ["unhold"] * 2 + ["resume"] * 2 + ["rate"] * 2
    + ["recall", "no_show", "hold", "transfer_service", "transfer_window", "call_number", "pause",
       "logout", "force_logout", "cancel", "reprint", "service", "expire_ratings", "next_day",
       "book", "book", "unbook"]
)  # fmt: skip
BOOKING_CODES = ["B1", "B2", "B3", "b1"]  # b1 is B1: codes are read without regard to case


AT_A_BUSY_WINDOW = (
    ["finish"] * 3 + ["call_next"] * 3 + ["start"] * 2 + ["rate"] * 3
    + ["recall", "no_show", "hold", "unhold", "transfer_service", "transfer_window", "pause"]
)  # fmt: skip


def draw_command(data: st.DataObject, engine: Engine, now: datetime) -> tuple[Command, datetime]:
    kind = data.draw(st.sampled_from(KINDS), label="kind")
    closed = [w.id for w in engine.state.windows.values() if w.clerk is None]
    busy = [w.id for w in engine.state.windows.values() if w.current is not None]
    if len(closed) > 2 and data.draw(st.booleans(), label="open one?"):
        kind = "login"  # after a rollover every window is closed: open some again
    elif len(busy) > 0 and data.draw(st.booleans(), label="serve?"):
        kind = data.draw(st.sampled_from(AT_A_BUSY_WINDOW), label="kind")
    # Mostly a window with a clerk, or nothing but not_logged_in would happen.
    open_windows = [w.id for w in engine.state.windows.values() if w.clerk is not None]
    open_windows += [w.id for w in engine.state.windows.values() if w.clerk and not w.paused]
    if kind == "login" and closed:
        window = data.draw(st.sampled_from(closed), label="window")
    elif kind in AT_A_BUSY_WINDOW and busy and data.draw(st.booleans(), label="busy?"):
        window = data.draw(st.sampled_from(busy), label="window")
    elif open_windows and data.draw(st.integers(0, 9), label="open?") < 8:
        window = data.draw(st.sampled_from(open_windows), label="window")
    else:
        window = data.draw(st.sampled_from(WINDOWS), label="window")
    # Tickets worth naming: held ones (unhold), ones awaiting a rating (rate), any, and a stranger.
    windows = engine.state.windows.values()
    held = [t for w in windows for t in w.held]
    rateable = [w.rating for w in windows if w.rating is not None]
    tickets = [*engine.state.tickets, *held, *held, *rateable, *rateable, "20261126-Z9"]
    ticket = data.draw(st.sampled_from(tickets), label="ticket")
    now = now + timedelta(seconds=data.draw(st.sampled_from([0, 5, 30, 59, 61, 120, 300])))
    command: Command
    if kind == "issue":
        served = [code for w in set(open_windows) for code in CONFIG.window(w).services]  # type: ignore[union-attr]
        code = data.draw(st.sampled_from([None, None, None, *BOOKING_CODES]), label="booking")
        booked = engine.state.bookings.get(code.upper()) if code else None
        services = [booked.service] * 6 if booked else [*SERVICES, *served, *served]
        command = IssueTicket(
            data.draw(st.sampled_from(["k1", "k2"])),
            data.draw(st.sampled_from([*services, *SERVICES])),
            priority=data.draw(st.sampled_from(["normal", "normal", "priority"])),
            appointment=code,
        )
    elif kind == "book":
        day = engine.state.business_day or MORNING.date()
        command = AddBooking(
            "op1",
            data.draw(st.sampled_from(BOOKING_CODES)),
            data.draw(st.sampled_from(SERVICES)),
            (day + timedelta(days=data.draw(st.sampled_from([-1, 0, 0, 0, 1])))).isoformat(),
            data.draw(st.sampled_from(["08:00", "09:00", "09:05", "12:00", "23:30"])),
        )
    elif kind == "unbook":
        command = CancelBooking("op1", data.draw(st.sampled_from(BOOKING_CODES)))
    elif kind == "login":
        roster = CONFIG.window(window).clerks  # type: ignore[union-attr]
        clerk = data.draw(st.sampled_from([*roster, *roster, *roster, *CLERKS]))
        pin = data.draw(st.sampled_from([CLERK_PIN, CLERK_PIN, CLERK_PIN, None, "0000"]))
        command = Login(window, clerk, pin)
    elif kind == "call_number":
        if rateable and data.draw(st.integers(0, 4), label="pending?") > 0:
            ticket = data.draw(st.sampled_from(rateable), label="ticket")
        known = engine.state.tickets.get(ticket)
        command = CallNumber(window, known.number if known else "A1")
    elif kind == "transfer_service":
        command = TransferToService(window, data.draw(st.sampled_from(SERVICES)))
    elif kind == "transfer_window":
        command = TransferToWindow(window, data.draw(st.sampled_from(WINDOWS)))
    elif kind == "rate":
        if rateable and data.draw(st.integers(0, 4), label="pending?") > 0:
            ticket = data.draw(st.sampled_from(rateable), label="ticket")
        known = engine.state.tickets.get(ticket)
        at = known.window if known and known.window and data.draw(st.booleans()) else window
        command = Rate(f"e{at[1:]}", ticket, data.draw(st.integers(1, 5)))
    elif kind == "service":
        command = SetService(
            "op1",
            data.draw(st.sampled_from(SERVICES)),
            open=data.draw(st.sampled_from([True, False, None])),
            cap=data.draw(st.sampled_from([None, 0, 3, 50])),
            clear_cap=data.draw(st.booleans()),
        )
    elif kind == "next_day":
        # Some jumps land before 03:00 (same business day), most in the next one.
        hours = data.draw(st.integers(14, 26), label="hours")
        now = now + timedelta(hours=hours)
        command = Rollover()
    else:
        simple: dict[str, Command] = {
            "call_next": CallNext(window),
            "finish": Finish(window),
            "start": Start(window),
            "recall": Recall(window),
            "no_show": NoShow(window),
            "hold": Hold(window),
            "unhold": Unhold(window, ticket),
            "pause": Pause(window, "break"),
            "resume": Resume(window),
            "logout": Logout(window),
            "force_logout": ForceLogout("op1", window),
            "cancel": Cancel("op1", ticket),
            "reprint": Reprint("k1", ticket),
            "expire_ratings": ExpireRatings(),
        }
        command = simple[kind]
    return command, now


def check_invariants(engine: Engine) -> None:
    state = engine.state
    tickets = state.tickets
    # Numbers are unique within the (one) business day the state holds.
    numbers = [t.number for t in tickets.values()]
    assert len(numbers) == len(set(numbers))
    assert all(t.id == f"{state.business_day:%Y%m%d}-{t.number}" for t in tickets.values())
    # A ticket is at no more than one window, and a window's tickets say they are there.
    at_windows: list[str] = []
    for window in state.windows.values():
        if window.current is not None:
            at_windows.append(window.current)
            ticket = tickets[window.current]
            assert ticket.status in AT_WINDOW and ticket.window == window.id
        for held in window.held:
            at_windows.append(held)
            assert tickets[held].status == HELD and tickets[held].window == window.id
        if window.clerk is None:
            assert window.current is None and window.held == [] and not window.paused
    assert len(at_windows) == len(set(at_windows))
    for ticket in tickets.values():
        if ticket.status in AT_WINDOW or ticket.status == HELD:
            assert ticket.id in at_windows
    # A clerk is logged in at one window at most.
    clerks = [w.clerk for w in state.windows.values() if w.clerk is not None]
    assert len(clerks) == len(set(clerks))
    # The counts and the queue index match the tickets.
    waiting = [t for t in tickets.values() if t.status == WAITING]
    assert _nonzero(state.index.waiting_by_service) == Counter(t.service for t in waiting)
    assert _nonzero(state.index.waiting_by_department) == Counter(t.department for t in waiting)
    queued = [tid for _, tid in _all_queued(state.index)]
    assert sorted(queued) == sorted(t.id for t in waiting)
    board = engine.board(MORNING)
    assert sum(d["count"] for d in board["waiting"].values()) == len(waiting)
    assert board["seq"] == state.call_seq
    assert [m["seq"] for m in board["recent"]] == sorted({m["seq"] for m in board["recent"]})[::-1]
    # Each department's sequence counts its issues of the day (a transferred ticket keeps its number,
    # so the number's prefix, not the ticket's department now, says who issued it).
    issued = Counter(DEPARTMENT_OF_PREFIX[split_number(t.number)[0]] for t in tickets.values())  # type: ignore[index]
    assert dict(state.last_number) == dict(issued)
    # A booking is checked in once, as a ticket of its day that names it; none is of a past day.
    for code, booking in state.bookings.items():
        assert code == booking.code == booking.code.upper()
        assert state.business_day is None or booking.day >= state.business_day.isoformat()
        if booking.ticket is not None:
            assert tickets[booking.ticket].appointment == code
    appointments = [t.appointment for t in tickets.values() if t.appointment is not None]
    assert len(appointments) == len(set(appointments))


def _nonzero(counts: dict[str, int]) -> Counter[str]:
    return Counter({k: v for k, v in counts.items() if v})


def _all_queued(index: QueueIndex) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for queue in index.services.values():
        out += (
            queue.priority + queue.normal + [(order, tid) for _, order, tid in queue.appointments]
        )
    for items in index.windows.values():
        out += items
    return out


def _normal_index(index: QueueIndex) -> dict[str, Any]:
    return {
        "services": {k: v for k, v in index.services.items() if len(v)},
        "windows": {k: v for k, v in index.windows.items() if v},
        "by_service": _nonzero(index.waiting_by_service),
        "by_department": _nonzero(index.waiting_by_department),
    }


def _json(data: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(data))
    return loaded


@given(st.data(), st.integers(20, 120))
def test_random_days_keep_every_invariant_and_replay_exactly(
    data: st.DataObject, steps: int
) -> None:
    engine = Engine(CONFIG)
    replica = Engine(CONFIG)  # fed only the events, through their JSON form, as the store does
    now = MORNING
    mid_snapshot: dict[str, Any] | None = None
    after_mid: list[dict[str, Any]] = []
    seen_numbers: set[tuple[str, str]] = set()
    issued_today = Counter[str]()
    day = None
    rolled = 0
    for step in range(steps):
        command, now = draw_command(data, engine, now)
        before = engine.snapshot()
        try:
            outcome = engine.handle(command, now)
        except HallError:
            assert engine.snapshot() == before, f"refused {command} changed the state"
            continue
        for event in outcome.events:
            as_dict = _json(event_to_dict(event))
            assert event_from_dict(as_dict) == event
            replica.apply(event_from_dict(as_dict))
            if mid_snapshot is not None:
                after_mid.append(as_dict)
            if isinstance(event, DayRolledOver):
                day = event.business_day
                rolled += 1
                issued_today.clear()
            elif isinstance(event, TicketIssued):
                key = (str(day), event.number)
                assert key not in seen_numbers, f"number {event.number} reused on {day}"
                seen_numbers.add(key)
                issued_today[event.service] += 1
        counts = {
            code: s.issued_today for code, s in engine.state.services.items() if s.issued_today
        }
        assert counts == dict(issued_today)
        assert replica.state == engine.state
        check_invariants(engine)
        if step == steps // 2:
            mid_snapshot = _json(engine.snapshot())
    # A restored snapshot equals the engine, indexes included, and so does snapshot + the events after.
    restored = Engine.restore(CONFIG, _json(engine.snapshot()))
    assert restored.state == engine.state
    assert _normal_index(restored.state.index) == _normal_index(engine.state.index)
    assert restored.state.by_number == engine.state.by_number
    if mid_snapshot is not None:
        rebuilt = Engine.restore(CONFIG, mid_snapshot)
        for item in after_mid:
            rebuilt.apply(event_from_dict(item))
        assert rebuilt.state == engine.state
        assert _normal_index(rebuilt.state.index) == _normal_index(engine.state.index)
    assert rolled >= 1  # the first command starts a day


@given(st.data())
def test_a_restored_engine_goes_on_exactly_like_the_original(data: st.DataObject) -> None:
    engine = Engine(CONFIG)
    now = MORNING
    for _ in range(data.draw(st.integers(5, 40))):
        command, now = draw_command(data, engine, now)
        with contextlib.suppress(HallError):
            engine.handle(command, now)
    twin = Engine.restore(CONFIG, _json(engine.snapshot()))
    for _ in range(data.draw(st.integers(5, 30))):
        command, now = draw_command(data, engine, now)
        results = []
        for copy in (engine, twin):
            try:
                results.append(copy.handle(command, now))
            except HallError as exc:
                results.append(exc.code)  # type: ignore[arg-type]
        assert results[0] == results[1]
        assert twin.state == engine.state
