"""Ratings (one per ticket, 1..5, tied to ticket, service, window and clerk, within the rating time)
and the operator ops (cancel, force_logout, service open/closed and cap, notice)."""

from __future__ import annotations

import pytest

from hall.engine.engine import Engine
from hall.engine.model import (
    CallNext,
    Cancel,
    ExpireRatings,
    Finish,
    Hold,
    IssueTicket,
    Login,
    NoShow,
    Rate,
    RatingExpired,
    SetNotice,
    SetService,
    TicketCancelled,
    TicketRated,
)
from tests.fixtures.halls import MORNING, later, small_hall
from tests.hall.engine.engine_checks import refused


@pytest.fixture
def engine() -> Engine:
    engine = Engine(small_hall(rating_seconds=60))
    engine.handle(Login("w02", "c0201"), MORNING)
    return engine


def served(engine: Engine, window: str = "w02", minutes: float = 1) -> str:
    ticket: str = engine.handle(IssueTicket("k1", "psb-id-card"), later(minutes)).result["ticket"][
        "id"
    ]
    engine.handle(CallNext(window), later(minutes))
    engine.handle(Finish(window), later(minutes + 2))
    return ticket


# -- ratings ---------------------------------------------------------------------------------


def test_a_done_ticket_is_rated_once(engine: Engine) -> None:
    ticket = served(engine)
    assert engine.rating_view("w02")["ticket"]["id"] == ticket  # type: ignore[index]
    outcome = engine.handle(Rate("e02", ticket, 5, ("热情",)), later(3, 30))
    (rated,) = outcome.events
    assert rated == TicketRated(
        later(3, 30).isoformat(), "e02", ticket, "w02", "c0201", "psb-id-card", 5, ("热情",)
    )
    assert outcome.result["rating"] == {"score": 5, "reasons": ["热情"]}
    assert engine.rating_view("w02") is None  # cleared by the rating
    assert refused(engine, Rate("e02", ticket, 4), later(3, 40)) == "already_rated"


def test_rating_refusals(engine: Engine) -> None:
    ticket = served(engine)
    assert refused(engine, Rate("e01", ticket, 5), later(3)) == "not_rateable"  # other window
    assert refused(engine, Rate("e02", ticket, 5), later(4, 1)) == "not_rateable"  # too late
    assert refused(engine, Rate("e02", "nope", 5), later(3)) == "unknown_ticket"
    assert refused(engine, Rate("e99", ticket, 5), later(3)) == "unknown_device"
    for score in (0, 6, True):
        assert refused(engine, Rate("e02", ticket, score), later(3)) == "invalid_request"
    engine.handle(Rate("e02", ticket, 1), later(4))  # exactly at the limit is still in time


def test_only_done_tickets_are_rateable(engine: Engine) -> None:
    waiting = engine.handle(IssueTicket("k1", "psb-id-card"), MORNING).result["ticket"]["id"]
    assert refused(engine, Rate("e02", waiting, 5)) == "not_rateable"
    engine.handle(CallNext("w02"), MORNING)
    assert refused(engine, Rate("e02", waiting, 5)) == "not_rateable"  # called
    engine.handle(NoShow("w02"), MORNING)
    assert refused(engine, Rate("e02", waiting, 5)) == "not_rateable"  # no_show


def test_the_next_done_ticket_replaces_the_pending_rating(engine: Engine) -> None:
    first = served(engine, minutes=1)
    second = served(engine, minutes=2)
    assert engine.rating_view("w02")["ticket"]["id"] == second  # type: ignore[index]
    # The first can still be rated within its own time, and that leaves the second pending.
    engine.handle(Rate("e02", first, 3), later(3, 30))
    assert engine.rating_view("w02")["ticket"]["id"] == second  # type: ignore[index]


def test_a_ticket_closed_by_the_next_call_awaits_a_rating(engine: Engine) -> None:
    first = engine.handle(IssueTicket("k1", "psb-id-card"), MORNING).result["ticket"]["id"]
    engine.handle(IssueTicket("k1", "psb-id-card"), MORNING)
    engine.handle(CallNext("w02"), MORNING)
    engine.handle(CallNext("w02"), later(1))
    view = engine.rating_view("w02")
    assert view is not None and view["ticket"]["id"] == first
    assert view["until"] == later(2).isoformat() and view["clerk"]["id"] == "c0201"


def test_expired_ratings_are_cleared(engine: Engine) -> None:
    ticket = served(engine)
    assert engine.handle(ExpireRatings(), later(4)).events == ()  # at `until` it still stands
    outcome = engine.handle(ExpireRatings(), later(4, 1))
    assert outcome.events == (RatingExpired(later(4, 1).isoformat(), "w02", ticket),)
    assert outcome.result == {"expired": ["w02"]}
    assert engine.rating_view("w02") is None


def test_no_rating_is_pending_at_a_window_without_an_evaluator() -> None:
    from hall.config.schema import parse_config
    from tests.fixtures.halls import small_hall_data

    data = small_hall_data()
    data["evaluators"] = [e for e in data["evaluators"] if e["window"] != "w02"]
    engine = Engine(parse_config(data))
    engine.handle(Login("w02", "c0201"), MORNING)
    served(engine)
    assert engine.rating_view("w02") is None


# -- operator ops ----------------------------------------------------------------------------


def test_cancel_a_waiting_ticket(engine: Engine) -> None:
    ticket = engine.handle(IssueTicket("k1", "psb-id-card"), MORNING).result["ticket"]["id"]
    outcome = engine.handle(Cancel("op1", ticket), later(1))
    assert outcome.events == (TicketCancelled(later(1).isoformat(), "op1", ticket),)
    assert outcome.result["ticket"]["status"] == "cancelled"
    assert refused(engine, CallNext("w02")) == "queue_empty"
    assert refused(engine, Cancel("op1", ticket)) == "invalid_transition"
    assert refused(engine, Cancel("op1", "nope")) == "unknown_ticket"
    assert refused(engine, Cancel("op9", ticket)) == "unknown_device"


def test_cancel_a_called_or_held_ticket_frees_the_window(engine: Engine) -> None:
    first = engine.handle(IssueTicket("k1", "psb-id-card"), MORNING).result["ticket"]["id"]
    second = engine.handle(IssueTicket("k1", "psb-id-card"), MORNING).result["ticket"]["id"]
    engine.handle(CallNext("w02"), MORNING)
    engine.handle(Hold("w02"), MORNING)
    engine.handle(CallNext("w02"), MORNING)
    engine.handle(Cancel("op1", first), later(1))
    engine.handle(Cancel("op1", second), later(1))
    window = engine.window_view("w02")
    assert window["ticket"] is None and window["held"] == []


def test_service_open_close_and_cap(engine: Engine) -> None:
    assert refused(engine, SetService("op1", "nope", open=False)) == "unknown_service"
    assert refused(engine, SetService("op1", "psb-id-card")) == "invalid_request"
    assert refused(engine, SetService("op1", "psb-id-card", cap=-1)) == "invalid_request"
    assert refused(engine, SetService("op9", "psb-id-card", open=False)) == "unknown_device"
    result = engine.handle(SetService("op1", "psb-id-card", open=False), MORNING).result
    assert result["service"]["open"] is False and result["service"]["cap"] is None
    result = engine.handle(SetService("op1", "psb-id-card", cap=120), MORNING).result
    assert result["service"]["open"] is False and result["service"]["cap"] == 120
    catalog = {s["code"]: s for s in engine.catalog()["services"]}
    assert catalog["psb-id-card"]["open"] is False and catalog["psb-id-card"]["cap"] == 120
    queues = engine.queues(MORNING)["services"]["psb-id-card"]
    assert queues["can_issue"] is False and queues["reason"] == "closed"


def test_notice(engine: Engine) -> None:
    assert engine.handle(SetNotice("op1", "  午休时间12:00-13:30 "), MORNING).result == {
        "notice": "午休时间12:00-13:30"
    }
    assert engine.board(MORNING)["notice"] == "午休时间12:00-13:30"
    assert engine.catalog()["notice"] == "午休时间12:00-13:30"
    assert refused(engine, SetNotice("op1", "x" * 501)) == "invalid_request"
    assert refused(engine, SetNotice("op9", "x")) == "unknown_device"
    engine.handle(SetNotice("op1", ""), MORNING)
    assert engine.board(MORNING)["notice"] is None
