"""What the ticket kiosk asks of the hall beyond the first contract: a priority ticket's category, a
check-in by booking code alone, and when a closed service opens next (in `queues`)."""

from __future__ import annotations

from datetime import datetime

import pytest

from hall.engine.engine import Engine
from hall.engine.errors import HallError
from hall.engine.model import AddBooking, IssueTicket
from hall.engine.requests import RequestError, decode_request
from tests.fixtures.halls import ZONE, rules_hall, small_hall

CONFIG = rules_hall()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


NINE = at("2026-11-26T09:00")


def decode(config: object, kiosk: str, payload: bytes) -> IssueTicket:
    command = decode_request(config, "kiosk", kiosk, payload).command  # type: ignore[arg-type]
    assert isinstance(command, IssueTicket)
    return command


def test_a_category_makes_a_priority_ticket_and_is_on_it() -> None:
    command = decode(
        small_hall(),
        "k2",
        b'{"v":1,"id":"a","op":"issue","service":"psb-id-card","category":"elderly"}',
    )
    assert (command.priority, command.category) == ("priority", "elderly")
    engine = Engine(small_hall())
    ticket = engine.handle(command, NINE).result["ticket"]
    assert (ticket["priority"], ticket["category"]) == ("priority", "elderly")
    plain = engine.handle(IssueTicket("k2", "psb-id-card"), NINE).result["ticket"]
    assert "category" not in plain  # absent, not null, where none was given
    with pytest.raises(HallError) as refused:  # k1 has no green channel
        engine.handle(IssueTicket("k1", "psb-id-card", "priority", category="military"), NINE)
    assert refused.value.code == "forbidden"


def test_an_unknown_category_is_invalid() -> None:
    with pytest.raises(RequestError):
        decode(small_hall(), "k2", b'{"v":1,"id":"a","op":"issue","service":"s","category":"vip"}')


def test_check_in_by_the_booking_code_alone() -> None:
    engine = Engine(CONFIG)
    engine.handle(AddBooking("op1", "BK7", "psb-hukou", "2026-11-26", "09:30"), NINE)
    command = decode(CONFIG, "k1", b'{"v":1,"id":"b","op":"issue","appointment":"bk7"}')
    ticket = engine.handle(command, NINE).result["ticket"]
    assert ticket["service"] == "psb-hukou"
    with pytest.raises(HallError) as refused:
        engine.handle(IssueTicket("k1", "", appointment="NOPE"), NINE)
    assert refused.value.code == "unknown_booking"


def test_a_service_outside_its_hours_says_when_it_opens() -> None:
    engine = Engine(CONFIG)
    lunch = engine.queues(at("2026-11-26T12:30"))["services"]["psb-hukou"]
    assert lunch["reason"] == "outside_hours" and lunch["next_open"] == "2026-11-26T13:30:00+08:00"
    evening = engine.queues(at("2026-11-26T18:00"))["services"]["psb-hukou"]
    assert evening["next_open"] == "2026-11-27T09:00:00+08:00"
    friday_night = engine.queues(at("2026-11-27T18:00"))["services"]["psb-hukou"]
    assert friday_night["next_open"] == "2026-11-30T09:00:00+08:00"  # over the weekend
    open_now = engine.queues(NINE)["services"]["psb-hukou"]
    assert open_now["can_issue"] and "next_open" not in open_now
