"""The call policy: window's own queue, tiers in order, appointments due, priority, then the oldest."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from hall.config.schema import HallConfig, Service
from hall.engine.engine import Engine
from hall.engine.model import CallNext, HallState, IssueTicket, Login, Ticket, TransferToWindow
from hall.engine.policy import QueueIndex, ahead_of, pick_next
from hall.engine.rules import Appointment, Rules
from tests.fixtures.halls import MORNING, later, small_hall


class SlotRules(Rules):
    """Bookings for the tests: the code says the slot, as minutes after MORNING ("m30", "m-10")."""

    def appointment(
        self, state: HallState, code: str, service: Service, now: datetime
    ) -> Appointment:
        return Appointment(code, MORNING + timedelta(minutes=int(code[1:])))


def make_engine(config: HallConfig | None = None) -> Engine:
    config = config or small_hall()
    engine = Engine(config, rules=SlotRules(config))
    for window, clerk, pin in (
        ("w01", "c0101", "1234"),
        ("w05", "c0501", None),
        ("w03", "c0301", None),
    ):
        engine.handle(Login(window, clerk, pin), MORNING)
    return engine


def issue(engine: Engine, service: str, minutes: float = 0, **kw: object) -> str:
    outcome = engine.handle(IssueTicket("k2", service, **kw), later(minutes))  # type: ignore[arg-type]
    number: str = outcome.result["ticket"]["number"]
    return number


def call(engine: Engine, window: str, minutes: float = 30) -> str:
    number: str = engine.handle(CallNext(window), later(minutes)).result["ticket"]["number"]
    return number


def test_the_oldest_first_across_the_services_of_a_tier() -> None:
    engine = make_engine()
    a = issue(engine, "psb-hukou", 0)
    b = issue(engine, "psb-id-card", 1)
    c = issue(engine, "psb-hukou", 2)
    assert [call(engine, "w01") for _ in range(3)] == [a, b, c]


def test_the_first_tier_with_waiting_tickets_wins() -> None:
    engine = make_engine()
    passport = issue(engine, "psb-passport", 0)  # w01's second tier, issued first
    card = issue(engine, "psb-id-card", 5)  # w01's first tier
    assert call(engine, "w01") == card
    assert call(engine, "w01") == passport


def test_priority_before_older_walk_ins_within_a_tier() -> None:
    engine = make_engine()
    old = issue(engine, "psb-id-card", 0)
    green = issue(engine, "psb-hukou", 5, priority="priority")
    green2 = issue(engine, "psb-id-card", 6, priority="priority")
    assert [call(engine, "w01") for _ in range(3)] == [green, green2, old]


def test_priority_does_not_jump_tiers() -> None:
    engine = make_engine()
    first_tier = issue(engine, "psb-id-card", 5)
    issue(engine, "psb-passport", 0, priority="priority")
    assert call(engine, "w01") == first_tier


def test_a_multi_department_window_serves_its_tiers_in_order() -> None:
    engine = make_engine()
    tax = issue(engine, "tax-invoice", 0)
    passport = issue(engine, "psb-passport", 1)
    licence = issue(engine, "amr-license", 2)
    assert tax.startswith("B") and passport.startswith("A") and licence.startswith("AB")
    assert [call(engine, "w05") for _ in range(3)] == [licence, tax, passport]


def test_tickets_transferred_to_the_window_come_first() -> None:
    engine = make_engine()
    older = issue(engine, "amr-license", 0)
    issue(engine, "tax-register", 1)
    call(engine, "w03", 2)
    engine.handle(TransferToWindow("w03", "w05"), later(3))
    sent = engine.state.tickets[next(iter(engine.state.index.windows["w05"]))[1]].number
    assert call(engine, "w05") == sent
    assert call(engine, "w05") == older


def test_due_appointments_before_priority_and_walk_ins() -> None:
    engine = make_engine()
    walk_in = issue(engine, "tax-invoice", 0)
    green = issue(engine, "tax-register", 1, priority="priority")
    booked = issue(engine, "tax-audit", 2, appointment="m10")  # slot 09:10
    # Before the slot the booking waits among the walk-ins; tax-audit is w03's second tier.
    assert call(engine, "w03", 5) == green
    assert call(engine, "w03", 6) == walk_in
    assert call(engine, "w03", 7) == booked  # early, but nothing else is waiting


def test_a_due_appointment_jumps_the_tier_it_is_in() -> None:
    config = small_hall()
    engine = make_engine(config)
    walk_in = issue(engine, "tax-invoice", 0)
    green = issue(engine, "tax-invoice", 1, priority="priority")
    engine.handle(IssueTicket("k1", "tax-invoice"), later(2))
    # A booking for a first-tier service of w03 (the rules hook allows any service for the test).
    late_slot = issue(engine, "tax-register", 3, appointment="m20")
    early_slot = issue(engine, "tax-register", 4, appointment="m15")
    assert call(engine, "w03", 30) == early_slot  # both due: earliest slot first
    assert call(engine, "w03", 30) == late_slot
    assert call(engine, "w03", 30) == green
    assert call(engine, "w03", 30) == walk_in


# -- the index on its own ----------------------------------------------------------------------


def ticket(order: int, service: str = "s", **kw: object) -> Ticket:
    return Ticket(
        id=f"t{order}", number=f"A{order:03d}", service=service, department="d",
        priority=str(kw.pop("priority", "normal")), issued_at="", issued_ts=order, order=order,
        kiosk="k", lang="zh", **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_pick_next_and_ahead_on_a_bare_index() -> None:
    index = QueueIndex()
    tickets = [
        ticket(1),
        ticket(2, priority="priority"),
        ticket(3, slot_ts=100),
        ticket(4, slot_ts=50),
        ticket(5),
        ticket(6, window="w9"),
    ]
    for t in tickets:
        index.add(t)
    assert index.waiting_by_service == {"s": 6}
    assert pick_next(index, "w9", [["s"]], 0) == "t6"
    # At time 0 no slot has come: priority, then the oldest of walk-ins and early bookings.
    assert pick_next(index, "w1", [["s"]], 0) == "t2"
    assert [ahead_of(index, t, 0) for t in tickets[:5]] == [1, 0, 2, 3, 4]
    # At 60 the slot of t4 has come; at 100 both, earliest slot first.
    assert pick_next(index, "w1", [["s"]], 60) == "t4"
    assert pick_next(index, "w1", [["s"]], 100) == "t4"
    assert [ahead_of(index, t, 100) for t in tickets[:5]] == [3, 2, 1, 0, 4]
    index.remove(tickets[3])
    index.remove(tickets[1])
    assert pick_next(index, "w1", [["s"]], 100) == "t3"
    assert pick_next(index, "w1", [["other"], ["s"]], 0) == "t1"
    assert pick_next(index, "w1", [["other"]], 0) is None
    with pytest.raises(KeyError):
        index.remove(tickets[3])


def test_heads_give_the_oldest_of_every_queue() -> None:
    index = QueueIndex()
    for t in (
        ticket(3),
        ticket(1, slot_ts=500),
        ticket(2, priority="priority"),
        ticket(7, window="w"),
    ):
        index.add(t)
    assert sorted(index.heads()) == [(1, "t1"), (2, "t2"), (3, "t3"), (7, "t7")]
