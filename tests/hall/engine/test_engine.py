"""The engine's kiosk ops, numbering, the business day, replay and snapshots."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hall.engine.engine import Engine, Outcome, business_day_of
from hall.engine.model import (
    EVENT_TYPES,
    CallNext,
    DayRolledOver,
    Finish,
    IssueTicket,
    Login,
    QueryTicket,
    Reprint,
    Rollover,
    SetService,
    TicketIssued,
    event_from_dict,
    event_to_dict,
)
from hall.engine.rules import Appointment, Rules
from tests.fixtures.events import sample_event
from tests.fixtures.halls import MORNING, hall_time, later, small_hall
from tests.hall.engine.engine_checks import refused


@pytest.fixture
def engine() -> Engine:
    return Engine(small_hall())


def issue(
    engine: Engine, service: str = "psb-id-card", now: datetime = MORNING, **kw: object
) -> dict[str, Any]:
    ticket: dict[str, Any] = engine.handle(IssueTicket("k2", service, **kw), now).result["ticket"]  # type: ignore[arg-type]
    return ticket


# -- numbering -------------------------------------------------------------------------------


def test_numbers_are_per_department_with_prefix_and_padding(engine: Engine) -> None:
    numbers = [issue(engine, s)["number"] for s in ("psb-id-card", "psb-hukou", "tax-invoice")]
    numbers += [issue(engine, "amr-license")["number"], issue(engine, "tax-register")["number"]]
    assert numbers == ["A001", "A002", "B001", "AB001", "B002"]


def test_ticket_id_is_business_day_and_number(engine: Engine) -> None:
    ticket = issue(engine)
    assert ticket["id"] == "20261126-A001"
    assert ticket["issued_at"] == "2026-11-26T09:00:00+08:00"
    assert ticket["status"] == "waiting" and ticket["window"] is None and ticket["recalls"] == 0


def test_numbers_grow_past_the_width() -> None:
    engine = Engine(small_hall(number_width=1))
    numbers = [issue(engine)["number"] for _ in range(11)]
    assert (
        numbers[0] == "A1" and numbers[8] == "A9" and numbers[9] == "A10" and numbers[10] == "A11"
    )


def test_numbers_are_never_reused_in_a_day_even_after_cancel_or_service(engine: Engine) -> None:
    engine.handle(Login("w02", "c0201"), MORNING)
    first = issue(engine)
    engine.handle(CallNext("w02"), MORNING)
    engine.handle(Finish("w02"), MORNING)
    assert first["number"] == "A001"
    assert issue(engine)["number"] == "A002"


def test_issue_answers_ahead_and_estimate(engine: Engine) -> None:
    for _ in range(3):
        issue(engine)
    fourth = issue(engine)
    # Three ahead, 6 minutes each (the configured average), two windows could serve it, none open.
    assert fourth["ahead"] == 3
    assert fourth["est_wait_min"] == 9


def test_issue_with_lang_and_english_kiosk(engine: Engine) -> None:
    outcome = engine.handle(IssueTicket("k1", "tax-invoice", lang="en"), MORNING)
    issued = next(e for e in outcome.events if isinstance(e, TicketIssued))
    assert issued.lang == "en" and issued.kiosk == "k1"


# -- kiosk error codes -----------------------------------------------------------------------


def test_issue_refusals(engine: Engine) -> None:
    assert refused(engine, IssueTicket("k9", "psb-id-card")) == "unknown_device"
    assert refused(engine, IssueTicket("k1", "psb-id-crd")) == "unknown_service"
    assert refused(engine, IssueTicket("k1", "psb-id-card", priority="priority")) == "forbidden"
    assert refused(engine, IssueTicket("k1", "psb-id-card", priority="vip")) == "invalid_request"  # type: ignore[arg-type]
    assert refused(engine, IssueTicket("k1", "tax-audit")) == "appointment_required"
    assert (
        refused(engine, IssueTicket("k1", "tax-audit", appointment="B7F3K2")) == "unknown_booking"
    )


def test_priority_from_an_allowed_kiosk(engine: Engine) -> None:
    ticket = issue(engine, priority="priority")
    assert ticket["priority"] == "priority"


def test_closed_service_and_cap(engine: Engine) -> None:
    engine.handle(SetService("op1", "psb-hukou", open=False), MORNING)
    assert refused(engine, IssueTicket("k1", "psb-hukou")) == "service_closed"
    engine.handle(SetService("op1", "psb-hukou", open=True, cap=2), MORNING)
    issue(engine, "psb-hukou")
    issue(engine, "psb-hukou")
    assert refused(engine, IssueTicket("k1", "psb-hukou")) == "quota_reached"
    engine.handle(SetService("op1", "psb-hukou", clear_cap=True), MORNING)
    assert issue(engine, "psb-hukou")["number"] == "A003"


def test_reprint_keeps_the_number_and_is_limited() -> None:
    engine = Engine(small_hall(reprint_limit=2))
    ticket = issue(engine)
    for _ in range(2):
        again = engine.handle(Reprint("k1", ticket["id"]), MORNING).result["ticket"]
        assert again["number"] == ticket["number"] and again["id"] == ticket["id"]
    assert refused(engine, Reprint("k1", ticket["id"])) == "reprint_limit"
    assert refused(engine, Reprint("k1", "20261126-A999")) == "unknown_ticket"
    assert refused(engine, Reprint("k9", ticket["id"])) == "unknown_device"


def test_reprint_only_while_waiting(engine: Engine) -> None:
    ticket = issue(engine)
    engine.handle(Login("w02", "c0201"), MORNING)
    engine.handle(CallNext("w02"), MORNING)
    assert refused(engine, Reprint("k1", ticket["id"])) == "invalid_transition"


def test_status_is_fresh_and_changes_nothing(engine: Engine) -> None:
    first = issue(engine)
    second = issue(engine)
    engine.handle(Login("w02", "c0201"), MORNING)
    assert engine.handle(QueryTicket("k1", second["id"]), MORNING).result["ticket"]["ahead"] == 1
    engine.handle(CallNext("w02"), later(1))
    outcome = engine.handle(QueryTicket("k1", second["id"]), later(1))
    assert outcome.events == ()
    assert outcome.result["ticket"]["ahead"] == 0
    called = engine.handle(QueryTicket("k1", first["id"]), later(1)).result["ticket"]
    assert called["status"] == "called" and called["window"] == "w02"
    assert refused(engine, QueryTicket("k1", "nope")) == "unknown_ticket"


# -- the business day ------------------------------------------------------------------------


def test_business_day_changes_at_the_rollover_time() -> None:
    site = small_hall().site  # rollover 03:00 Asia/Shanghai
    assert business_day_of(hall_time(2, 59, 59, day=27), site).isoformat() == "2026-11-26"
    assert business_day_of(hall_time(3, 0, 0, day=27), site).isoformat() == "2026-11-27"
    # The same instant given in UTC falls in the same business day.
    utc = hall_time(3, 0, 0, day=27).astimezone(UTC)
    assert business_day_of(utc, site).isoformat() == "2026-11-27"
    with pytest.raises(ValueError):
        business_day_of(datetime(2026, 11, 27, 3), site)


def test_first_command_starts_the_day(engine: Engine) -> None:
    assert engine.state.business_day is None
    outcome = engine.handle(Rollover(), MORNING)
    assert outcome.events == (DayRolledOver(MORNING.isoformat(), "2026-11-26", None, ()),)
    assert outcome.result == {"business_day": "2026-11-26"}
    assert engine.handle(Rollover(), later(60)).events == ()


def test_rollover_expires_unserved_tickets_and_restarts_numbers(engine: Engine) -> None:
    engine.handle(Login("w02", "c0201"), MORNING)
    served = issue(engine)
    waiting = issue(engine)
    engine.handle(CallNext("w02"), MORNING)
    engine.handle(Finish("w02"), MORNING)
    called = issue(engine)
    engine.handle(CallNext("w02"), MORNING)
    engine.handle(SetService("op1", "psb-hukou", open=False, cap=5), MORNING)
    next_day = hall_time(3, 0, day=27)
    outcome = engine.handle(Rollover(), next_day)
    (roll,) = outcome.events
    assert isinstance(roll, DayRolledOver)
    assert roll.previous == "2026-11-26" and roll.business_day == "2026-11-27"
    assert set(roll.expired) == {waiting["id"], called["id"]}
    assert served["id"] not in roll.expired
    state = engine.state
    assert state.tickets == {} and state.call_seq == 0 and state.last_number == {}
    assert all(w.clerk is None and w.current is None for w in state.windows.values())
    assert state.services["psb-hukou"].open and state.services["psb-hukou"].cap is None
    assert issue(engine, now=next_day)["id"] == "20261127-A001"


def test_a_command_in_a_new_day_rolls_it_over_first(engine: Engine) -> None:
    issue(engine)
    outcome = engine.handle(IssueTicket("k1", "psb-id-card"), hall_time(8, 0, day=27))
    assert isinstance(outcome.events[0], DayRolledOver)
    assert outcome.result["ticket"]["number"] == "A001"


def test_a_refused_command_in_a_new_day_rolls_nothing_over(engine: Engine) -> None:
    issue(engine)
    assert refused(engine, IssueTicket("k1", "nope"), hall_time(8, 0, day=27)) == "unknown_service"
    assert engine.state.business_day.isoformat() == "2026-11-26"  # type: ignore[union-attr]


def test_time_going_back_does_not_roll_the_day_back(engine: Engine) -> None:
    issue(engine, now=hall_time(9, 0, day=27))
    assert issue(engine, now=hall_time(9, 0, day=26))["id"] == "20261127-A002"


def test_naive_times_are_a_programming_error(engine: Engine) -> None:
    with pytest.raises(ValueError):
        engine.handle(Rollover(), datetime(2026, 11, 26, 9))


# -- replay and snapshots --------------------------------------------------------------------


def busy_morning(engine: Engine) -> list[Outcome]:
    outcomes = [engine.handle(Login("w01", "c0101", pin="1234"), MORNING)]
    outcomes.append(engine.handle(Login("w02", "c0201"), MORNING))
    for i in range(6):
        outcomes.append(
            engine.handle(
                IssueTicket("k2", "psb-id-card", priority="priority" if i == 3 else "normal"),
                later(i),
            )
        )
    for i in range(4):
        outcomes.append(engine.handle(CallNext("w01" if i % 2 else "w02"), later(10 + i)))
    outcomes.append(engine.handle(Finish("w02"), later(20)))
    return outcomes


def test_replaying_the_events_rebuilds_the_state() -> None:
    config = small_hall()
    engine = Engine(config)
    outcomes = busy_morning(engine)
    replay = Engine(config)
    for outcome in outcomes:
        for event in outcome.events:
            replay.apply(event_from_dict(json.loads(json.dumps(event_to_dict(event)))))
    assert replay.state == engine.state
    assert replay.board(later(30)) == engine.board(later(30))


def test_snapshot_is_json_and_restores_an_equal_engine() -> None:
    config = small_hall()
    engine = Engine(config)
    busy_morning(engine)
    data = json.loads(json.dumps(engine.snapshot()))
    restored = Engine.restore(config, data)
    assert restored.state == engine.state
    assert restored.queues(later(30)) == engine.queues(later(30))
    # The restored engine goes on exactly as the original would.
    a = engine.handle(CallNext("w02"), later(31))
    b = restored.handle(CallNext("w02"), later(31))
    assert a == b and restored.state == engine.state


def test_snapshot_of_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError):
        Engine.restore(small_hall(), {"format": 99})


def test_outcome_times_carry_the_hall_offset(engine: Engine) -> None:
    outcome = engine.handle(IssueTicket("k1", "psb-id-card"), MORNING.astimezone(UTC))
    assert all(e.at == "2026-11-26T09:00:00+08:00" for e in outcome.events)


# -- the rules hook (issue #4 plugs bookings in here) ---------------------------------------


class BookedRules(Rules):
    def appointment(self, state, code, service, now):  # type: ignore[no-untyped-def]
        return Appointment(code, now + timedelta(minutes=30))


def test_an_appointment_from_the_rules_hook_is_carried_by_the_ticket() -> None:
    config = small_hall()
    engine = Engine(config, rules=BookedRules(config))
    outcome = engine.handle(IssueTicket("k1", "tax-audit", appointment="B7F3K2"), MORNING)
    issued = outcome.events[-1]
    assert isinstance(issued, TicketIssued)
    assert issued.appointment == "B7F3K2" and issued.slot == "2026-11-26T09:30:00+08:00"


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_every_event_type_round_trips_through_json(name: str) -> None:
    event = sample_event(EVENT_TYPES[name])
    data = json.loads(json.dumps(event_to_dict(event)))  # type: ignore[arg-type]
    assert data["type"] == name
    assert event_from_dict(data) == event
    with pytest.raises(ValueError):
        event_from_dict({**data, "type": "no_such_event"})


def test_events_of_an_earlier_config_replay_after_a_window_and_a_service_are_dropped() -> None:
    from hall.config.schema import parse_config
    from tests.fixtures.halls import small_hall_data

    engine = Engine(small_hall())
    events = [
        *engine.handle(Login("w05", "c0501"), MORNING).events,
        *engine.handle(IssueTicket("k1", "amr-change"), MORNING).events,
        *engine.handle(IssueTicket("k1", "amr-license"), MORNING).events,
        *engine.handle(CallNext("w05"), MORNING).events,
        *engine.handle(Finish("w05"), later(3)).events,
    ]
    data = small_hall_data()
    data["windows"] = [w for w in data["windows"] if w["id"] != "w05"]
    data["evaluators"] = [e for e in data["evaluators"] if e["window"] != "w05"]
    data["services"] = [s for s in data["services"] if s["code"] != "amr-change"]
    data["windows"][3]["tiers"] = [["amr-license"]]
    replay = Engine(parse_config(data))
    for event in events:
        replay.apply(event)
    waiting = replay.ticket_view("20261126-AB001", later(4))
    assert waiting["status"] == "waiting" and waiting["service"] == "amr-change"
    assert replay.board(later(4))["waiting"]["amr"]["count"] == 1
