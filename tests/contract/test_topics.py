"""Every topic builder yields a valid publish topic; every subscription matches what it should."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from paho.mqtt.client import topic_matches_sub

from contract import topics

SITE = "hall-1"

BUILDERS: list[tuple[Callable[..., str], tuple[str, ...], str]] = [
    (topics.kiosk_req, ("k1",), "hallq/hall-1/kiosk/k1/req"),
    (topics.clock, (), "hallq/hall-1/clock"),
    (topics.window_req, ("w05",), "hallq/hall-1/window/w05/req"),
    (topics.evaluator_req, ("e05",), "hallq/hall-1/evaluator/e05/req"),
    (topics.operator_req, ("op1",), "hallq/hall-1/operator/op1/req"),
    (topics.window_state, ("w05",), "hallq/hall-1/window/w05/state"),
    (topics.window_rating, ("w05",), "hallq/hall-1/window/w05/rating"),
    (topics.calls, (), "hallq/hall-1/calls"),
    (topics.board, (), "hallq/hall-1/board"),
    (topics.catalog, (), "hallq/hall-1/catalog"),
    (topics.queues, (), "hallq/hall-1/queues"),
    (topics.alarm, (), "hallq/hall-1/alarm"),
    (topics.status, ("hall",), "hallq/hall-1/status/hall"),
    (topics.device_health, ("k1",), "hallq/hall-1/device/k1/health"),
]


def _valid_publish_topic(topic: str) -> bool:
    # Home Assistant's rule: no wildcards, no NUL, not empty, at most 65535 bytes of UTF-8.
    raw = topic.encode("utf-8")
    return bool(topic) and len(raw) <= 65535 and not any(c in topic for c in "+#\0")


@pytest.mark.parametrize(("builder", "args", "expected"), BUILDERS)
def test_builders_give_the_contract_topics(
    builder: Callable[..., str], args: tuple[str, ...], expected: str
) -> None:
    topic = builder(SITE, *args)
    assert topic == expected
    assert _valid_publish_topic(topic)


@pytest.mark.parametrize("device_class", topics.REQUEST_CLASSES)
def test_request_and_response_topics(device_class: str) -> None:
    req = topics.request(SITE, device_class, "d1")
    resp = topics.response(SITE, device_class, "d1")
    assert topic_matches_sub(topics.all_requests(SITE), req)
    assert not topic_matches_sub(topics.all_requests(SITE), resp)
    assert topics.parse_request(SITE, req) == (device_class, "d1")
    assert topics.parse_request(SITE, resp) is None
    assert topics.parse_request("other", req) is None


@pytest.mark.parametrize(
    ("subscription", "matches", "does_not_match"),
    [
        (
            topics.all_requests(SITE),
            [topics.kiosk_req(SITE, "k1"), topics.window_req(SITE, "w1")],
            [topics.window_state(SITE, "w1"), topics.calls(SITE), topics.kiosk_req("x", "k1")],
        ),
        (
            topics.all_window_states(SITE),
            [topics.window_state(SITE, "w1")],
            [topics.window_rating(SITE, "w1"), topics.window_req(SITE, "w1")],
        ),
        (
            topics.all_window_ratings(SITE),
            [topics.window_rating(SITE, "w1")],
            [topics.window_state(SITE, "w1")],
        ),
        (
            topics.all_status(SITE),
            [topics.status(SITE, "hall"), topics.status(SITE, "k1")],
            [topics.device_health(SITE, "k1")],
        ),
        (
            topics.all_health(SITE),
            [topics.device_health(SITE, "k1")],
            [topics.status(SITE, "k1")],
        ),
    ],
)
def test_subscriptions_match_what_they_should(
    subscription: str, matches: list[str], does_not_match: list[str]
) -> None:
    for topic in matches:
        assert topic_matches_sub(subscription, topic), topic
    for topic in does_not_match:
        assert not topic_matches_sub(subscription, topic), topic


@pytest.mark.parametrize("bad", ["", "A1", "k/1", "k+1", "k#", "-k", "x" * 33, "k 1", "ké"])
def test_bad_ids_never_make_a_topic(bad: str) -> None:
    with pytest.raises(ValueError):
        topics.kiosk_req(SITE, bad)
    with pytest.raises(ValueError):
        topics.board(bad)


def test_unknown_request_class_is_refused() -> None:
    with pytest.raises(ValueError):
        topics.request(SITE, "display", "d1")
    assert topics.parse_request(SITE, "hallq/hall-1/display/d1/req") is None
    assert topics.parse_request(SITE, "hallq/hall-1/kiosk/K1/req") is None


def test_parse_window() -> None:
    assert topics.parse_window(SITE, topics.window_state(SITE, "w05")) == "w05"
    assert topics.parse_window(SITE, topics.window_rating(SITE, "w05")) == "w05"
    assert topics.parse_window(SITE, topics.calls(SITE)) is None
