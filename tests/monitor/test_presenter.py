"""The monitor's presenter without a window: what the room sees from the hall's payloads, the queue
history sampled a minute at a time over 4 hours, alarms newest first with their follow-up, devices'
health, and the operator's forms (checked, described, confirmed where visitors feel them)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from monitor.presenter import FORMS, HISTORY_MINUTES, FormError, MonitorPresenter

TZ = timezone(timedelta(hours=8))
START = datetime(2026, 12, 7, 9, 0, tzinfo=TZ)
CATALOG: dict[str, Any] = {
    "v": 1,
    "site": {"id": "testhall", "name": "测试大厅", "tz": "Asia/Shanghai"},
    "departments": [{"code": "psb", "name_zh": "公安局"}, {"code": "tax", "name_zh": "税务局"}],
    "services": [
        {"code": "psb-id-card", "department": "psb", "name_zh": "身份证", "open": True},
        {"code": "tax-invoice", "department": "tax", "name_zh": "发票领用", "open": True},
    ],
    "windows": [{"id": "w01", "name": "1号窗口"}, {"id": "w02", "name": "2号窗口"}],
    "devices": {"kiosks": ["k1"], "displays": ["d1"], "operators": ["op1"]},
    "notice": None,
}


def presenter(now: datetime = START) -> MonitorPresenter:
    p = MonitorPresenter("op1", lambda: now)
    p.on_connection(True)
    p.on_catalog(CATALOG)
    return p


def queues(at: datetime, psb: int, tax: int, tax_reason: str | None = None) -> dict[str, Any]:
    return {
        "v": 1,
        "at": at.isoformat(),
        "services": {
            "psb-id-card": {"waiting": psb, "issued_today": psb + 3, "can_issue": True},
            "tax-invoice": {"waiting": tax, "issued_today": tax, "reason": tax_reason,
                            "can_issue": tax_reason is None},
        },
    }  # fmt: skip


def test_windows_show_state_clerk_ticket_and_since() -> None:
    p = presenter()
    p.on_window_state("w01", {"window": {"id": "w01"}, "status": "open",
                              "clerk": {"id": "c1", "name": "王芳"}, "since": "2026-12-07T09:03:00+08:00",
                              "ticket": {"number": "A007"}, "reason": None})  # fmt: skip
    p.on_window_state("w02", {"status": "paused", "reason": "系统维护", "since": None})
    rows = {w.id: w for w in p.view().windows}
    assert (rows["w01"].status_zh, rows["w01"].clerk, rows["w01"].ticket) == (
        "办理中",
        "王芳",
        "A007",
    )
    assert rows["w01"].since == "09:03"
    assert (rows["w02"].status_zh, rows["w02"].reason) == ("暂停", "系统维护")


def test_queue_history_is_one_sample_a_minute_over_the_last_four_hours() -> None:
    p = presenter()
    for minute in range(300):
        at = START + timedelta(minutes=minute, seconds=10)
        p.on_queues(queues(at, psb=minute, tax=1))
        p.on_queues(queues(at + timedelta(seconds=30), psb=minute + 1000, tax=1))  # same minute
    p.now = lambda: START + timedelta(minutes=299)
    psb = next(q for q in p.view().queues if q.code == "psb")
    assert len(psb.history) == HISTORY_MINUTES
    assert psb.history[-1] == 299 + 1000  # the newest value of a minute stands for it
    assert psb.history[0] == 60 + 1000


def test_a_gap_repeats_the_last_value_and_closed_services_say_why() -> None:
    p = presenter(START + timedelta(minutes=5))
    p.on_queues(queues(START, psb=4, tax=2))
    p.on_queues(queues(START + timedelta(minutes=3), psb=7, tax=0, tax_reason="closed"))
    rows = {q.code: q for q in p.view().queues}
    assert rows["psb"].history == [4, 4, 4, 7, 7, 7]
    assert rows["tax"].closed == ["发票领用（已停止取号）"]


def test_figures_from_stats_and_queues() -> None:
    p = presenter()
    p.on_queues(queues(START, psb=4, tax=2))
    p.on_stats({"services": {
        "psb-id-card": {"served": 3, "mean_service_s": 300, "rated": 2,
                        "ratings": {"1": 1, "2": 0, "3": 0, "4": 0, "5": 1}},
        "tax-invoice": {"served": 1, "mean_service_s": 60, "rated": 0, "ratings": {}}}})  # fmt: skip
    figures = dict(p.view().figures)
    assert figures["今日取号"] == "9" and figures["正在等候"] == "6" and figures["已办结"] == "4"
    assert figures["平均办理"] == "4.0 分钟"
    assert figures["满意率"] == "50%" and figures["不满意"] == "1"


def test_alarms_newest_first_with_ack_and_notes_and_the_banner() -> None:
    p = presenter()
    p.on_alarms({"v": 1, "at": "2026-12-07T09:05:00+08:00", "alarms": [
        {"id": "a2", "kind": "bad_rating", "severity": "warn", "subject": "20261207-A003",
         "text": "评价 非常不满意", "at": "2026-12-07T09:05:00+08:00", "cleared": False,
         "acked": None, "notes": []},
        {"id": "a1", "kind": "queue_long", "severity": "critical", "subject": "psb",
         "text": "等候 42 人", "at": "2026-12-07T09:01:00+08:00", "cleared": False,
         "acked": {"by": "op1", "at": "2026-12-07T09:02:00+08:00"},
         "notes": [{"by": "op1", "at": "2026-12-07T09:03:00+08:00", "text": "已加开窗口"}]},
    ]})  # fmt: skip
    view = p.view()
    assert [a.id for a in view.alarms] == ["a2", "a1"]
    assert view.alarms[0].closable and not view.alarms[1].closable
    assert view.alarms[1].subject == "公安局" and view.alarms[1].acked == "已确认 op1 09:02"
    assert view.alarms[1].notes == ["09:03 op1：已加开窗口"]
    assert "差评" in view.newest_alarm
    p.on_alarms(None)
    assert p.view().alarms == []


def test_devices_presence_and_health() -> None:
    p = presenter()
    p.on_presence("k1", True)
    p.on_health("k1", {"state": "paper_near_end", "at": "2026-12-07T09:04:00+08:00"})
    p.on_presence("d1", False)
    rows = {d.id: d for d in p.view().devices}
    assert rows["k1"].level == "warn" and "纸将用完" in rows["k1"].health
    assert rows["d1"].level == "bad" and rows["d1"].health.startswith("离线")
    p.on_presence("hall", False)
    assert "离线" in p.view().link


def test_forms_check_describe_and_ask_for_confirmation() -> None:
    p = presenter()
    close = p.prepare("service_close", {"service": "tax-invoice"})
    assert (close.op, close.fields) == ("service", {"open": False, "service": "tax-invoice"})
    assert close.confirm and "发票领用" in close.summary
    cap = p.prepare("service_cap", {"service": "psb-id-card", "cap": ""})
    assert cap.fields == {"service": "psb-id-card", "cap": None} and "取消" in cap.summary
    assert p.prepare("notice", {"text": ""}).fields == {"text": ""}
    with pytest.raises(FormError, match="整数"):
        p.prepare("service_cap", {"service": "psb-id-card", "cap": "-3"})
    with pytest.raises(FormError, match="业务"):
        p.prepare("service_close", {"service": "nope"})
    with pytest.raises(FormError, match="窗口"):
        p.prepare("force_logout", {"window": ""})
    assert all(form.explains and form.confirm for form in FORMS)  # every op reaches visitors


def test_cases_by_department_and_the_red_and_yellow_ones() -> None:
    """Time limits (issue 21): the retained `cases` as the room sees it, and the operator's close."""
    p = presenter()
    case = {"window": "w01", "clerk": "c1", "accepted": "2026-11-30", "service": "psb-id-card",
            "department": "psb"}  # fmt: skip
    p.on_cases({
        "v": 1, "at": START.isoformat(), "day": "2026-12-07", "warn_days": 1,
        "counts": {"ok": 1, "near": 1, "overdue": 1},
        "departments": {"psb": {"ok": 1, "near": 1, "overdue": 1},
                        "tax": {"ok": 0, "near": 0, "overdue": 0}},
        "cases": [
            {**case, "id": "20261130-A001", "number": "A001", "due": "2026-12-03",
             "state": "overdue", "days_left": -2},
            {**case, "id": "20261130-A002", "number": "A002", "due": "2026-12-07", "state": "near",
             "days_left": 0},
            {**case, "id": "20261130-A003", "number": "A003", "due": "2026-12-10", "state": "ok",
             "days_left": 3},
        ],
    })  # fmt: skip
    view = p.view()
    assert [(r.name, r.ok, r.near, r.overdue) for r in view.case_counts] == [
        ("公安局", 1, 1, 1), ("税务局", 0, 0, 0),
    ]  # fmt: skip
    assert [(c.number, c.state_zh, c.service, c.window) for c in view.late_cases] == [
        ("A001", "超期", "身份证", "1号窗口"), ("A002", "临期", "身份证", "1号窗口"),
    ]  # fmt: skip
    prepared = p.prepare("close_case", {"case": "20261130-A001", "note": "已电话通知领取"})
    assert (prepared.op, prepared.fields) == (
        "close_case", {"case": "20261130-A001", "note": "已电话通知领取"},
    )  # fmt: skip
    assert prepared.confirm and "20261130-A001" in prepared.summary
    # no note: none sent (the hall refuses an empty one)
    assert p.prepare("close_case", {"case": "20261130-A002"}).fields == {"case": "20261130-A002"}
