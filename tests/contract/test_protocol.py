"""The one JSON encoder and the answer envelope."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from contract.protocol import dumps, error, iso, ok, valid_request_id
from hall.engine.errors import HallError, error_from


def test_answers_are_compact_utf8_json() -> None:
    assert ok("r1", {"n": "A012"}) == b'{"v":1,"id":"r1","ok":true,"result":{"n":"A012"}}'
    raw = error(None, "unknown_op", "未知操作")
    assert (
        raw
        == '{"v":1,"id":null,"ok":false,"error":{"code":"unknown_op","message":"未知操作"}}'.encode()
    )
    assert dumps({"a": "非常满意"}) == '{"a":"非常满意"}'.encode()


def test_message_language_follows_the_hall() -> None:
    exc = HallError("queue_empty", "当前无人排队", "the queue is empty")
    assert json.loads(error_from("x", exc, "zh"))["error"]["message"] == "当前无人排队"
    assert (
        json.loads(error_from("x", exc, "en"))["error"]["message"]
        == "当前无人排队 (the queue is empty)"
    )
    with pytest.raises(ValueError):
        HallError("not_a_code", "", "")


def test_request_ids() -> None:
    assert valid_request_id("a")
    assert valid_request_id("x" * 64)
    for bad in ("", "x" * 65, 7, None, ["a"], json.loads('"\\ud800"')):
        assert not valid_request_id(bad)


def test_times_carry_the_hall_offset() -> None:
    cst = timezone(timedelta(hours=8))
    assert iso(datetime(2026, 11, 26, 9, 3, 12, 999, tzinfo=cst)) == "2026-11-26T09:03:12+08:00"
    with pytest.raises(ValueError):
        iso(datetime(2026, 11, 26, 9, 3, 12))
