"""The evaluator's presenter without a window: a rating offered, each score, reasons for a low one,
a press while sending, the timeout (never a default score), thanks, on an injected clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from terminal import texts
from terminal.evaluator_presenter import THANKS_SECONDS, EvaluatorPresenter

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=TZ)
CATALOG = {"v": 1, "services": [{"code": "psb-id-card", "name_zh": "身份证办理"}], "windows": []}


class Port:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.ids: list[str | None] = []

    def send(self, op: str, fields: dict[str, Any], request_id: str | None = None) -> None:
        self.sent.append((op, fields))
        self.ids.append(request_id)


class Clock:
    def __init__(self) -> None:
        self.at = NOW

    def __call__(self) -> datetime:
        return self.at


def rating(number: str = "A012", seconds: int = 120) -> dict[str, Any]:
    return {
        "v": 1,
        "window": {"id": "w01", "name": "1号窗口", "area": ""},
        "ticket": {"id": f"20261126-{number}", "number": number, "service": "psb-id-card", "status": "done"},
        "clerk": {"id": "c0101", "name": "张伟"},
        "until": (NOW + timedelta(seconds=seconds)).isoformat(),
    }  # fmt: skip


def evaluator() -> tuple[EvaluatorPresenter, Port, Clock]:
    port, clock = Port(), Clock()
    p = EvaluatorPresenter(port, clock)
    p.on_catalog(CATALOG)
    return p, port, clock


def test_idle_until_a_rating_is_offered_then_the_five_levels() -> None:
    p, _, _ = evaluator()
    assert p.view().screen == "idle"
    p.on_rating(None)
    assert p.view().screen == "idle"
    p.on_rating(rating())
    view = p.view()
    assert view.screen == "rate"
    assert (view.number, view.service, view.window_name, view.clerk) == ("A012", "身份证办理", "1号窗口", "张伟")  # fmt: skip
    assert view.levels == [(5, "非常满意"), (4, "满意"), (3, "基本满意"), (2, "不满意"), (1, "非常不满意")]  # fmt: skip
    assert view.seconds_left == 120


@pytest.mark.parametrize("score", [5, 4, 3])
def test_a_good_score_is_sent_at_once_then_thanks_then_idle(score: int) -> None:
    p, port, clock = evaluator()
    p.on_rating(rating())
    p.press_score(score)
    p.press_score(1)  # while sending: nothing
    assert port.sent == [("rate", {"ticket": "20261126-A012", "score": score})]
    p.on_answer("rate", True, {}, "")
    assert p.view().screen == "thanks"
    p.on_rating(None)  # the hall clears the topic after the rating
    assert p.view().screen == "thanks"
    clock.at += timedelta(seconds=THANKS_SECONDS - 1)
    p.tick()
    assert p.view().screen == "thanks"
    clock.at += timedelta(seconds=1)
    p.tick()
    assert p.view().screen == "idle"


@pytest.mark.parametrize("score", [2, 1])
def test_a_low_score_asks_for_reasons_first(score: int) -> None:
    p, port, _ = evaluator()
    p.on_rating(rating())
    p.press_score(score)
    assert p.view().screen == "reasons" and port.sent == []
    p.toggle_reason(texts.LOW_REASONS[0])
    p.toggle_reason(texts.LOW_REASONS[2])
    p.toggle_reason(texts.LOW_REASONS[0])  # unticked again
    p.toggle_reason("not a reason")
    assert [r for r, ticked in p.view().reasons if ticked] == [texts.LOW_REASONS[2]]
    p.submit()
    p.submit()
    assert port.sent == [
        ("rate", {"ticket": "20261126-A012", "score": score, "reasons": [texts.LOW_REASONS[2]]})
    ]


def test_back_from_the_reasons_and_none_ticked_sends_no_reasons() -> None:
    p, port, _ = evaluator()
    p.on_rating(rating())
    p.press_score(2)
    p.back()
    assert p.view().screen == "rate"
    p.press_score(1)
    p.submit()
    assert port.sent == [("rate", {"ticket": "20261126-A012", "score": 1})]


@pytest.mark.parametrize("where", ["rate", "reasons"])
def test_the_timeout_returns_to_idle_and_sends_nothing(where: str) -> None:
    p, port, clock = evaluator()
    p.on_rating(rating(seconds=30))
    if where == "reasons":
        p.press_score(2)
    clock.at += timedelta(seconds=29)
    p.tick()
    assert p.view().screen == where and p.view().seconds_left == 1
    clock.at += timedelta(seconds=1)
    p.tick()
    assert p.view().screen == "idle" and port.sent == []
    p.press_score(5)
    assert port.sent == []


def test_the_hall_clearing_the_offer_returns_to_idle() -> None:
    p, port, _ = evaluator()
    p.on_rating(rating())
    p.on_rating(None)
    assert p.view().screen == "idle" and port.sent == []


def test_an_offer_already_past_is_not_shown() -> None:
    p, _, clock = evaluator()
    clock.at += timedelta(seconds=200)
    p.on_rating(rating())
    assert p.view().screen == "idle"


def test_a_lost_answer_lets_the_visitor_press_again_and_refusals_end_the_offer() -> None:
    p, port, _ = evaluator()
    p.on_rating(rating())
    p.press_score(4)
    p.on_answer("rate", False, None, "timeout")
    assert p.view().screen == "rate" and p.view().message == texts.EVALUATOR_FAILED
    p.press_score(4)
    assert len(port.sent) == 2
    p.on_answer("rate", False, None, "not_rateable")
    assert p.view().screen == "idle"
    p.on_rating(rating("A013"))
    p.press_score(5)
    p.on_answer("rate", False, None, "already_rated")  # a retry after the hall's answer was lost
    assert p.view().screen == "thanks"


def test_a_rated_ticket_offered_again_is_not_asked_twice() -> None:
    p, _, _ = evaluator()
    p.on_rating(rating())
    p.press_score(5)
    p.on_answer("rate", True, {}, "")
    p.on_rating(rating())  # the retained offer replayed after a reconnect, before it was cleared
    assert p.view().screen == "thanks"
