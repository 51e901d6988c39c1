"""Every error code the engine can give, each from its smallest scenario, and never a state change.

The rest of the contract's codes come from elsewhere: `unknown_op` and the wire's `invalid_request`
from hall/engine/requests.py, `storage_error` and `rate_limited` from the store and service, and
`outside_hours`, `booking_used`, `booking_wrong_day` from issue #4's rules (hall/engine/rules.py hook).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from contract.protocol import ERROR_CODES
from hall.engine.engine import Engine
from hall.engine.errors import HallError
from hall.engine.model import (
    AckAlarm,
    CallNext,
    CloseCase,
    Command,
    Finish,
    ForceLogout,
    Hold,
    IssueTicket,
    Login,
    Pause,
    Rate,
    Recall,
    Reprint,
    SetService,
    Start,
    TransferToWindow,
    Unhold,
)
from tests.fixtures.halls import MORNING, later, small_hall

NOT_FROM_THE_ENGINE = {
    "unknown_op",
    "storage_error",
    "rate_limited",
    "outside_hours",
    "booking_used",
    "booking_wrong_day",
}

Setup = Callable[[Engine], object]


def nothing(engine: Engine) -> None:
    return None


def logged_in(engine: Engine) -> None:
    engine.handle(Login("w02", "c0201"), MORNING)


def waiting(engine: Engine) -> None:
    logged_in(engine)
    engine.handle(IssueTicket("k1", "psb-id-card"), MORNING)


def called(engine: Engine) -> None:
    waiting(engine)
    engine.handle(CallNext("w02"), MORNING)


def done(engine: Engine) -> None:
    called(engine)
    engine.handle(Finish("w02"), MORNING)


def capped(engine: Engine) -> None:
    engine.handle(SetService("op1", "psb-id-card", cap=0), MORNING)


def closed(engine: Engine) -> None:
    engine.handle(SetService("op1", "psb-id-card", open=False), MORNING)


def paused(engine: Engine) -> None:
    waiting(engine)
    engine.handle(Pause("w02"), MORNING)


def recalled_to_cap(engine: Engine) -> None:
    called(engine)
    for _ in range(3):  # recall_cap defaults to 3
        engine.handle(Recall("w02"), MORNING)


def reprinted_to_limit(engine: Engine) -> None:
    waiting(engine)
    for _ in range(2):  # reprint_limit defaults to 2
        engine.handle(Reprint("k1", "20261126-A001"), MORNING)


def rated(engine: Engine) -> None:
    done(engine)
    engine.handle(Rate("e02", "20261126-A001", 5), MORNING)


def case_closed(engine: Engine) -> None:
    called(engine)
    engine.handle(Finish("w02", "accepted"), MORNING)
    engine.handle(CloseCase("20261126-A001", operator="op1"), MORNING)


TICKET = "20261126-A001"
CASES: list[tuple[str, Setup, Command]] = [
    ("invalid_request", nothing, IssueTicket("k1", "psb-id-card", lang="fr")),  # type: ignore[arg-type]
    ("unknown_device", nothing, IssueTicket("k7", "psb-id-card")),
    ("forbidden", nothing, IssueTicket("k1", "psb-id-card", priority="priority")),
    ("unknown_service", nothing, IssueTicket("k1", "psb-nothing")),
    ("unknown_ticket", nothing, Reprint("k1", TICKET)),
    ("unknown_window", called, TransferToWindow("w02", "w42")),
    ("unknown_clerk", nothing, Login("w02", "c0301")),
    ("service_closed", closed, IssueTicket("k1", "psb-id-card")),
    ("quota_reached", capped, IssueTicket("k1", "psb-id-card")),
    ("appointment_required", nothing, IssueTicket("k1", "tax-audit")),
    ("unknown_booking", nothing, IssueTicket("k1", "tax-audit", appointment="B7F3K2")),
    ("reprint_limit", reprinted_to_limit, Reprint("k1", TICKET)),
    ("queue_empty", logged_in, CallNext("w02")),
    ("wrong_pin", nothing, Login("w01", "c0101", pin="4321")),
    ("not_logged_in", waiting, CallNext("w01")),
    ("already_logged_in", logged_in, Login("w01", "c0201")),
    ("window_paused", paused, CallNext("w02")),
    ("no_current_ticket", logged_in, Hold("w02")),
    ("invalid_transition", called, Unhold("w02", TICKET)),
    ("recall_limit", recalled_to_cap, Recall("w02")),
    ("not_rateable", called, Rate("e02", TICKET, 4)),
    ("already_rated", rated, Rate("e02", TICKET, 4)),
    ("expired", nothing, IssueTicket("k1", "psb-id-card", deadline=later(0, 30))),
    ("unknown_alarm", nothing, AckAlarm("op1", "kiosk_help-1")),
    ("unknown_case", nothing, CloseCase(TICKET, operator="op1")),
    ("case_closed", case_closed, CloseCase(TICKET, operator="op1")),
]


@pytest.mark.parametrize(("code", "setup", "command"), CASES, ids=[c[0] for c in CASES])
def test_error_code(code: str, setup: Setup, command: Command) -> None:
    engine = Engine(small_hall())
    setup(engine)
    before = engine.snapshot()
    with pytest.raises(HallError) as caught:
        engine.handle(command, later(1))
    assert caught.value.code == code
    assert caught.value.message_zh and caught.value.message_en
    assert engine.snapshot() == before


def test_an_issue_before_its_deadline_is_served() -> None:
    engine = Engine(small_hall())
    deadline = later(1)
    engine.handle(IssueTicket("k1", "psb-id-card", deadline=deadline), deadline)
    assert len(engine.state.tickets) == 1


def test_the_table_covers_every_code_the_engine_gives() -> None:
    assert {c[0] for c in CASES} == ERROR_CODES - NOT_FROM_THE_ENGINE


def test_start_and_force_logout_refusals_also_leave_nothing_behind() -> None:
    engine = Engine(small_hall())
    done(engine)
    for command in (Start("w02"), ForceLogout("op1", "w03")):
        before = engine.snapshot()
        with pytest.raises(HallError):
            engine.handle(command, later(1))
        assert engine.snapshot() == before
