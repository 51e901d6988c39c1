"""The window lifecycle exactly as docs/protocol.md "Window" says, with every refusal."""

from __future__ import annotations

import pytest

from hall.engine.engine import Engine
from hall.engine.model import (
    CallNext,
    CallNumber,
    ClerkLoggedOut,
    Finish,
    ForceLogout,
    Hold,
    IssueTicket,
    Login,
    Logout,
    NoShow,
    Pause,
    Recall,
    Resume,
    Start,
    TicketCalled,
    TicketCalledBack,
    TicketDone,
    TicketRecalled,
    TicketRequeued,
    TransferToService,
    TransferToWindow,
    Unhold,
)
from tests.fixtures.halls import MORNING, later, small_hall
from tests.hall.engine.engine_checks import refused


def issue(engine: Engine, service: str = "psb-id-card", minutes: float = 0, **kw: object) -> str:
    outcome = engine.handle(IssueTicket("k2", service, **kw), later(minutes))  # type: ignore[arg-type]
    ticket_id: str = outcome.result["ticket"]["id"]
    return ticket_id


@pytest.fixture
def engine() -> Engine:
    engine = Engine(small_hall(recall_cap=2))
    engine.handle(Login("w02", "c0201"), MORNING)
    return engine


def status(engine: Engine, ticket_id: str) -> str:
    return engine.state.tickets[ticket_id].status


# -- login / logout --------------------------------------------------------------------------


def test_login_checks_the_roster_and_the_pin(engine: Engine) -> None:
    assert refused(engine, Login("w03", "c0101")) == "unknown_clerk"  # not on w03's roster
    assert refused(engine, Login("w01", "c9999")) == "unknown_clerk"
    assert refused(engine, Login("w01", "c0101")) == "wrong_pin"  # c0101 has a PIN
    assert refused(engine, Login("w01", "c0101", pin="0000")) == "wrong_pin"
    assert refused(engine, Login("w99", "c0101")) == "unknown_device"
    result = engine.handle(Login("w01", "c0101", pin="1234"), MORNING).result
    assert result["window"]["status"] == "open"
    assert result["window"]["clerk"] == {"id": "c0101", "name": "张伟"}
    assert result["window"]["since"] == "2026-11-26T09:00:00+08:00"


def test_a_clerk_logged_in_elsewhere_and_a_taken_window(engine: Engine) -> None:
    assert refused(engine, Login("w01", "c0201")) == "already_logged_in"  # c0201 is at w02
    assert refused(engine, Login("w02", "c0101", pin="1234")) == "already_logged_in"  # w02 taken


def test_logging_in_again_at_the_same_window_changes_nothing(engine: Engine) -> None:
    outcome = engine.handle(Login("w02", "c0201"), later(1))
    assert outcome.events == () and outcome.result["window"]["clerk"]["id"] == "c0201"


def test_logout_closes_the_current_ticket_and_requeues_held_ones(engine: Engine) -> None:
    held = issue(engine, minutes=0)
    current = issue(engine, minutes=1)
    newer = issue(engine, minutes=2)
    engine.handle(CallNext("w02"), later(5))
    engine.handle(Hold("w02"), later(6))
    engine.handle(CallNext("w02"), later(7))
    assert engine.state.windows["w02"].current == current
    outcome = engine.handle(Logout("w02"), later(8))
    kinds = [type(e) for e in outcome.events]
    assert kinds == [TicketDone, TicketRequeued, ClerkLoggedOut]
    assert status(engine, current) == "done" and status(engine, held) == "waiting"
    assert outcome.result["window"]["status"] == "closed"
    assert outcome.result["ticket"]["id"] == current
    # Back in its service's queue with its original issue time: called before the newer ticket.
    assert engine.state.tickets[held].issued_at == "2026-11-26T09:00:00+08:00"
    engine.handle(Login("w01", "c0101", pin="1234"), later(9))
    assert engine.handle(CallNext("w01"), later(9)).result["ticket"]["id"] == held
    assert status(engine, newer) == "waiting"


def test_logout_and_force_logout_refusals(engine: Engine) -> None:
    assert refused(engine, Logout("w01")) == "not_logged_in"
    assert refused(engine, ForceLogout("op1", "w01")) == "not_logged_in"
    assert refused(engine, ForceLogout("op1", "w77")) == "unknown_window"
    assert refused(engine, ForceLogout("op9", "w02")) == "unknown_device"
    outcome = engine.handle(ForceLogout("op1", "w02"), later(1))
    assert outcome.events[-1] == ClerkLoggedOut(later(1).isoformat(), "w02", "c0201", "op1")


# -- calling ---------------------------------------------------------------------------------


def test_window_ops_need_a_clerk(engine: Engine) -> None:
    issue(engine)
    for command in (
        CallNext("w01"), CallNumber("w01", "A001"), Recall("w01"), Start("w01"), Finish("w01"),
        NoShow("w01"), TransferToService("w01", "psb-hukou"), TransferToWindow("w01", "w02"),
        Hold("w01"), Unhold("w01", "x"), Pause("w01"), Resume("w01"),
    ):  # fmt: skip
        assert refused(engine, command) == "not_logged_in", command


def test_call_next_on_an_empty_queue(engine: Engine) -> None:
    assert refused(engine, CallNext("w02")) == "queue_empty"
    issue(engine, "tax-invoice")  # w02 does not serve it
    assert refused(engine, CallNext("w02")) == "queue_empty"


def test_call_next_closes_the_current_ticket_as_done(engine: Engine) -> None:
    first, second = issue(engine), issue(engine)
    engine.handle(CallNext("w02"), later(1))
    outcome = engine.handle(CallNext("w02"), later(5))
    done, called = outcome.events
    assert isinstance(done, TicketDone) and done.ticket == first and done.seconds == 240
    assert isinstance(called, TicketCalled) and called.ticket == second and called.seq == 2
    assert status(engine, first) == "done"
    assert outcome.result["window"]["ticket"]["id"] == second
    assert outcome.result["ticket"]["status"] == "called"


def test_call_next_on_a_paused_window(engine: Engine) -> None:
    issue(engine)
    engine.handle(Pause("w02", "lunch"), MORNING)
    assert refused(engine, CallNext("w02")) == "window_paused"
    assert refused(engine, CallNumber("w02", "A001")) == "window_paused"


def test_call_by_number(engine: Engine) -> None:
    issue(engine)
    second = issue(engine)
    issue(engine, "tax-invoice")
    assert refused(engine, CallNumber("w02", "A009")) == "unknown_ticket"
    assert refused(engine, CallNumber("w02", "B001")) == "invalid_transition"  # not served here
    outcome = engine.handle(CallNumber("w02", " a002 "), later(1))
    assert outcome.result["ticket"]["id"] == second
    assert refused(engine, CallNumber("w02", "A002")) == "invalid_transition"  # not waiting


def test_call_by_number_of_a_ticket_sent_to_another_window(engine: Engine) -> None:
    ticket = issue(engine)
    engine.handle(CallNext("w02"), later(1))
    engine.handle(TransferToWindow("w02", "w01"), later(2))
    assert refused(engine, CallNumber("w02", "A001")) == "invalid_transition"
    engine.handle(Login("w01", "c0101", pin="1234"), later(3))
    assert engine.handle(CallNumber("w01", "A001"), later(3)).result["ticket"]["id"] == ticket


def test_two_windows_never_get_the_same_ticket(engine: Engine) -> None:
    engine.handle(Login("w01", "c0101", pin="1234"), MORNING)
    tickets = {issue(engine) for _ in range(3)}
    called = {
        engine.handle(CallNext(w), later(1)).result["ticket"]["id"] for w in ("w01", "w02", "w01")
    }
    assert called == tickets
    assert refused(engine, CallNext("w02")) == "queue_empty"


# -- recall, start, finish, no-show ----------------------------------------------------------


def test_recall_counts_and_stops_at_the_cap(engine: Engine) -> None:
    ticket = issue(engine)
    assert refused(engine, Recall("w02")) == "no_current_ticket"
    engine.handle(CallNext("w02"), later(1))
    first = engine.handle(Recall("w02"), later(2))
    (event,) = first.events
    assert isinstance(event, TicketRecalled) and event.recall == 1 and event.seq == 2
    engine.handle(Recall("w02"), later(3))
    assert refused(engine, Recall("w02")) == "recall_limit"  # recall_cap=2
    assert engine.state.tickets[ticket].recalls == 2


def test_recall_of_a_visitor_being_served(engine: Engine) -> None:
    issue(engine)
    engine.handle(CallNext("w02"), later(1))
    engine.handle(Start("w02"), later(2))
    assert refused(engine, Recall("w02")) == "invalid_transition"


def test_start_and_finish(engine: Engine) -> None:
    ticket = issue(engine)
    assert refused(engine, Start("w02")) == "no_current_ticket"
    assert refused(engine, Finish("w02")) == "no_current_ticket"
    engine.handle(CallNext("w02"), later(1))
    assert engine.handle(Start("w02"), later(2)).result["ticket"]["status"] == "serving"
    assert refused(engine, Start("w02")) == "invalid_transition"
    outcome = engine.handle(Finish("w02"), later(9))
    (done,) = outcome.events
    assert isinstance(done, TicketDone) and done.seconds == 7 * 60  # from the start
    assert done.until == "2026-11-26T09:11:00+08:00"  # rating_seconds=120
    assert status(engine, ticket) == "done" and outcome.result["window"]["ticket"] is None


def test_finish_accepts_a_called_ticket(engine: Engine) -> None:
    ticket = issue(engine)
    engine.handle(CallNext("w02"), later(1))
    engine.handle(Finish("w02"), later(4))
    assert status(engine, ticket) == "done"
    assert engine.state.services["psb-id-card"].samples == [180]  # from the call


def test_no_show(engine: Engine) -> None:
    ticket = issue(engine)
    assert refused(engine, NoShow("w02")) == "no_current_ticket"
    engine.handle(CallNext("w02"), later(1))
    engine.handle(NoShow("w02"), later(2))
    assert status(engine, ticket) == "no_show"
    assert engine.state.windows["w02"].current is None
    issue(engine)
    engine.handle(CallNext("w02"), later(3))
    engine.handle(Start("w02"), later(3))
    assert refused(engine, NoShow("w02")) == "invalid_transition"


# -- transfer --------------------------------------------------------------------------------


def test_transfer_to_a_service(engine: Engine) -> None:
    ticket = issue(engine)
    assert refused(engine, TransferToService("w02", "tax-invoice")) == "no_current_ticket"
    engine.handle(CallNext("w02"), later(1))
    engine.handle(Recall("w02"), later(2))
    assert refused(engine, TransferToService("w02", "nope")) == "unknown_service"
    outcome = engine.handle(TransferToService("w02", "tax-invoice"), later(3))
    moved = outcome.result["ticket"]
    assert moved["id"] == ticket and moved["number"] == "A001"
    assert moved["service"] == "tax-invoice" and moved["department"] == "tax"
    assert moved["status"] == "waiting" and moved["recalls"] == 0 and moved["window"] is None
    assert moved["issued_at"] == "2026-11-26T09:00:00+08:00"
    assert outcome.result["window"]["ticket"] is None
    # It waits under its new service, ahead of tickets issued after it.
    newer = issue(engine, "tax-invoice", minutes=2)
    engine.handle(Login("w03", "c0301"), later(4))
    assert engine.handle(CallNext("w03"), later(4)).result["ticket"]["id"] == ticket
    assert status(engine, newer) == "waiting"


def test_transfer_to_a_window_is_called_there_first(engine: Engine) -> None:
    engine.handle(Login("w01", "c0101", pin="1234"), MORNING)
    ticket = issue(engine, "tax-register")  # w01 does not serve it: the window's own queue does
    older = issue(engine)
    assert refused(engine, TransferToWindow("w02", "w01")) == "no_current_ticket"
    engine.handle(Login("w03", "c0301"), MORNING)
    engine.handle(CallNext("w03"), later(1))
    assert refused(engine, TransferToWindow("w03", "w99")) == "unknown_window"
    assert refused(engine, TransferToWindow("w03", "w03")) == "invalid_transition"
    moved = engine.handle(TransferToWindow("w03", "w01"), later(2)).result["ticket"]
    assert moved["window"] == "w01" and moved["status"] == "waiting"
    assert engine.handle(CallNext("w01"), later(3)).result["ticket"]["id"] == ticket
    assert engine.handle(CallNext("w01"), later(4)).result["ticket"]["id"] == older


# -- hold / unhold ---------------------------------------------------------------------------


def test_hold_and_call_back(engine: Engine) -> None:
    first, second = issue(engine), issue(engine)
    assert refused(engine, Hold("w02")) == "no_current_ticket"
    engine.handle(CallNext("w02"), later(1))
    engine.handle(Recall("w02"), later(1))
    engine.handle(Recall("w02"), later(1))
    held = engine.handle(Hold("w02"), later(2)).result
    assert held["ticket"]["status"] == "held"
    assert [t["id"] for t in held["window"]["held"]] == [first]
    engine.handle(CallNext("w02"), later(3))
    outcome = engine.handle(Unhold("w02", first), later(5))
    done, back = outcome.events
    assert isinstance(done, TicketDone) and done.ticket == second  # the current one is closed first
    assert isinstance(back, TicketCalledBack) and back.recall == 3 and back.seq == 5
    assert outcome.result["window"]["held"] == []
    # Call-backs do not count toward the recall cap (2, used up before the hold).
    assert refused(engine, Recall("w02")) == "recall_limit"
    assert engine.state.tickets[first].recalls == 3


def test_unhold_refusals(engine: Engine) -> None:
    ticket = issue(engine)
    assert refused(engine, Unhold("w02", "nope")) == "unknown_ticket"
    assert refused(engine, Unhold("w02", ticket)) == "invalid_transition"  # waiting, not held
    engine.handle(CallNext("w02"), later(1))
    engine.handle(Hold("w02"), later(1))
    engine.handle(Login("w01", "c0101", pin="1234"), later(1))
    assert refused(engine, Unhold("w01", ticket)) == "invalid_transition"  # held at w02
    engine.handle(Pause("w02"), later(2))
    assert refused(engine, Unhold("w02", ticket)) == "window_paused"


# -- pause / resume --------------------------------------------------------------------------


def test_pause_and_resume(engine: Engine) -> None:
    issue(engine)
    engine.handle(CallNext("w02"), later(1))
    assert refused(engine, Pause("w02", "lunch")) == "invalid_transition"  # finish it first
    engine.handle(Finish("w02"), later(2))
    assert refused(engine, Resume("w02")) == "invalid_transition"
    paused = engine.handle(Pause("w02", "lunch"), later(3)).result["window"]
    assert paused["status"] == "paused" and paused["reason"] == "lunch"
    assert paused["since"] == later(3).isoformat()
    assert refused(engine, Pause("w02")) == "invalid_transition"
    resumed = engine.handle(Resume("w02"), later(4)).result["window"]
    assert resumed["status"] == "open" and resumed["reason"] is None


def test_a_paused_window_can_log_out(engine: Engine) -> None:
    engine.handle(Pause("w02"), later(1))
    assert engine.handle(Logout("w02"), later(2)).result["window"]["status"] == "closed"
