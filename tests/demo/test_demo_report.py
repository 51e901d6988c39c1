"""The demo's closing summary for a hall manager, read from a real store the hall core wrote."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hall.store.clock import FixedClock
from hall.store.core import HallCore, Incoming
from hallq import demo_report as report
from tests.fixtures.halls import small_hall

MORNING = datetime(2026, 11, 26, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def send(core: HallCore, device_class: str, device: str, rid: str, op: str, **fields: Any) -> Any:
    body = json.dumps({"v": 1, "id": rid, "op": op, **fields}).encode()
    answer = json.loads(core.execute([Incoming(device_class, device, body)]).replies[0].payload)
    assert answer["ok"], answer
    return answer["result"]


def test_the_day_in_a_managers_words(tmp_path: Path) -> None:
    clock = FixedClock(MORNING)
    config = small_hall()
    with HallCore(config, tmp_path, clock) as core:
        for n in range(4):
            send(core, "kiosk", "k1", f"i{n}", "issue", service="psb-id-card")
            clock.advance(minutes=1)
        send(core, "window", "w02", "l", "login", clerk="c0201")
        clock.advance(minutes=10)
        send(core, "window", "w02", "c1", "call_next")
        clock.advance(minutes=5)
        done = send(core, "window", "w02", "f1", "finish")["ticket"]
        send(core, "evaluator", "e02", "r1", "rate", ticket=done["id"], score=5)
        send(core, "window", "w02", "c2", "call_next")
        clock.advance(minutes=1)
        send(core, "window", "w02", "n2", "no_show")
        send(core, "window", "w02", "c3", "call_next")  # A003 is at the window
        clock.advance(minutes=2)
        send(core, "kiosk", "k1", "i9", "issue", service="tax-invoice")  # nobody serves it yet
    lines = report.summary(report.read_day(tmp_path), config)
    text = "\n".join(lines)
    assert lines[0] == "hall time 09:00-09:22 (Thu 2026-11-26)"
    assert lines[1] == (
        "tickets issued 5: served 1, no-show 1, cancelled 0; at a window when it stopped 1, "
        "still waiting 2"
    )
    # A001 waited 14 min, A002 18 (09:01 to 09:19), A003 18 (09:02 to 09:20): the first of the longest
    assert "17 min on average, longest 18 min (A002 身份证)" in text
    assert "the longest still waiting: A004, 19 min so far" in text
    assert "ratings 1 of 1 served: 非常满意 1, 满意 0, 基本满意 0, 不满意 0, 非常不满意 0" in text
    assert lines[-1] == "most tickets: 公安局 4, 税务局 1"
    for developer_figure in ("p50", "ms", "refused", "queue_empty"):
        assert developer_figure not in text


def test_no_store_or_no_ticket(tmp_path: Path) -> None:
    assert report.summary(report.read_day(tmp_path / "none"), small_hall()) == [
        "no ticket was issued"
    ]
