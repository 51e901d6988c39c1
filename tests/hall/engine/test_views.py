"""The contract's payloads (docs/protocol.md): exact field names and shapes, and the estimates."""

from __future__ import annotations

import pytest

from contract.protocol import dumps
from hall.engine.engine import Engine
from hall.engine.model import (
    CallNext,
    Finish,
    Hold,
    IssueTicket,
    Login,
    Pause,
    Recall,
    SetNotice,
    SetService,
    Start,
    TicketCalled,
    TicketRecalled,
)
from tests.fixtures.halls import MORNING, later, small_hall

TICKET_KEYS = [
    "id", "number", "service", "department", "priority", "issued_at", "status", "ahead",
    "est_wait_min", "window", "recalls",
]  # fmt: skip
WINDOW_STATE_KEYS = ["v", "window", "status", "clerk", "ticket", "held", "since", "reason"]


@pytest.fixture
def engine() -> Engine:
    engine = Engine(small_hall())
    engine.handle(Login("w02", "c0201"), MORNING)
    return engine


def issue(engine: Engine, service: str = "psb-id-card", minutes: float = 0) -> str:
    ticket_id: str = engine.handle(IssueTicket("k1", service), later(minutes)).result["ticket"][
        "id"
    ]
    return ticket_id


def test_ticket_object(engine: Engine) -> None:
    issue(engine)
    ticket = engine.ticket_view(issue(engine, minutes=1), later(2))
    assert list(ticket) == TICKET_KEYS
    assert ticket["ahead"] == 1 and ticket["est_wait_min"] == 6  # one open window, 6 min each
    dumps(ticket)


def test_window_state(engine: Engine) -> None:
    first = issue(engine)
    issue(engine)
    engine.handle(CallNext("w02"), later(1))
    engine.handle(Hold("w02"), later(2))
    engine.handle(CallNext("w02"), later(3))
    view = engine.window_view("w02")
    assert list(view) == WINDOW_STATE_KEYS and view["v"] == 1
    assert view["window"] == {"id": "w02", "name": "2号窗口", "area": "1F"}
    assert view["status"] == "open" and view["clerk"] == {"id": "c0201", "name": "王芳"}
    assert view["ticket"]["number"] == "A002" and view["ticket"]["status"] == "called"
    assert [t["id"] for t in view["held"]] == [first] and view["held"][0]["status"] == "held"
    closed = engine.window_view("w04")
    assert closed["status"] == "closed" and closed["clerk"] is None and closed["since"] is None
    engine.handle(Finish("w02"), later(4))
    engine.handle(Pause("w02", "lunch"), later(5))
    assert engine.window_view("w02")["reason"] == "lunch"


def test_call_message(engine: Engine) -> None:
    ticket = issue(engine)
    (called,) = engine.handle(CallNext("w02"), later(1)).events
    assert isinstance(called, TicketCalled)
    message = engine.call_message(called)
    assert list(message) == ["v", "seq", "at", "ticket", "window", "recall"]
    assert message["seq"] == 1 and message["recall"] == 0 and message["at"] == later(1).isoformat()
    assert message["window"] == {"id": "w02", "name": "2号窗口", "area": "1F"}
    assert list(message["ticket"]) == TICKET_KEYS
    assert message["ticket"]["id"] == ticket and message["ticket"]["status"] == "called"
    (recalled,) = engine.handle(Recall("w02"), later(2)).events
    assert isinstance(recalled, TicketRecalled)
    again = engine.call_message(recalled)
    assert again["seq"] == 2 and again["recall"] == 1 and again["ticket"]["recalls"] == 1
    # Built from the event alone: later changes to the ticket do not rewrite what was called.
    engine.handle(Start("w02"), later(3))
    assert engine.call_message(called) == message


def test_board(engine: Engine) -> None:
    empty = engine.board(MORNING)
    assert list(empty) == ["v", "seq", "at", "recent", "windows", "waiting", "notice"]
    assert empty["seq"] == 0 and empty["recent"] == []
    assert [w["window"]["id"] for w in empty["windows"]] == ["w01", "w02", "w03", "w04", "w05"]
    assert all("v" not in w for w in empty["windows"])
    assert empty["waiting"]["psb"] == {"count": 0, "longest_wait_min": 0}
    for i in range(25):
        issue(engine, minutes=i)
    issue(engine, "tax-invoice", minutes=20)
    for i in range(22):
        engine.handle(CallNext("w02"), later(30 + i))
    board = engine.board(later(60))
    assert board["seq"] == 22
    assert [m["seq"] for m in board["recent"]] == list(range(22, 2, -1))  # newest first, 20
    # Still waiting in psb: the tickets issued at minutes 22..24; the oldest has waited 38 minutes.
    assert board["waiting"]["psb"] == {"count": 3, "longest_wait_min": 38}
    assert board["waiting"]["tax"] == {"count": 1, "longest_wait_min": 40}
    assert board["waiting"]["amr"] == {"count": 0, "longest_wait_min": 0}
    engine.handle(SetNotice("op1", "系统维护"), later(61))
    assert engine.board(later(61))["notice"] == "系统维护"
    dumps(board)


def test_queues(engine: Engine) -> None:
    for _ in range(4):
        issue(engine)
    engine.handle(SetService("op1", "psb-hukou", open=False), MORNING)
    queues = engine.queues(later(1))
    assert list(queues) == ["v", "at", "services"] and queues["at"] == later(1).isoformat()
    entry = queues["services"]["psb-id-card"]
    assert list(entry) == ["waiting", "issued_today", "est_wait_min", "can_issue", "reason"]
    # A ticket issued now has 4 ahead, 6 minutes each, at the one open window serving it.
    assert entry == {
        "waiting": 4, "issued_today": 4, "est_wait_min": 24, "can_issue": True, "reason": None,
    }  # fmt: skip
    assert queues["services"]["psb-hukou"]["reason"] == "closed"
    assert queues["services"]["tax-audit"]["reason"] == "appointment_only"
    assert queues["services"]["tax-audit"]["can_issue"] is False
    engine.handle(SetService("op1", "psb-id-card", cap=4), MORNING)
    assert engine.queues(later(1))["services"]["psb-id-card"]["reason"] == "quota_reached"


def test_estimates_follow_recent_service_times() -> None:
    engine = Engine(small_hall(estimate_samples=2))
    engine.handle(Login("w02", "c0201"), MORNING)
    for minutes in (20, 2, 4):  # served for 20, then 2, then 4 minutes
        issue(engine)
        engine.handle(CallNext("w02"), MORNING)
        engine.handle(Finish("w02"), later(minutes))
    assert engine.state.services["psb-id-card"].samples == [120, 240]  # the last two
    for _ in range(3):
        issue(engine, minutes=30)
    last = engine.ticket_view("20261126-A006", later(30))
    assert last["ahead"] == 2 and last["est_wait_min"] == 6  # 2 ahead x 3 min, one window
    engine.handle(Login("w01", "c0101", pin="1234"), later(30))
    assert engine.ticket_view("20261126-A006", later(30))["est_wait_min"] == 3  # two windows


def test_catalog(engine: Engine) -> None:
    engine.handle(SetService("op1", "psb-hukou", cap=200), MORNING)
    catalog = engine.catalog()
    assert list(catalog) == [
        "v", "site", "business_day", "departments", "services", "windows", "devices", "notice",
    ]  # fmt: skip
    assert catalog["site"] == {"id": "testhall", "name": "测试大厅", "tz": "Asia/Shanghai"}
    assert catalog["business_day"] == "2026-11-26"
    assert catalog["departments"][2] == {
        "code": "amr", "name_zh": "市场监管局", "name_en": "Market Regulation", "prefix": "AB",
    }  # fmt: skip
    services = {s["code"]: s for s in catalog["services"]}
    assert list(services["psb-hukou"]) == [
        "code", "department", "name_zh", "name_en", "open", "needs_appointment", "avg_minutes",
        "promised_days", "hours", "cap",
    ]  # fmt: skip
    assert services["psb-hukou"]["cap"] == 200 and services["tax-audit"]["needs_appointment"]
    w05 = catalog["windows"][4]
    assert w05 == {
        "id": "w05", "name": "5号窗口", "area": "2F", "no": 5, "evaluator": "e05",
        "clerks": ["c0501", "c0401"], "tiers": [["amr-license"], ["tax-invoice", "psb-passport"]],
        "services": ["amr-license", "tax-invoice", "psb-passport"],
        "roster": [{"id": "c0501", "name": "陈静"}, {"id": "c0401", "name": "刘洋"}],
    }  # fmt: skip
    assert catalog["devices"] == {
        "kiosks": ["k1", "k2"], "displays": ["d1"],
        "evaluators": ["e01", "e02", "e03", "e04", "e05"], "bridges": [], "operators": ["op1"],
        "announcers": [],
    }  # fmt: skip
    dumps(catalog)


def test_rating_view(engine: Engine) -> None:
    assert engine.rating_view("w02") is None
    ticket = issue(engine)
    engine.handle(CallNext("w02"), later(1))
    engine.handle(Finish("w02"), later(3))
    view = engine.rating_view("w02")
    assert view is not None
    assert list(view) == ["v", "window", "ticket", "clerk", "until"]
    assert view["ticket"]["id"] == ticket and view["ticket"]["status"] == "done"
    assert view["until"] == "2026-11-26T09:05:00+08:00"


def test_views_want_tz_aware_times(engine: Engine) -> None:
    ticket = issue(engine)
    naive = MORNING.replace(tzinfo=None)
    for view in (engine.board, engine.queues, lambda now: engine.ticket_view(ticket, now)):
        with pytest.raises(ValueError):
            view(naive)
