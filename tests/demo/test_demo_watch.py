"""The demo's event lines, from the hall's messages as the contract shapes them."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from contract import topics
from contract.transport import Message
from hall.config.schema import load_config
from hallq.demo_watch import HALL_ONLINE, Watch

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "deploy" / "examples" / "prefecture-hall.toml")
SITE = CONFIG.site.id


def watch() -> tuple[Watch, list[str]]:
    lines: list[str] = []
    return Watch(CONFIG, out=lines.append), lines


def call(number: str, recall: int = 0, at: str = "2026-11-30T09:12:30+08:00") -> dict[str, object]:
    service = CONFIG.services[0]
    return {
        "v": 1,
        "seq": 1,
        "at": at,
        "ticket": {
            "id": f"20261130-{number}",
            "number": number,
            "service": service.code,
            "issued_at": "2026-11-30T09:02:10+08:00",
        },
        "window": {"id": "w005", "name": "5号窗口", "area": "1F"},
        "recall": recall,
    }


def test_a_call_line_has_the_halls_time_number_window_service_and_wait() -> None:
    w, lines = watch()
    w.on_call(topics.calls(SITE), call("A012"))
    (line,) = lines
    assert line.startswith("09:12:30  call     A012   -> 5号窗口 (1F)")
    assert CONFIG.services[0].name_zh in line
    assert line.endswith("waited 10 min")
    assert w.calls == 1


def test_a_recall_says_which_time() -> None:
    w, lines = watch()
    w.on_call(topics.calls(SITE), call("A012", recall=1))
    assert lines == ["09:12:30  recall   A012 -> 5号窗口 (1F), 2nd time"]
    assert w.calls == 0


def queues(at: str, waiting: dict[str, int]) -> dict[str, object]:
    return {
        "v": 1,
        "at": at,
        "services": {
            code: {"waiting": n, "issued_today": n + 1, "est_wait_min": 3, "can_issue": True}
            for code, n in waiting.items()
        },
    }


def test_queue_lines_by_department_at_most_every_five_hall_minutes() -> None:
    w, lines = watch()
    codes = [s.code for s in CONFIG.services if s.department == "psb"][:2]
    tax = next(s.code for s in CONFIG.services if s.department == "tax")
    w.on_queues(topics.queues(SITE), queues("2026-11-30T09:10:00+08:00", {codes[0]: 3, tax: 1}))
    w.on_queues(topics.queues(SITE), queues("2026-11-30T09:12:00+08:00", {codes[0]: 9}))
    w.on_queues(
        topics.queues(SITE), queues("2026-11-30T09:15:00+08:00", {codes[0]: 4, codes[1]: 2})
    )
    assert lines == [
        "09:10:00  queues   waiting 4, issued 6 today; most: 州公安局 A 3, 州税务局 B 1",
        "09:15:00  queues   waiting 6, issued 8 today; most: 州公安局 A 6",
    ]


def test_the_empty_hall_before_the_first_visitor_says_nothing() -> None:
    w, lines = watch()
    w.on_queues(topics.queues(SITE), queues("2026-11-30T09:00:00+08:00", {}))
    assert lines == []


def test_window_counts_only_when_they_change() -> None:
    w, lines = watch()
    w.set_clock(datetime.fromisoformat("2026-11-30T09:00:00+08:00"), 0.0, 0.0)  # stands still
    w.on_window(topics.window_state(SITE, "w001"), {"status": "open"})
    w.on_window(topics.window_state(SITE, "w002"), {"status": "paused"})
    w.show_windows()
    w.show_windows()
    w.on_window(topics.window_state(SITE, "w002"), None)  # a cleared state: closed
    w.show_windows()
    assert lines == [
        "09:00:00  windows  1 open, 1 paused, 103 closed",
        "09:00:00  windows  1 open, 0 paused, 104 closed",
    ]


def test_hall_status_bridge_health_and_alarms() -> None:
    w, lines = watch()
    w.on_status(Message(topics.status(SITE, "hall"), b"online"))
    w.on_status(Message(topics.status(SITE, "k01"), b"online"))  # the kiosks are too many
    detail = {str(a): "unknown" for a in range(1, 35)}
    health = {"v": 1, "state": "ok", "detail": detail, "at": "2026-11-26T20:00:00+00:00"}
    w.on_health(topics.device_health(SITE, "led-2f"), health)
    w.on_health(topics.device_health(SITE, "led-2f"), health)  # unchanged: no line
    w.on_alarm(
        topics.alarm(SITE),
        {
            "v": 1,
            "id": "a1",
            "kind": "quota",
            "severity": "warn",
            "subject": "psb-id-card",
            "text": "快满了",
            "at": "2026-11-30T10:00:00+08:00",
            "cleared": False,
        },
    )
    assert [line.split(None, 1)[1] for line in lines] == [
        f"hall     {HALL_ONLINE}",
        "device   led-2f: bus ok (34 boards)",
        "alarm    warn quota: 快满了",
    ]


def test_the_halls_clock_topic_sets_the_time_of_lines_without_one() -> None:
    w, lines = watch()
    assert w.hall_time() == "--:--:--"
    w.on_clock(
        topics.clock(SITE), {"v": 1, "at": "2026-11-30T10:30:00+08:00", "speed": 0, "unix": 1.0}
    )
    w.on_status(Message(topics.status(SITE, "hall"), b"offline"))
    assert lines == ["10:30:00  hall     server offline"]


def test_a_call_sent_twice_is_one_line_and_a_missed_one_is_said() -> None:
    w, lines = watch()
    first = call("A012")
    w.on_call(topics.calls(SITE), first)
    w.on_call(topics.calls(SITE), first)  # the hall republished it after a crash
    assert w.calls == 1 and len(lines) == 1
    w.on_call(topics.calls(SITE), {**call("A014"), "seq": 3})
    assert w.calls == 2
    assert any("missed a call" in line for line in lines)


def test_no_line_is_stamped_with_a_time_the_hall_has_not_reached() -> None:
    """Until the hall tells its clock, lines carry the start the demo gave it (the server takes
    seconds to load on a busy machine: a guess from when it was launched ran ahead of it)."""
    w, lines = watch()
    w.guess_clock(datetime.fromisoformat("2026-11-30T09:00:00+08:00"), 10.0)
    time.sleep(0.2)  # two hall seconds
    w.on_status(Message(topics.status(SITE, "led-2f"), b"online"))  # a bridge came up first
    w.on_status(Message(topics.status(SITE, "hall"), b"online"))
    assert lines == ["09:00:00  device   led-2f online", "09:00:00  hall     server online"]
    w.on_clock(  # the hall's own reading wins from then on
        topics.clock(SITE), {"v": 1, "at": "2026-11-30T09:00:04+08:00", "speed": 0, "unix": 1.0}
    )
    w.on_status(Message(topics.status(SITE, "hall"), b"online"))
    assert lines[2] == "09:00:04  hall     server online"
