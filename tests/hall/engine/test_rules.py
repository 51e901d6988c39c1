"""The hall's rules (issue #4): hours on China's working calendar, caps, operator changes, kiosk limits.

Bookings have their own file (test_bookings.py). Every rule is checked through the engine, the way a
kiosk meets it, and where it shows, through `queues` and `catalog` too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from hall.config.calendar import is_open, spans_on
from hall.config.schema import parse_config
from hall.engine.engine import Engine
from hall.engine.errors import HallError
from hall.engine.model import (
    IssueTicket,
    QuotaWarning,
    Reprint,
    Rollover,
    SetService,
    TicketIssued,
)
from hall.engine.rules import Rules
from tests.fixtures.halls import ZONE, rules_hall, rules_hall_data

CONFIG = rules_hall()


def at(text: str) -> datetime:
    """A hall time: '2026-11-26T09:00' in the hall's zone."""
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def refused(engine: Engine, command: Any, now: datetime) -> str:
    with pytest.raises(HallError) as caught:
        engine.handle(command, now)
    return caught.value.code


def issue(engine: Engine, now: datetime, service: str = "psb-hukou", kiosk: str = "k1") -> str:
    outcome = engine.handle(IssueTicket(kiosk, service), now)
    return str(outcome.result["ticket"]["number"])


def queue(engine: Engine, service: str, now: datetime) -> dict[str, Any]:
    entry = engine.queues(now)["services"][service]
    assert isinstance(entry, dict)
    return entry


@pytest.fixture
def engine() -> Engine:
    return Engine(CONFIG)


# -- hours on the working calendar -------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        ("2026-11-26T08:59:59", False),
        ("2026-11-26T09:00:00", True),  # the first second of the morning span
        ("2026-11-26T11:59:59", True),
        ("2026-11-26T12:00:00", False),  # its end is closed
        ("2026-11-26T13:29:59", False),
        ("2026-11-26T13:30:00", True),
        ("2026-11-26T16:59:59", True),
        ("2026-11-26T17:00:00", False),
    ],
)
def test_the_moment_a_span_opens_and_closes(moment: str, open_: bool) -> None:
    engine = Engine(CONFIG)
    now = at(moment)
    entry = queue(engine, "psb-hukou", now)
    assert entry["can_issue"] is open_
    assert entry["reason"] == (None if open_ else "outside_hours")
    if open_:
        assert issue(engine, now) == "A001"
    else:
        assert refused(engine, IssueTicket("k1", "psb-hukou"), now) == "outside_hours"
        assert engine.state.services["psb-hukou"].issued_today == 0


def test_a_public_holiday_is_closed_all_day() -> None:
    engine = Engine(CONFIG)
    holiday = at("2026-10-05T10:00")  # a Monday in the National Day week
    for service in ("psb-hukou", "psb-id-card", "psb-passport", "tax-invoice"):
        assert refused(engine, IssueTicket("k1", service), holiday) == "outside_hours"
        assert queue(engine, service, holiday)["reason"] == "outside_hours"
    assert queue(engine, "psb-passport", at("2026-10-05T14:00"))["reason"] == "outside_hours"


def test_a_make_up_working_saturday_opens_with_monday_hours() -> None:
    engine = Engine(CONFIG)
    makeup = at("2026-10-10T10:00")  # Saturday 10-10: a working day (调休上班)
    assert issue(engine, makeup) == "A001"
    assert refused(engine, IssueTicket("k1", "psb-hukou"), at("2026-10-10T12:30")) == (
        "outside_hours"
    )
    afternoon = at("2026-10-10T14:00")
    assert issue(engine, afternoon, "psb-passport") == "A002"  # Monday's afternoon span
    # The make-up Sunday before the holiday works too.
    assert Engine(CONFIG).handle(IssueTicket("k1", "psb-hukou"), at("2026-09-20T09:30")).events


def test_an_ordinary_saturday_opens_only_the_services_with_a_saturday_span() -> None:
    engine = Engine(CONFIG)
    saturday = at("2026-11-28T10:00")
    assert refused(engine, IssueTicket("k1", "psb-hukou"), saturday) == "outside_hours"
    assert issue(engine, saturday, "psb-id-card") == "A001"  # 周六上午: its own span
    assert queue(engine, "psb-id-card", saturday)["can_issue"] is True
    assert queue(engine, "psb-hukou", saturday)["reason"] == "outside_hours"
    assert refused(engine, IssueTicket("k1", "psb-id-card"), at("2026-11-28T12:00")) == (
        "outside_hours"
    )
    assert queue(engine, "psb-id-card", at("2026-11-29T10:00"))["reason"] == "outside_hours"


def test_an_afternoon_only_service() -> None:
    engine = Engine(CONFIG)
    assert refused(engine, IssueTicket("k1", "psb-passport"), at("2026-11-26T10:00")) == (
        "outside_hours"
    )
    assert issue(engine, at("2026-11-26T13:30"), "psb-passport") == "A001"


def test_the_calendar_functions() -> None:
    cal = CONFIG.calendar
    hall = CONFIG.hours_of("psb-hukou")
    assert [(s.start.hour, s.end.hour) for s in spans_on(cal, hall, at("2026-10-10T00:00").date())]
    assert spans_on(cal, hall, at("2026-10-01T00:00").date()) == []
    assert not is_open(cal, hall, at("2026-11-28T10:00"))
    assert is_open(cal, CONFIG.hours_of("psb-id-card"), at("2026-11-28T10:00"))


def test_the_next_edge_of_the_hours() -> None:
    rules = Rules(CONFIG)
    assert rules.next_edge(at("2026-11-26T08:00")) == at("2026-11-26T09:00")
    assert rules.next_edge(at("2026-11-26T09:00")) == at("2026-11-26T12:00")
    assert rules.next_edge(at("2026-11-26T17:30")) == at("2026-11-27T09:00")
    # Friday evening: Saturday's morning span (psb-id-card) is next.
    assert rules.next_edge(at("2026-11-27T18:00")) == at("2026-11-28T09:00")
    assert rules.next_edge(at("2026-11-28T12:00")) == at("2026-11-30T09:00")
    # The National Day week (10-03 is a Saturday, but a holiday): closed until Thursday 10-08.
    assert rules.next_edge(at("2026-09-30T17:00")) == at("2026-10-08T09:00")
    assert Engine(CONFIG).next_hours_edge(at("2026-11-26T12:10")) == at("2026-11-26T13:30")


def test_hours_appear_in_the_catalog() -> None:
    catalog = Engine(CONFIG).catalog()
    services = {s["code"]: s for s in catalog["services"]}
    assert services["psb-passport"]["hours"] == [
        {"days": "mon-fri", "from": "13:30", "to": "17:00"}
    ]
    assert services["psb-hukou"]["hours"] == [
        {"days": "mon-fri", "from": "09:00", "to": "12:00"},
        {"days": "mon-fri", "from": "13:30", "to": "17:00"},
    ]
    assert services["psb-id-card"]["hours"][-1] == {"days": "sat", "from": "09:00", "to": "12:00"}
    assert services["tax-invoice"]["cap"] == 3 and services["psb-hukou"]["cap"] is None


# -- caps ------------------------------------------------------------------------------------------


def test_a_cap_with_its_warning_level(engine: Engine) -> None:
    now = at("2026-11-26T09:00")
    first = engine.handle(IssueTicket("k1", "tax-invoice"), now)
    assert not [e for e in first.events if isinstance(e, QuotaWarning)]
    second = engine.handle(IssueTicket("k1", "tax-invoice"), now)
    assert [e for e in second.events if isinstance(e, QuotaWarning)] == [
        QuotaWarning(second.events[0].at, "tax-invoice", "warn", 2, 3)
    ]
    assert queue(engine, "tax-invoice", now)["can_issue"] is True
    third = engine.handle(IssueTicket("k2", "tax-invoice", priority="priority"), now)
    warnings = [e for e in third.events if isinstance(e, QuotaWarning)]
    assert [(w.level, w.issued, w.cap) for w in warnings] == [("reached", 3, 3)]
    assert refused(engine, IssueTicket("k1", "tax-invoice"), now) == "quota_reached"
    assert refused(engine, IssueTicket("k2", "tax-invoice", priority="priority"), now) == (
        "quota_reached"
    )
    entry = queue(engine, "tax-invoice", now)
    assert entry == {**entry, "can_issue": False, "reason": "quota_reached", "issued_today": 3}
    # Other services are not touched.
    assert queue(engine, "tax-register", now)["can_issue"] is True


def test_quota_warning_round_trips_and_changes_no_state(engine: Engine) -> None:
    from hall.engine.model import event_from_dict, event_to_dict

    event = QuotaWarning("2026-11-26T09:00:00+08:00", "tax-invoice", "warn", 2, 3)
    assert event_from_dict(event_to_dict(event)) == event
    before = engine.snapshot()
    engine.apply(event)
    assert engine.snapshot() == before


def test_an_operator_changes_the_cap_for_the_day_visible_at_once(engine: Engine) -> None:
    now = at("2026-11-26T09:00")
    issue(engine, now, "psb-hukou")
    outcome = engine.handle(SetService("op1", "psb-hukou", cap=1), now)
    assert outcome.result["service"]["cap"] == 1
    # Lowered to what is issued already: walk-ins stop now, and the level is reported.
    assert [(e.level, e.issued, e.cap) for e in outcome.events if isinstance(e, QuotaWarning)] == [
        ("reached", 1, 1)
    ]
    assert {s["code"]: s for s in engine.catalog()["services"]}["psb-hukou"]["cap"] == 1
    assert queue(engine, "psb-hukou", now)["reason"] == "quota_reached"
    assert refused(engine, IssueTicket("k1", "psb-hukou"), now) == "quota_reached"
    # Raising the config's cap for the day, and back to the config's with cap null.
    engine.handle(SetService("op1", "tax-invoice", cap=250), now)
    for _ in range(4):
        issue(engine, now, "tax-invoice")
    engine.handle(SetService("op1", "tax-invoice", clear_cap=True), now)
    assert {s["code"]: s for s in engine.catalog()["services"]}["tax-invoice"]["cap"] == 3
    assert queue(engine, "tax-invoice", now)["reason"] == "quota_reached"


def test_an_operator_closes_and_reopens_a_service(engine: Engine) -> None:
    now = at("2026-11-26T10:00")
    result = engine.handle(SetService("op1", "psb-hukou", open=False), now).result
    assert result["service"]["open"] is False
    assert {s["code"]: s for s in engine.catalog()["services"]}["psb-hukou"]["open"] is False
    assert queue(engine, "psb-hukou", now) == {
        **queue(engine, "psb-hukou", now),
        "can_issue": False,
        "reason": "closed",
    }
    assert refused(engine, IssueTicket("k1", "psb-hukou"), now) == "service_closed"
    # Closed wins over outside_hours: the operator's word is what a kiosk shows.
    assert queue(engine, "psb-hukou", at("2026-11-26T12:30"))["reason"] == "closed"
    engine.handle(SetService("op1", "psb-hukou", open=True), now)
    assert issue(engine, now) == "A001"


def test_operator_caps_and_closures_last_one_business_day(engine: Engine) -> None:
    now = at("2026-11-26T10:00")
    engine.handle(SetService("op1", "psb-hukou", open=False), now)
    engine.handle(SetService("op1", "tax-register", cap=0), now)
    assert queue(engine, "tax-register", now)["reason"] == "quota_reached"
    tomorrow = at("2026-11-27T09:00")
    engine.handle(Rollover(), tomorrow)
    assert queue(engine, "psb-hukou", tomorrow)["can_issue"] is True
    assert queue(engine, "tax-register", tomorrow)["can_issue"] is True
    services = {s["code"]: s for s in engine.catalog()["services"]}
    assert services["psb-hukou"]["open"] is True and services["tax-register"]["cap"] is None
    assert services["tax-invoice"]["cap"] == 3  # the config's cap stays
    assert issue(engine, tomorrow) == "A001"


def test_the_cap_counts_from_zero_each_day(engine: Engine) -> None:
    for _ in range(3):
        issue(engine, at("2026-11-26T09:00"), "tax-invoice")
    assert refused(engine, IssueTicket("k1", "tax-invoice"), at("2026-11-26T16:00")) == (
        "quota_reached"
    )
    assert issue(engine, at("2026-11-27T09:00"), "tax-invoice") == "B001"


# -- kiosk limits --------------------------------------------------------------------------------


def test_priority_only_from_kiosks_that_allow_it(engine: Engine) -> None:
    now = at("2026-11-26T09:00")
    assert refused(engine, IssueTicket("k1", "psb-hukou", priority="priority"), now) == (
        "forbidden"
    )
    assert refused(engine, IssueTicket("k3", "psb-hukou", priority="priority"), now) == (
        "forbidden"
    )
    outcome = engine.handle(IssueTicket("k2", "psb-hukou", priority="priority"), now)
    assert outcome.result["ticket"]["priority"] == "priority"


def test_a_kiosk_rate_limit(engine: Engine) -> None:
    start = at("2026-11-26T09:00")
    issue(engine, start, kiosk="k3")
    issue(engine, start + timedelta(seconds=30), kiosk="k3")
    assert refused(engine, IssueTicket("k3", "psb-hukou"), start + timedelta(seconds=59)) == (
        "rate_limited"
    )
    # Other kiosks have no limit (off unless configured).
    for _ in range(10):
        issue(engine, start + timedelta(seconds=59), kiosk="k1")
    # A minute after its first ticket, the kiosk may issue again.
    assert issue(engine, start + timedelta(seconds=60), kiosk="k3")
    assert refused(engine, IssueTicket("k3", "psb-hukou"), start + timedelta(seconds=61)) == (
        "rate_limited"
    )


def test_the_rate_limit_survives_a_restore_and_a_replay(engine: Engine) -> None:
    start = at("2026-11-26T09:00")
    events = [*engine.handle(IssueTicket("k3", "psb-hukou"), start).events]
    events += engine.handle(IssueTicket("k3", "psb-hukou"), start).events
    restored = Engine.restore(CONFIG, engine.snapshot())
    assert refused(restored, IssueTicket("k3", "psb-hukou"), start) == "rate_limited"
    replayed = Engine(CONFIG)
    for event in events:
        replayed.apply(event)
    assert refused(replayed, IssueTicket("k3", "psb-hukou"), start) == "rate_limited"


def test_the_reprint_limit() -> None:
    engine = Engine(rules_hall(reprint_limit=1))
    now = at("2026-11-26T09:00")
    ticket = engine.handle(IssueTicket("k1", "psb-hukou"), now).result["ticket"]["id"]
    engine.handle(Reprint("k1", ticket), now)
    assert refused(engine, Reprint("k2", ticket), now) == "reprint_limit"


def test_the_order_of_the_checks(engine: Engine) -> None:
    # A kiosk that may not do it at all hears that first, even outside hours.
    night = at("2026-11-26T20:00")
    assert refused(engine, IssueTicket("k1", "psb-hukou", priority="priority"), night) == (
        "forbidden"
    )
    assert refused(engine, IssueTicket("k1", "no-such"), night) == "unknown_service"
    assert refused(engine, IssueTicket("nobody", "psb-hukou"), night) == "unknown_device"
    assert refused(engine, IssueTicket("k1", "tax-audit"), night) == "outside_hours"
    assert refused(engine, IssueTicket("k1", "tax-audit"), at("2026-11-26T09:00")) == (
        "appointment_required"
    )
    assert queue(engine, "tax-audit", at("2026-11-26T09:00"))["reason"] == "appointment_only"


def test_a_refusal_writes_no_event_and_a_refused_rollover_is_undone(engine: Engine) -> None:
    issue(engine, at("2026-11-26T09:00"))
    before = engine.snapshot()
    assert refused(engine, IssueTicket("k1", "psb-hukou"), at("2026-11-27T08:00")) == (
        "outside_hours"
    )
    assert engine.snapshot() == before


def test_a_hall_without_hours_uses_the_default_hall_hours() -> None:
    data = rules_hall_data()
    del data["calendar"]
    engine = Engine(parse_config(data))
    assert refused(engine, IssueTicket("k1", "psb-hukou"), at("2026-11-28T10:00")) == (
        "outside_hours"
    )
    assert issue(engine, at("2026-11-27T10:00")) == "A001"
    assert isinstance(
        engine.handle(IssueTicket("k1", "psb-hukou"), at("2026-11-27T16:59")).events[0],
        TicketIssued,
    )
