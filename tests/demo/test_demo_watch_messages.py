"""The demo's watcher reads `calls` and window states through the contract's types: a payload as
the hall publishes it, and one outside the contract (logged, naming the field, then shown as far
as it goes)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from contract import messages as m
from contract import topics
from hall.config.schema import load_config
from hallq.demo_watch import Watch

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "deploy" / "examples" / "prefecture-hall.toml")
SITE = CONFIG.site.id
SERVICE = CONFIG.services[0]


def published_call(recall: int = 0) -> m.CallMessage:
    return m.CallMessage(
        seq=4 if recall else 3,  # a recall is a call of its own, with the next seq
        at="2026-11-30T09:12:30+08:00",
        ticket=m.Ticket(
            id="20261130-A012",
            number="A012",
            service=SERVICE.code,
            department=SERVICE.department,
            priority="normal",
            issued_at="2026-11-30T09:02:10+08:00",
            status="called",
            ahead=0,
            est_wait_min=0,
            window="w005",
            recalls=recall,
        ),
        window=m.WindowRef(id="w005", name="5号窗口", area="1F"),
        recall=recall,
    )


def test_a_published_call_is_read_through_its_type(caplog: pytest.LogCaptureFixture) -> None:
    lines: list[str] = []
    watch = Watch(CONFIG, out=lines.append)
    with caplog.at_level(logging.WARNING):
        watch.on_call(topics.calls(SITE), published_call().to_json())
        watch.on_call(topics.calls(SITE), published_call(recall=2).to_json())
    assert lines[0].startswith("09:12:30  call     A012   -> 5号窗口 (1F)")
    assert lines[0].endswith(f"{SERVICE.name_zh}   waited 10 min")
    assert lines[1:] == ["09:12:30  recall   A012 -> 5号窗口 (1F), 3rd time"]
    assert not caplog.records


def test_a_call_outside_the_contract_is_named_and_still_shown(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(m, "_warned", set())  # each problem is logged once per process
    lines: list[str] = []
    watch = Watch(CONFIG, out=lines.append)
    broken = published_call().to_json()
    del broken["ticket"]["department"]
    with caplog.at_level(logging.WARNING):
        watch.on_call(topics.calls(SITE), broken)
    assert "calls.ticket.department: missing" in caplog.text
    assert lines and "A012" in lines[0]


def test_window_states_are_read_through_their_type() -> None:
    watch = Watch(CONFIG, out=lambda line: None)
    state = m.WindowStateMessage(
        window=m.WindowRef(id="w001", name="1号窗口", area="1F"),
        status="paused",
        clerk=m.ClerkRef(id="c00101", name="张伟"),
        ticket=None,
        held=(),
        since="2026-11-30T09:12:30+08:00",
        reason="午休",
    )
    watch.on_window(topics.window_state(SITE, "w001"), state.to_json())
    assert watch.windows == {"w001": "paused"}
