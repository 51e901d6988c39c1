"""The typed messages (contract/messages): what a malformed payload raises, what is tolerated, and
that writing what was read gives back the same payload."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract import messages as m
from contract.messages import requests as rq
from contract.protocol import dumps

TICKET: dict[str, Any] = {
    "id": "20261126-A001", "number": "A001", "service": "psb-id-card", "department": "psb",
    "priority": "normal", "issued_at": "2026-11-26T09:03:12+08:00", "status": "called",
    "ahead": 0, "est_wait_min": 0, "window": "w01", "recalls": 0,
}  # fmt: skip
WINDOW = {"id": "w01", "name": "1号窗口", "area": "1F"}
CALL: dict[str, Any] = {
    "v": 1, "seq": 1, "at": "2026-11-26T09:03:12+08:00", "ticket": TICKET, "window": WINDOW,
    "recall": 0,
}  # fmt: skip
STATE: dict[str, Any] = {
    "v": 1, "window": WINDOW, "status": "open", "clerk": {"id": "c0101", "name": "张伟"},
    "ticket": TICKET, "held": [dict(TICKET)], "since": "2026-11-26T09:03:12+08:00", "reason": None,
}  # fmt: skip


def refused(kind: str, payload: Any) -> str:
    with pytest.raises(m.PayloadError) as caught:
        m.parse(kind, payload)
    return str(caught.value)


def without(data: dict[str, Any], *path: str) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    inner = changed
    for key in path[:-1]:
        inner = inner[key]
    del inner[path[-1]]
    return changed


def replaced(data: dict[str, Any], value: Any, *path: str | int) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    inner: Any = changed
    for key in path[:-1]:
        inner = inner[key]
    inner[path[-1]] = value
    return changed


def test_a_missing_field_is_named_by_its_path() -> None:
    assert refused("calls", without(CALL, "ticket", "number")) == "calls.ticket.number: missing"
    assert refused("calls", without(CALL, "seq")) == "calls.seq: missing"
    assert refused("window_state", without(STATE, "held")) == "window_state.held: missing"


def test_a_wrong_type_says_what_was_expected() -> None:
    assert refused("calls", replaced(CALL, "1", "seq")) == (
        "calls.seq: expected a whole number, got a string"
    )
    assert refused("calls", replaced(CALL, True, "seq")) == (
        "calls.seq: expected a whole number, got a boolean"
    )
    assert refused("calls", replaced(CALL, None, "window")) == (
        "calls.window: expected an object, got null"
    )
    message = refused("window_state", replaced(STATE, 7, "held", 0, "number"))
    assert message == "window_state.held[0].number: expected a string, got a number"
    assert refused("window_state", replaced(STATE, {}, "held")) == (
        "window_state.held: expected a list, got an object"
    )


def test_times_must_be_iso_with_an_offset() -> None:
    assert "calls.at: not an ISO 8601 time" in refused("calls", replaced(CALL, "9:03", "at"))
    naive = replaced(CALL, "2026-11-26T09:03:12", "ticket", "issued_at")
    assert refused("calls", naive).startswith(
        "calls.ticket.issued_at: a time needs the hall's offset"
    )


def test_not_an_object_not_json_and_a_wrong_version() -> None:
    assert refused("calls", [CALL]) == "calls: expected an object, got a list"
    assert refused("clock", b'{"v":1,"at":"2026-11-26T09:03:12+08:00","speed":NaN,"unix":1}') == (
        "clock: not JSON (NaN is not a JSON number)"
    )
    assert refused("board", b"{not json").startswith("board: not JSON")
    assert refused("board", b"\xff\xfe").startswith("board: not JSON")
    assert refused("calls", replaced(CALL, 2, "v")) == "calls.v: contract version 1 expected"
    assert refused("calls", without(CALL, "v")) == "calls.v: missing"


def test_a_payload_error_is_a_value_error_with_its_parts() -> None:
    with pytest.raises(ValueError) as caught:
        m.CallMessage.from_json(without(CALL, "ticket", "id"))
    error = caught.value
    assert isinstance(error, m.PayloadError)
    assert (error.kind, error.path, error.problem) == ("calls", "ticket.id", "missing")


def test_unknown_fields_are_ignored() -> None:
    newer = replaced(replaced(CALL, "A", "ticket", "lane"), {"x": 1}, "voice")
    call = m.CallMessage.from_json(newer)
    assert call.ticket.number == "A001"
    assert call.to_json() == CALL  # what this version of the contract knows


def test_an_empty_retained_payload_is_none() -> None:
    assert m.parse("window_state", b"") is None
    assert m.decode_rating(b"") is None
    assert m.decode_board(b"") is None


def test_the_rating_of_a_hall_without_the_clerk_extension() -> None:
    rating = {"v": 1, "window": WINDOW, "ticket": TICKET, "until": "2026-11-26T09:05:12+08:00"}
    assert m.RatingMessage.from_json(rating).clerk is None


def test_answers_say_ok_with_a_result_or_an_error() -> None:
    refusal = m.Answer.refusal("r1", "queue_empty", "当前没有等候的号")
    assert (
        refusal.to_bytes()
        == (
            '{"v":1,"id":"r1","ok":false,"error":{"code":"queue_empty","message":"当前没有等候的号"}}'
        ).encode()
    )
    assert m.Answer.from_json(refusal.to_json()) == refusal
    with pytest.raises(m.PayloadError, match=re.escape("answer.result: missing")):
        m.Answer.from_json({"v": 1, "id": "r1", "ok": True})
    with pytest.raises(m.PayloadError, match=re.escape("answer.error: missing")):
        m.Answer.from_json({"v": 1, "id": None, "ok": False})
    with pytest.raises(m.PayloadError, match="refused"):
        refusal.result_as(m.TicketResult)
    answer = m.Answer.success("r2", m.TicketResult(ticket=m.Ticket.from_json(TICKET)))
    assert m.result_of("status", answer) == m.TicketResult(ticket=m.Ticket.from_json(TICKET))
    with pytest.raises(m.PayloadError, match=r"answer.result.ticket.ahead: missing"):
        m.Answer.success("r3", {"ticket": without(TICKET, "ahead")}).result_as(m.TicketResult)


def test_requests_are_checked_by_shape() -> None:
    with pytest.raises(
        m.PayloadError, match=re.escape("request of a kiosk.op: not an op of a kiosk")
    ):
        m.decode_request("kiosk", b'{"v":1,"id":"a","op":"call_next"}')
    with pytest.raises(m.PayloadError, match=re.escape("request of a kiosk.id")):
        m.decode_request("kiosk", b'{"v":1,"op":"issue","service":"x"}')
    with pytest.raises(m.PayloadError, match=re.escape("request issue.service: missing")):
        m.decode_request("kiosk", b'{"v":1,"id":"a","op":"issue"}')
    with pytest.raises(m.PayloadError, match="request transfer: give either service or window"):
        rq.Transfer(service="a", window="w01")
    with pytest.raises(m.PayloadError, match="request service: give open or cap"):
        m.decode_request("operator", b'{"id":"a","op":"service","service":"x"}')
    _, request = m.decode_request("operator", b'{"id":"a","op":"service","service":"x","cap":null}')
    assert request == rq.SetService(service="x", clear_cap=True)
    assert request.to_json("a") == {"v": 1, "id": "a", "op": "service", "service": "x", "cap": None}
    assert rq.Issue(service="x").fields() == {"service": "x"}


texts = st.text(max_size=12)
times = st.datetimes(
    min_value=datetime(2000, 1, 1), timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))])
).map(lambda at: at.replace(microsecond=0).isoformat())
tickets = st.builds(
    m.Ticket,
    id=texts, number=texts, service=texts, department=texts, priority=texts, issued_at=times,
    status=st.sampled_from(["waiting", "called", "done"]), ahead=st.integers(0, 10**6),
    est_wait_min=st.integers(0, 10**4), window=st.none() | texts, recalls=st.integers(0, 99),
)  # fmt: skip
windows = st.builds(m.WindowRef, id=texts, name=texts, area=texts)


@given(
    st.builds(
        m.WindowStateMessage,
        window=windows,
        status=st.sampled_from(["open", "closed", "paused"]),
        clerk=st.none() | st.builds(m.ClerkRef, id=texts, name=texts),
        ticket=st.none() | tickets,
        held=st.lists(tickets, max_size=3).map(tuple),
        since=st.none() | times,
        reason=st.none() | texts,
    )
)
def test_window_states_round_trip(state: m.WindowStateMessage) -> None:
    payload = state.to_bytes()
    assert m.decode_window_state(payload) == state
    assert dumps(json.loads(payload)) == payload


@given(
    st.builds(
        m.Queues,
        at=times,
        services=st.dictionaries(
            texts,
            st.builds(
                m.QueueEntry,
                waiting=st.integers(0, 999),
                issued_today=st.integers(0, 999),
                est_wait_min=st.integers(0, 999),
                can_issue=st.booleans(),
                reason=st.none() | st.sampled_from(["closed", "outside_hours"]),
            ),
            max_size=4,
        ),
    ),
    st.builds(
        m.CallMessage,
        seq=st.integers(1, 10**6),
        at=times,
        ticket=tickets,
        window=windows,
        recall=st.integers(0, 9),
    ),
)
def test_queues_and_calls_round_trip(queues: m.Queues, call: m.CallMessage) -> None:
    assert m.decode_queues(queues.to_bytes()) == queues
    assert m.decode_call(call.to_bytes()) == call
    assert m.CallMessage.from_json(call.to_json()).to_json() == call.to_json()


def test_read_or_warn_names_the_field_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(m, "_warned", set())  # what earlier tests logged is forgotten
    broken = without(CALL, "recall")
    with caplog.at_level("WARNING"):
        assert m.read_or_warn(m.CallMessage, broken) is None
        assert m.read_or_warn(m.CallMessage, broken) is None
        assert m.read_or_warn(m.CallMessage, CALL) == m.CallMessage.from_json(CALL)
    assert [r.getMessage() for r in caplog.records] == [
        "a payload outside the contract (shown as far as it goes): calls.recall: missing"
    ]
