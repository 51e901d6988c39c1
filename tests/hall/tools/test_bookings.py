"""Bookings (issue #4): booking_add / booking_cancel, checking in at a kiosk, the call order of
appointment tickets, and caps met by several kiosks at once through the hall core and its store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from hall.engine.engine import Engine
from hall.engine.errors import HallError
from hall.engine.model import (
    AddBooking,
    BookingAdded,
    CallNext,
    CancelBooking,
    Event,
    IssueTicket,
    Login,
    Rollover,
    TransferToService,
    event_from_dict,
    event_to_dict,
)
from hall.store.clock import FixedClock
from hall.store.core import HallCore, Incoming
from tests.fixtures.halls import ZONE, rules_hall

CONFIG = rules_hall()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


NINE = at("2026-11-26T09:00")


def refused(engine: Engine, command: Any, now: datetime = NINE) -> str:
    with pytest.raises(HallError) as caught:
        engine.handle(command, now)
    return caught.value.code


def book(
    engine: Engine,
    code: str,
    service: str = "psb-hukou",
    day: str = "2026-11-26",
    slot: str = "09:30",
    now: datetime = NINE,
) -> dict[str, Any]:
    return engine.handle(AddBooking("op1", code, service, day, slot), now).result


def check_in(engine: Engine, code: str, service: str = "psb-hukou", now: datetime = NINE) -> str:
    ticket = engine.handle(IssueTicket("k1", service, appointment=code), now).result["ticket"]
    return str(ticket["id"])


def walk_in(engine: Engine, now: datetime, service: str = "psb-hukou", **kw: Any) -> str:
    return str(
        engine.handle(IssueTicket(kw.pop("kiosk", "k1"), service, **kw), now).result["ticket"]["id"]
    )


def call(engine: Engine, window: str, now: datetime) -> str:
    return str(engine.handle(CallNext(window), now).result["ticket"]["id"])


@pytest.fixture
def engine() -> Engine:
    return Engine(CONFIG)


# -- booking_add / booking_cancel -------------------------------------------------------------------


def test_add_and_cancel_a_booking(engine: Engine) -> None:
    result = book(engine, "b7f3k2", day="2026-11-27")
    assert result == {
        "booking": {
            "code": "B7F3K2",  # codes are read without regard to case
            "service": "psb-hukou",
            "day": "2026-11-27",
            "slot": "09:30",
            "ticket": None,
        },
        "changed": True,
    }
    assert engine.state.bookings["B7F3K2"].slot == "2026-11-27T09:30:00+08:00"
    # The same booking again (an import run twice) changes nothing and writes no event.
    again = engine.handle(AddBooking("op1", "B7F3K2", "psb-hukou", "2026-11-27", "09:30"), NINE)
    assert again.events == () and again.result["changed"] is False
    # A new slot replaces it while it is not checked in.
    moved = engine.handle(AddBooking("op1", "B7F3K2", "psb-hukou", "2026-11-27", "10:00"), NINE)
    assert isinstance(moved.events[0], BookingAdded) and moved.result["booking"]["slot"] == "10:00"
    cancelled = engine.handle(CancelBooking("op1", "b7f3k2"), NINE)
    assert cancelled.result["booking"]["code"] == "B7F3K2"
    assert refused(engine, CancelBooking("op1", "B7F3K2")) == "unknown_booking"
    assert refused(engine, IssueTicket("k1", "psb-hukou", appointment="B7F3K2"), NINE) == (
        "unknown_booking"
    )


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (AddBooking("op1", "B1", "no-such", "2026-11-27", "09:30"), "unknown_service"),
        (AddBooking("op1", "B1", "psb-hukou", "2026-11-25", "09:30"), "invalid_request"),
        (AddBooking("op1", "B1", "psb-hukou", "2026-02-30", "09:30"), "invalid_request"),
        (AddBooking("op1", "B1", "psb-hukou", "2026-11-27", "25:00"), "invalid_request"),
        (AddBooking("op1", "B1", "psb-hukou", "2028-11-27", "09:00"), "invalid_request"),
        (AddBooking("nobody", "B1", "psb-hukou", "2026-11-27", "09:30"), "unknown_device"),
        (CancelBooking("op1", "NOPE"), "unknown_booking"),
    ],
)
def test_bad_bookings_are_refused(engine: Engine, command: Any, code: str) -> None:
    assert refused(engine, command) == code
    assert engine.state.bookings == {}


# -- checking in -------------------------------------------------------------------------------------


def test_check_in_gives_an_appointment_ticket(engine: Engine) -> None:
    book(engine, "B1")
    ticket = engine.state.tickets[check_in(engine, "b1")]
    assert ticket.appointment == "B1" and ticket.slot == "2026-11-26T09:30:00+08:00"
    assert engine.state.bookings["B1"].ticket == ticket.id


def test_a_booking_checked_in_twice(engine: Engine) -> None:
    book(engine, "B1")
    check_in(engine, "B1")
    assert refused(engine, IssueTicket("k2", "psb-hukou", appointment="B1")) == "booking_used"
    assert refused(engine, CancelBooking("op1", "B1")) == "booking_used"
    assert refused(engine, AddBooking("op1", "B1", "psb-hukou", "2026-11-27", "09:00")) == (
        "booking_used"
    )
    assert engine.state.services["psb-hukou"].issued_today == 1


def test_a_booking_on_another_day(engine: Engine) -> None:
    book(engine, "B1", day="2026-11-27")
    assert refused(engine, IssueTicket("k1", "psb-hukou", appointment="B1")) == "booking_wrong_day"
    # On its day it checks in.
    assert check_in(engine, "B1", now=at("2026-11-27T09:10"))


def test_a_booking_for_another_service_is_not_this_ones(engine: Engine) -> None:
    book(engine, "B1", service="tax-register")
    assert refused(engine, IssueTicket("k1", "psb-hukou", appointment="B1")) == "unknown_booking"


def test_an_appointment_only_service(engine: Engine) -> None:
    assert refused(engine, IssueTicket("k1", "tax-audit")) == "appointment_required"
    assert engine.queues(NINE)["services"]["tax-audit"]["reason"] == "appointment_only"
    book(engine, "AUD1", service="tax-audit", slot="10:00")
    assert check_in(engine, "AUD1", service="tax-audit")


def test_checking_in_keeps_the_hours_and_closures(engine: Engine) -> None:
    book(engine, "B1")
    assert refused(
        engine, IssueTicket("k1", "psb-hukou", appointment="B1"), at("2026-11-26T08:30")
    ) == ("outside_hours")
    from hall.engine.model import SetService

    engine.handle(SetService("op1", "psb-hukou", open=False), NINE)
    assert refused(engine, IssueTicket("k1", "psb-hukou", appointment="B1")) == "service_closed"


def test_a_booked_visitor_is_not_refused_by_the_cap_but_counts(engine: Engine) -> None:
    book(engine, "INV1", service="tax-invoice")
    for _ in range(3):
        walk_in(engine, NINE, "tax-invoice")
    assert refused(engine, IssueTicket("k1", "tax-invoice")) == "quota_reached"
    check_in(engine, "INV1", service="tax-invoice")
    assert engine.state.services["tax-invoice"].issued_today == 4
    assert refused(engine, IssueTicket("k1", "tax-invoice")) == "quota_reached"


# -- the call order ----------------------------------------------------------------------------------


def test_an_appointment_is_called_first_from_its_slot_on(engine: Engine) -> None:
    book(engine, "B1", slot="09:30")
    engine.handle(Login("w01", "c0101", "1234"), NINE)
    early = walk_in(engine, at("2026-11-26T09:01"))
    priority = walk_in(engine, at("2026-11-26T09:02"), kiosk="k2", priority="priority")
    booked = check_in(engine, "B1", now=at("2026-11-26T09:03"))
    late = walk_in(engine, at("2026-11-26T09:04"))
    # Before its slot, the appointment waits among the walk-ins by its issue order.
    assert call(engine, "w01", at("2026-11-26T09:10")) == priority
    assert call(engine, "w01", at("2026-11-26T09:11")) == early
    # Another walk-in and a priority ticket arrive; at 09:30 the appointment goes first.
    priority2 = walk_in(engine, at("2026-11-26T09:20"), kiosk="k2", priority="priority")
    assert call(engine, "w01", at("2026-11-26T09:30")) == booked
    assert call(engine, "w01", at("2026-11-26T09:31")) == priority2
    assert call(engine, "w01", at("2026-11-26T09:32")) == late


def test_tickets_transferred_to_the_window_go_before_appointments(engine: Engine) -> None:
    from hall.engine.model import TransferToWindow

    book(engine, "B1", slot="09:00")
    engine.handle(Login("w01", "c0101", "1234"), NINE)
    engine.handle(Login("w02", "c0201"), NINE)
    first = walk_in(engine, NINE, "psb-id-card")
    assert call(engine, "w02", NINE) == first
    engine.handle(TransferToWindow("w02", "w01"), NINE)
    booked = check_in(engine, "B1", now=at("2026-11-26T09:05"))
    assert call(engine, "w01", at("2026-11-26T09:06")) == first
    assert call(engine, "w01", at("2026-11-26T09:07")) == booked


def test_a_transferred_appointment_waits_by_its_age(engine: Engine) -> None:
    book(engine, "B1", slot="09:00")
    engine.handle(Login("w01", "c0101", "1234"), NINE)
    booked = check_in(engine, "B1")
    assert call(engine, "w01", NINE) == booked
    engine.handle(TransferToService("w01", "psb-passport"), NINE)
    assert engine.state.tickets[booked].slot is None


# -- state: replay, snapshots, rollover ---------------------------------------------------------------


def test_bookings_replay_and_restore(engine: Engine) -> None:
    events: list[Event] = []
    events += engine.handle(
        AddBooking("op1", "B1", "psb-hukou", "2026-11-26", "09:30"), NINE
    ).events
    events += engine.handle(
        AddBooking("op1", "B2", "tax-audit", "2026-11-27", "10:00"), NINE
    ).events
    events += engine.handle(
        AddBooking("op1", "B3", "tax-audit", "2026-11-27", "11:00"), NINE
    ).events
    events += engine.handle(CancelBooking("op1", "B3"), NINE).events
    events += engine.handle(IssueTicket("k1", "psb-hukou", appointment="B1"), NINE).events
    assert all(event_from_dict(json.loads(json.dumps(event_to_dict(e)))) == e for e in events)
    replayed = Engine(CONFIG)
    for event in events:
        replayed.apply(event)
    assert replayed.state == engine.state
    restored = Engine.restore(CONFIG, json.loads(json.dumps(engine.snapshot())))
    assert restored.state == engine.state
    assert refused(restored, IssueTicket("k1", "psb-hukou", appointment="B1")) == "booking_used"


def test_a_snapshot_from_before_bookings_restores(engine: Engine) -> None:
    data = engine.snapshot()
    del data["bookings"]
    assert Engine.restore(CONFIG, data).state.bookings == {}


def test_bookings_of_days_that_are_over_are_dropped_at_the_rollover(engine: Engine) -> None:
    book(engine, "TODAY")
    book(engine, "TOMORROW", day="2026-11-27")
    book(engine, "LATER", day="2026-12-01")
    engine.handle(Rollover(), at("2026-11-27T09:00"))
    assert set(engine.state.bookings) == {"TOMORROW", "LATER"}
    assert refused(
        engine, IssueTicket("k1", "psb-hukou", appointment="TODAY"), at("2026-11-27T09:00")
    ) == ("unknown_booking")
    assert check_in(engine, "TOMORROW", now=at("2026-11-27T09:00"))


# -- through the hall core: the wire, the store, and kiosks at the same moment ------------------------


def request(device_class: str, device: str, rid: str, op: str, **fields: Any) -> Incoming:
    body = {"v": 1, "id": rid, "op": op, **fields}
    return Incoming(device_class, device, json.dumps(body).encode())


def answers(outcome: Any) -> list[dict[str, Any]]:
    return [json.loads(r.payload) for r in outcome.replies]


@pytest.fixture
def core(tmp_path: Path) -> Iterator[HallCore]:
    with HallCore(CONFIG, tmp_path / "data", FixedClock(NINE)) as opened:
        yield opened


def test_a_cap_reached_by_two_kiosks_in_the_same_batch(core: HallCore) -> None:
    first = core.execute([request("kiosk", "k1", "a", "issue", service="tax-invoice")] * 1)
    second = core.execute([request("kiosk", "k2", "b", "issue", service="tax-invoice")])
    assert answers(first)[0]["ok"] and answers(second)[0]["ok"]
    # One ticket left: two kiosks ask in the same batch (the same transaction).
    both = answers(
        core.execute(
            [
                request("kiosk", "k1", "c", "issue", service="tax-invoice"),
                request("kiosk", "k2", "d", "issue", service="tax-invoice"),
            ]
        )
    )
    assert [a["ok"] for a in both] == [True, False]
    assert both[1]["error"]["code"] == "quota_reached"
    assert core.engine.state.services["tax-invoice"].issued_today == 3


def test_a_cap_reached_by_two_kiosks_in_separate_batches(core: HallCore, tmp_path: Path) -> None:
    for rid in ("a", "b"):
        assert answers(core.execute([request("kiosk", "k1", rid, "issue", service="tax-invoice")]))[
            0
        ]["ok"]
    one = answers(core.execute([request("kiosk", "k2", "c", "issue", service="tax-invoice")]))
    other = answers(core.execute([request("kiosk", "k1", "d", "issue", service="tax-invoice")]))
    assert one[0]["ok"] is True and other[0]["error"]["code"] == "quota_reached"
    # The retry of the refused one gets the same stored refusal; a restart keeps the count.
    again = answers(core.execute([request("kiosk", "k1", "d", "issue", service="tax-invoice")]))
    assert again == other
    core.close()
    with HallCore(CONFIG, tmp_path / "data", FixedClock(NINE)) as reopened:
        late = answers(
            reopened.execute([request("kiosk", "k2", "e", "issue", service="tax-invoice")])
        )
        assert late[0]["error"]["code"] == "quota_reached"


def test_bookings_over_the_wire_survive_a_restart(core: HallCore, tmp_path: Path) -> None:
    added = answers(
        core.execute(
            [
                request(
                    "operator",
                    "op1",
                    "b1",
                    "booking_add",
                    code="K9",
                    service="tax-audit",
                    day="2026-11-26",
                    slot="09:00",
                ),
                request("kiosk", "k1", "i1", "issue", service="tax-audit", appointment="k9"),
                request("kiosk", "k2", "i2", "issue", service="tax-audit", appointment="K9"),
                request("operator", "op1", "c1", "booking_cancel", code="K9"),
            ]
        )
    )
    assert added[0]["result"]["booking"]["code"] == "K9"
    assert added[1]["ok"] and added[1]["result"]["ticket"]["service"] == "tax-audit"
    assert [a["error"]["code"] for a in added[2:]] == ["booking_used", "booking_used"]
    core.close()
    with HallCore(CONFIG, tmp_path / "data", FixedClock(NINE)) as reopened:
        assert reopened.engine.state.bookings["K9"].ticket == added[1]["result"]["ticket"]["id"]
