"""A day of the small hall through the typed messages (contract/messages): every request is built
with its request class and decoded by the hall's own decoder; every payload the hall would publish
(each answer, each call, window state, rating, board, queues, catalog) is read back through its
type and written again to the very same bytes, key order included."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from contract import messages as m
from contract.messages import requests as rq
from contract.protocol import dumps, ok
from hall.engine.engine import Engine
from hall.engine.errors import HallError, error_from
from hall.engine.model import CallEvent, Rollover
from hall.engine.requests import decode_request
from hall.service.service import clock_payload
from hall.store.clock import FixedClock, ScaledClock
from tests.fixtures.halls import CLERK_PIN, MORNING, later, small_hall


@dataclass
class Day:
    """The engine of one hall and everything it would have published, by type."""

    engine: Engine = field(default_factory=lambda: Engine(small_hall()))
    published: list[tuple[str, bytes]] = field(default_factory=list)  # (type, payload)
    answers: list[tuple[str, bytes]] = field(default_factory=list)  # (op, answer)
    ids: int = 0

    def send(self, device: tuple[str, str], request: rq.Request, at: datetime) -> m.Answer:
        self.ids += 1
        request_id = f"r{self.ids}"
        payload = dumps(request.to_json(request_id))
        config = self.engine.config
        decoded = decode_request(config, device[0], device[1], payload)  # the hall's own check
        assert decoded.op == request.OP and decoded.request_id == request_id
        try:
            outcome = self.engine.handle(decoded.command, at)
        except HallError as refused:
            answer = error_from(request_id, refused, "zh")
        else:
            answer = ok(request_id, outcome.result)
            for event in outcome.events:
                if isinstance(event, CallEvent):
                    self.published.append(("calls", dumps(self.engine.call_message(event))))
        self.answers.append((request.OP, answer))
        self.publish_retained(at)
        return m.Answer.from_bytes(answer)

    def publish_retained(self, at: datetime) -> None:
        engine = self.engine
        for window in engine.config.windows:
            self.published.append(("window_state", dumps(engine.window_view(window.id))))
            rating = engine.rating_view(window.id)
            self.published.append(("window_rating", dumps(rating) if rating else b""))
        self.published.append(("board", dumps(engine.board(at))))
        self.published.append(("queues", dumps(engine.queues(at))))
        self.published.append(("catalog", dumps(engine.catalog())))
        self.published.append(("cases", dumps(engine.cases(at))))


K1, K2 = ("kiosk", "k1"), ("kiosk", "k2")
W01, W02, W03 = ("window", "w01"), ("window", "w02"), ("window", "w03")
E01, OP1 = ("evaluator", "e01"), ("operator", "op1")


def ticket_of(answer: m.Answer) -> m.Ticket:
    result = answer.result_as(m.TicketResult)
    return result.ticket


@pytest.fixture(scope="module")
def day() -> Day:
    d = Day()
    t = 0.0

    def at() -> datetime:
        nonlocal t
        t += 1
        return later(t)

    d.send(
        OP1, rq.BookingAdd(code="B7F3K2", service="tax-audit", day="2026-11-26", slot="10:00"), at()
    )
    d.send(
        OP1, rq.BookingAdd(code="B7F3K2", service="tax-audit", day="2026-11-26", slot="10:00"), at()
    )
    d.send(
        OP1, rq.BookingAdd(code="C0FFEE", service="tax-audit", day="2026-11-27", slot="09:30"), at()
    )
    d.send(OP1, rq.BookingCancel(code="C0FFEE"), at())
    first = ticket_of(d.send(K1, rq.Issue(service="psb-id-card"), at()))
    d.send(K2, rq.Issue(service="psb-id-card", priority="priority", lang="en"), at())
    d.send(K1, rq.Issue(service="psb-hukou"), at())
    d.send(K1, rq.Issue(service="tax-audit", appointment="B7F3K2"), at())
    d.send(K1, rq.Issue(service="tax-invoice"), at())
    d.send(K1, rq.Issue(service="nope"), at())  # refused: unknown_service
    d.send(K1, rq.Reprint(ticket=first.id), at())
    d.send(K1, rq.Status(ticket=first.id), at())
    d.send(W01, rq.CallNext(), at())  # refused: not_logged_in
    d.send(W01, rq.Login(clerk="c0101", pin=CLERK_PIN), at())
    d.send(W02, rq.Login(clerk="c0201"), at())
    d.send(W03, rq.Login(clerk="c0301"), at())
    d.send(W01, rq.CallNext(), at())
    d.send(W01, rq.Recall(), at())
    d.send(W01, rq.Start(), at())
    d.send(W01, rq.Finish(outcome="accepted"), at())  # issue 21: a case (受理)
    psb_case = d.engine.state.windows["w01"].rating or ""
    d.send(
        E01,
        rq.Rate(ticket=d.engine.state.windows["w01"].rating or "", score=5, reasons=("快",)),
        at(),
    )
    d.send(W02, rq.Call(number=first.number), at())
    d.send(W02, rq.Hold(), at())
    d.send(K1, rq.Issue(service="psb-id-card"), at())
    d.send(W02, rq.CallNext(), at())
    d.send(W02, rq.Transfer(service="psb-passport"), at())
    d.send(W02, rq.Unhold(ticket=first.id), at())
    d.send(W02, rq.NoShow(), at())
    d.send(W03, rq.CallNext(), at())
    d.send(W03, rq.Transfer(window="w01"), at())
    d.send(W01, rq.CallNext(), at())
    d.send(W01, rq.Finish(outcome="accepted"), at())
    tax_case = d.engine.state.windows["w01"].rating or ""
    d.send(W02, rq.CloseCase(case=psb_case, note="已领证"), at())  # w02 serves psb too
    d.send(OP1, rq.OperatorCloseCase(case=tax_case), at())
    d.send(W01, rq.Pause(reason="午休"), at())
    d.send(W01, rq.Resume(), at())
    d.send(W01, rq.Logout(), at())
    d.send(W03, rq.CallNext(), at())
    d.send(OP1, rq.ForceLogout(window="w03"), at())
    d.send(OP1, rq.CancelTicket(ticket=first.id), at())  # refused: invalid_transition (closed)
    waiting = ticket_of(d.send(K1, rq.Issue(service="amr-license"), at()))
    d.send(OP1, rq.CancelTicket(ticket=waiting.id), at())
    d.send(OP1, rq.SetService(service="psb-hukou", open=False), at())
    d.send(OP1, rq.SetService(service="psb-hukou", cap=5), at())
    d.send(OP1, rq.SetService(service="psb-hukou", open=True, clear_cap=True), at())
    d.send(OP1, rq.Notice(text="今日下午三点停电检修"), at())
    d.send(OP1, rq.Notice(), at())
    help_id = d.send(K1, rq.Help(), at()).result_as(m.HelpResult).alarm  # issue 19: the alarms
    d.send(OP1, rq.AlarmAckRequest(alarm=help_id), at())
    d.send(OP1, rq.AlarmNoteRequest(alarm=help_id, text="已协助", close=True), at())
    d.engine.handle(Rollover(), later(24 * 60))  # the next day: tickets expire, seq starts again
    d.publish_retained(later(24 * 60))
    return d


def test_every_op_was_answered(day: Day) -> None:
    ops = {op for op, _ in day.answers}
    assert ops == {op for by_op in rq.REQUESTS.values() for op in by_op}
    refused = {m.Answer.from_bytes(a).error.code for _, a in day.answers if b'"ok":false' in a}  # type: ignore[union-attr]
    assert refused == {"unknown_service", "not_logged_in", "invalid_transition"}


def test_every_answer_round_trips(day: Day) -> None:
    for op, payload in day.answers:
        answer = m.Answer.from_bytes(payload)
        assert answer.to_bytes() == payload
        if answer.ok:
            result = m.result_of(op, answer)
            assert result.to_json() == answer.result
            assert dumps(result.to_json()) == dumps(answer.result or {}), op


def test_every_published_payload_round_trips(day: Day) -> None:
    kinds = {kind for kind, payload in day.published if payload}
    assert kinds == {
        "calls",
        "window_state",
        "window_rating",
        "board",
        "queues",
        "catalog",
        "cases",
    }
    for kind, payload in day.published:
        message = m.parse(kind, payload)
        if not payload:
            assert message is None
            continue
        assert isinstance(message, m.PUBLISHED[kind])
        assert dumps(message.to_json()) == payload  # the same bytes: key order included


def test_the_day_shows_every_shape(day: Day) -> None:
    """The payloads above include the optional parts: a held ticket, a clerk, a pause reason."""
    states = [m.parse("window_state", p) for k, p in day.published if k == "window_state"]
    assert any(s.held for s in states)
    assert any(s.reason for s in states)
    assert any(s.ticket is not None for s in states)
    boards = [m.decode_board(p) for k, p in day.published if k == "board"]
    assert any(b is not None and b.recent and b.notice for b in boards)
    calls = [m.decode_call(p) for k, p in day.published if k == "calls"]
    assert any(c.recall for c in calls)


def test_clock_payloads_round_trip() -> None:
    for clock in (FixedClock(MORNING), ScaledClock(MORNING, 60.0)):
        payload = clock_payload(clock)
        reading = m.decode_clock(payload)
        assert reading is not None and reading.to_bytes() == payload
        assert json.loads(payload)["speed"] == reading.speed


def test_the_hall_accepts_every_request_a_class_builds() -> None:
    config = small_hall()
    examples: list[rq.Request] = [
        rq.Issue(service="psb-id-card", priority="normal", appointment="B7F3K2", lang="zh"),
        rq.Reprint(ticket="20261126-A001"),
        rq.Status(ticket="20261126-A001"),
        rq.Login(clerk="c0101", pin="1234"),
        rq.Logout(),
        rq.CallNext(),
        rq.Call(number="A012"),
        rq.Recall(),
        rq.Start(),
        rq.Finish(),
        rq.NoShow(),
        rq.Transfer(service="psb-hukou"),
        rq.Transfer(window="w02"),
        rq.Hold(),
        rq.Unhold(ticket="20261126-A001"),
        rq.Pause(reason="lunch"),
        rq.Pause(),
        rq.Resume(),
        rq.Rate(ticket="20261126-A001", score=4),
        rq.Rate(ticket="20261126-A001", score=1, reasons=("slow", "rude")),
        rq.CancelTicket(ticket="20261126-A001"),
        rq.ForceLogout(window="w01"),
        rq.SetService(service="psb-hukou", open=False),
        rq.SetService(service="psb-hukou", cap=0),
        rq.SetService(service="psb-hukou", clear_cap=True),
        rq.Notice(text="hello"),
        rq.Notice(),
        rq.BookingAdd(code="B7F3K2", service="tax-audit", day="2026-11-27", slot="09:30"),
        rq.BookingCancel(code="B7F3K2"),
    ]
    devices = {"kiosk": "k2", "window": "w01", "evaluator": "e01", "operator": "op1"}
    for request in examples:
        payload = dumps(request.to_json("x1"))
        decoded = decode_request(config, request.DEVICE, devices[request.DEVICE], payload)
        assert decoded.op == request.OP
        request_id, again = m.decode_request(request.DEVICE, payload)
        assert (request_id, again) == ("x1", request)
