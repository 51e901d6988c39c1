"""The report's measures from the stored events, checked against a hand-computed day (with a
transfer across departments, a hold, a no-show, a cancellation and the rollover), and against the
live `stats` payload (hall/engine/stats.py) of the same day."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from hall.config.schema import parse_config
from hall.engine.measures import Measures
from hall.engine.model import (
    CallNext,
    Cancel,
    CloseCase,
    Finish,
    Hold,
    IssueTicket,
    Login,
    NoShow,
    Rate,
    Rollover,
    Start,
    TransferToService,
    Unhold,
)
from hall.engine.stats import stats
from hall.reports.read import read_events
from hall.store.store import StoreMismatch
from hall.tools.report_sample import Recorder, play_day
from tests.fixtures.hall_server import wait_for
from tests.fixtures.halls import CLERK_PIN, SITE, hall_time, rules_hall, small_hall

DAY1, DAY2 = date(2026, 11, 26), date(2026, 11, 27)


def at(hour: int, minute: int, day: int = 26) -> Any:
    return hall_time(hour, minute, day=day)


def issue(rec: Recorder, service: str, when: Any) -> str:
    outcome = rec.handle(IssueTicket("k1", service), when)
    assert outcome is not None
    ticket: str = outcome.result["ticket"]["id"]
    return ticket


def agree_with_stats(rec: Recorder, data: Path, day: date) -> None:
    """hall/engine/stats.py of the live day and the report's rows of that day give the same figures."""
    rec.flush()
    live = stats(rec.engine, at(23, 0, day.day))
    agree(live, Measures(rec.engine.config).feed_all(read_events(data, SITE, day, day)))


def agree(live: dict[str, Any], m: Measures) -> None:
    for dimension, plural in (("window", "windows"), ("clerk", "clerks"), ("service", "services")):
        rows = {r["key"]: r for r in m.rows(dimension)}
        for key, figures in live[plural].items():
            row = rows[key]
            assert figures["served"] == row["served"], (dimension, key)
            assert figures["mean_service_s"] == row["service_mean_s"], (dimension, key)
            assert figures["ratings"] == {str(s): row[f"rated_{s}"] for s in range(1, 6)}
            assert figures["rated"] == row["rated"]
            assert figures["good_share"] == row["good_rate"], (dimension, key)


def play_hand_day(rec: Recorder, data: Path) -> dict[str, str]:
    t: dict[str, str] = {}
    rec.handle(Rollover(), at(3, 30))
    rec.handle(Login("w02", "c0201"), at(9, 0))
    rec.handle(Login("w03", "c0301"), at(9, 0))
    rec.handle(Login("w01", "c0101", CLERK_PIN), at(9, 0))
    t["1"] = issue(rec, "psb-id-card", at(9, 0))
    t["2"] = issue(rec, "psb-id-card", at(9, 5))
    # t1: called at w02 after 10 min, started after 1, sent to tax (another department) at 9:15
    rec.handle(CallNext("w02"), at(9, 10))
    rec.handle(Start("w02"), at(9, 11))
    rec.handle(TransferToService("w02", "tax-invoice"), at(9, 15))
    # t2: called at 9:16 (waited 11 min), held at 9:17, called back 9:30, started 9:32, done 9:40
    rec.handle(CallNext("w02"), at(9, 16))
    rec.handle(Hold("w02"), at(9, 17))
    # t1 at tax: called 9:20 (not a first call: no second wait), started 9:21, done 9:25, rated 2
    rec.handle(CallNext("w03"), at(9, 20))
    rec.handle(Start("w03"), at(9, 21))
    rec.handle(Finish("w03"), at(9, 25))
    rec.handle(Rate("e03", t["1"], 2, ("等候时间长",)), at(9, 26))
    rec.handle(Unhold("w02", t["2"]), at(9, 30))
    rec.handle(Start("w02"), at(9, 32))
    rec.handle(Finish("w02"), at(9, 40))
    rec.handle(Rate("e02", t["2"], 5), at(9, 41))
    # t4: waited 30 min (over the 20-minute target), a no-show
    t["4"] = issue(rec, "psb-hukou", at(10, 0))
    rec.handle(CallNext("w01"), at(10, 30))
    rec.handle(NoShow("w01"), at(10, 32))
    # t5 cancelled by the operator; t6 never called: expired at the next rollover
    t["5"] = issue(rec, "psb-passport", at(10, 40))
    rec.handle(Cancel("op1", t["5"]), at(10, 50))
    t["6"] = issue(rec, "amr-license", at(11, 0))
    agree_with_stats(rec, data, DAY1)
    rec.handle(Rollover(), at(3, 30, 27))
    rec.handle(Login("w02", "c0201"), at(9, 0, 27))
    t["7"] = issue(rec, "psb-id-card", at(9, 0, 27))
    rec.handle(CallNext("w02"), at(9, 2, 27))
    rec.handle(Start("w02"), at(9, 3, 27))
    rec.handle(Finish("w02"), at(9, 13, 27))
    rec.handle(Rate("e02", t["7"], 4), at(9, 14, 27))
    agree_with_stats(rec, data, DAY2)
    rec.flush()
    return t


@pytest.fixture
def hand_day(tmp_path: Path) -> Measures:
    config = small_hall(target_wait_min=20)
    rec = Recorder(config, tmp_path)
    try:
        play_hand_day(rec, tmp_path)
        assert rec.refused == {}
    finally:
        rec.close()
    return Measures(config).feed_all(read_events(tmp_path, SITE, DAY1, DAY2))


def test_the_totals_of_the_hand_computed_days(hand_day: Measures) -> None:
    totals = hand_day.totals()
    assert {k: totals[k] for k in ("issued", "called", "served", "no_show", "transferred")} == {
        "issued": 6, "called": 5, "served": 3, "no_show": 1, "transferred": 1,
    }  # fmt: skip
    assert totals["cancelled"] == 1 and totals["expired"] == 1
    # waits 600, 660, 1800, 120 s; one over 20 minutes
    assert (totals["wait_mean_s"], totals["wait_median_s"], totals["wait_p90_s"]) == (
        795,
        630,
        1800,
    )
    assert totals["waited_over_target"] == 1 and totals["waited_over_share"] == 0.25
    # service 240 (t1 at tax), 480 (t2, held time excluded), 600 (t7)
    assert (totals["service_mean_s"], totals["service_median_s"], totals["service_p90_s"]) == (
        440, 480, 600,
    )  # fmt: skip
    # call -> start: 60 (t1 at w02), 60 (t1 at w03), 120 (t2 from its call-back), 60 (t7)
    assert (totals["call_to_start_mean_s"], totals["call_to_start_p90_s"]) == (75, 120)
    assert totals["call_to_start_median_s"] == 60
    assert totals["rated"] == 3 and totals["rated_2"] == 1 and totals["rated_5"] == 1
    assert (totals["rated_1"], totals["rated_3"], totals["rated_4"]) == (0, 0, 1)
    assert totals["good_rate"] == round(2 / 3, 4)


def test_each_dimension_of_the_hand_computed_days(hand_day: Measures) -> None:
    dep = {r["key"]: r for r in hand_day.rows("department")}
    assert (dep["psb"]["issued"], dep["psb"]["called"], dep["psb"]["served"]) == (5, 4, 2)
    assert (dep["psb"]["transferred"], dep["psb"]["no_show"], dep["psb"]["cancelled"]) == (1, 1, 1)
    assert (dep["tax"]["issued"], dep["tax"]["called"], dep["tax"]["served"]) == (0, 1, 1)
    assert dep["tax"]["service_mean_s"] == 240 and dep["tax"]["good_rate"] == 0.0
    assert dep["tax"]["wait_mean_s"] is None  # the transferred visitor's wait counts at psb
    assert (dep["amr"]["issued"], dep["amr"]["expired"]) == (1, 1)
    assert dep["psb"]["name"] == "公安局"
    day = {r["key"]: r for r in hand_day.rows("day")}
    assert (day["2026-11-26"]["issued"], day["2026-11-26"]["expired"]) == (5, 1)
    assert (day["2026-11-27"]["issued"], day["2026-11-27"]["served"]) == (1, 1)
    hour = {r["key"]: r for r in hand_day.rows("hour")}
    assert {key: row["issued"] for key, row in hour.items()} == {"09": 3, "10": 2, "11": 1}
    # 09: calls 9:10, 9:16, 9:20 (t1 at tax) and 9:02 on the 27th; finishes 9:25, 9:40, 9:13
    nine = hour["09"]
    assert (nine["called"], nine["served"], nine["rated"]) == (4, 3, 3)
    # waits by the hour of ARRIVAL: t1 600, t2 660, t7 120 came at 09; t4's 1800 at 10
    assert (nine["wait_mean_s"], nine["wait_median_s"], nine["wait_p90_s"]) == (460, 600, 660)
    assert (hour["10"]["wait_mean_s"], hour["10"]["waited_over_target"]) == (1800, 1)
    assert (hour["10"]["no_show"], hour["10"]["cancelled"], hour["11"]["expired"]) == (1, 1, 1)
    window = {r["key"]: r for r in hand_day.rows("window")}
    assert window["w02"]["served"] == 2 and window["w02"]["service_mean_s"] == 540
    assert window["w01"]["no_show"] == 1 and window["w01"]["waited_over_target"] == 1
    assert window["w04"]["served"] == 0  # every configured window has its row
    clerk = {r["key"]: r for r in hand_day.rows("clerk")}
    assert clerk["c0301"]["rated_2"] == 1 and clerk["c0201"]["rated"] == 2
    service = {r["key"]: r for r in hand_day.rows("service")}
    assert service["psb-id-card"]["transferred"] == 1 and service["tax-invoice"]["served"] == 1
    ratings = hand_day.ratings
    assert [(r.score, r.window, r.department) for r in ratings] == [
        (2, "w03", "tax"), (5, "w02", "psb"), (4, "w02", "psb"),
    ]  # fmt: skip
    assert ratings[0].reasons == ("等候时间长",) and ratings[0].number == "A001"


def test_a_department_report_is_that_departments_row(tmp_path: Path) -> None:
    """--department D counts what happened to tickets while they were D's: its totals are the
    department's row of the whole hall's report, measure for measure."""
    config = small_hall(target_wait_min=20)
    rec = Recorder(config, tmp_path)
    try:
        play_hand_day(rec, tmp_path)
    finally:
        rec.close()
    events = list(read_events(tmp_path, SITE, DAY1, DAY2))
    whole = {r["key"]: r for r in Measures(config).feed_all(events).rows("department")}
    for code, row in whole.items():
        alone = Measures(config, department=code).feed_all(events)
        assert {"key": code, "name": row["name"], **alone.totals()} == row, code
        assert {r["key"] for r in alone.rows("department")} <= {code}
    psb = Measures(config, department="psb").feed_all(events).totals()
    assert (psb["issued"], psb["called"], psb["served"], psb["transferred"]) == (5, 4, 2, 1)
    assert (psb["rated"], psb["good_rate"], psb["expired"]) == (2, 1.0, 0)


def test_one_day_leaves_out_the_others_but_keeps_its_expired(tmp_path: Path) -> None:
    config = small_hall()
    rec = Recorder(config, tmp_path)
    try:
        play_hand_day(rec, tmp_path)
    finally:
        rec.close()
    first = Measures(config).feed_all(read_events(tmp_path, SITE, DAY1, DAY1)).totals()
    assert (first["issued"], first["served"], first["expired"]) == (5, 2, 1)
    with pytest.raises(StoreMismatch):
        list(read_events(tmp_path, "another-hall", DAY1, DAY1))


def test_a_simulated_day_agrees_with_the_live_stats(tmp_path: Path) -> None:
    config = small_hall()
    rec = Recorder(config, tmp_path)
    try:
        play_day(rec, DAY1, visitors=200, seed=3)
        agree_with_stats(rec, tmp_path, DAY1)
    finally:
        rec.close()


def test_due_dates_follow_the_working_calendar() -> None:
    from hall.engine.cases import add_working_days, working_days_between

    calendar = rules_hall().calendar  # National Day week off; Sun 09-20 and Sat 10-10 worked
    assert add_working_days(calendar, date(2026, 9, 18), 1) == date(2026, 9, 20)
    assert add_working_days(calendar, date(2026, 9, 25), 3) == date(2026, 9, 30)
    assert add_working_days(calendar, date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert add_working_days(calendar, date(2026, 9, 30), 0) == date(2026, 9, 30)
    assert working_days_between(calendar, date(2026, 9, 30), date(2026, 10, 10)) == 3


def test_a_case_accepted_before_the_holiday_is_due_after_it(tmp_path: Path) -> None:
    from tests.fixtures.halls import ALWAYS_OPEN, NATIONAL_DAY_2026, small_hall_data

    data = small_hall_data()
    for service in data["services"]:
        if service["code"] == "psb-id-card":
            service["promised_days"] = 3  # psb-hukou stays 0: done on the spot
    data["calendar"] = {**ALWAYS_OPEN, "weekend": ["sat", "sun"], "years": [NATIONAL_DAY_2026]}
    config = parse_config(data, "cases_hall")
    rec = Recorder(config, tmp_path)
    wed = hall_time(9, 0, day=30).replace(month=9)
    try:
        rec.handle(Rollover(), wed.replace(hour=3))
        rec.handle(Login("w01", "c0101", CLERK_PIN), wed)
        for service in ("psb-id-card", "psb-hukou"):
            issue(rec, service, wed)
            rec.handle(CallNext("w01"), wed.replace(minute=5))
            rec.handle(Start("w01"), wed.replace(minute=6))
            rec.handle(Finish("w01"), wed.replace(minute=10))
        assert rec.refused == {}
    finally:
        rec.close()
    m = Measures(config).feed_all(read_events(tmp_path, SITE, wed.date(), wed.date()))
    assert m.on_the_spot == 1 and len(m.cases) == 1
    case = m.cases[0]
    assert (case.service, case.accepted, case.due) == (
        "psb-id-card", date(2026, 9, 30), date(2026, 10, 10),
    )  # fmt: skip
    assert m.case_states(date(2026, 10, 8)) == {"ok": 1, "near": 0, "overdue": 0, "closed": 0}
    assert m.case_states(date(2026, 10, 9)) == {"ok": 0, "near": 1, "overdue": 0, "closed": 0}
    assert m.case_states(date(2026, 10, 10))["near"] == 1
    assert m.case_states(date(2026, 10, 12))["overdue"] == 1


def test_a_report_reads_while_the_hall_writes_and_never_blocks_it(tmp_path: Path) -> None:
    """The reader's transaction is one commit's store; the writer commits meanwhile, unblocked."""
    config = small_hall()
    rec = Recorder(config, tmp_path)
    try:
        rec.handle(Rollover(), at(3, 30))
        for minute in range(3):
            issue(rec, "psb-id-card", at(9, minute))
        rec.flush()
        reading = read_events(tmp_path, SITE, DAY1, DAY1)
        first = next(reading)  # the read transaction is open from here
        issue(rec, "psb-id-card", at(9, 10))
        rec.flush()  # a write while the report reads: WAL lets it through at once
        seen = [first, *reading]
        assert sum(1 for _, e in seen if e["type"] == "ticket_issued") == 3
        after = list(read_events(tmp_path, SITE, DAY1, DAY1))
        assert sum(1 for _, e in after if e["type"] == "ticket_issued") == 4
    finally:
        rec.close()


def test_the_clerks_outcome_decides_over_the_promised_days(tmp_path: Path) -> None:
    import json

    from hall.engine.requests import RequestError, decode_request

    config = small_hall()  # every service promised in 0 days but tax-audit (5)
    body = {"v": 1, "id": "r1", "op": "finish", "outcome": "accepted"}
    request = decode_request(config, "window", "w01", json.dumps(body).encode())
    assert request.command == Finish("w01", "accepted")
    with pytest.raises(RequestError) as caught:
        decode_request(config, "window", "w01", json.dumps({**body, "outcome": "x"}).encode())
    assert caught.value.error.code == "invalid_request"
    rec = Recorder(config, tmp_path)
    try:
        rec.handle(Rollover(), at(3, 30))
        rec.handle(Login("w02", "c0201"), at(9, 0))
        for minute, outcome in ((1, "accepted"), (11, None), (21, "on_the_spot")):
            issue(rec, "psb-id-card", at(9, minute))
            rec.handle(CallNext("w02"), at(9, minute + 1))
            rec.handle(Finish("w02", outcome), at(9, minute + 5))
        assert rec.refused == {}
    finally:
        rec.close()
    m = Measures(config).feed_all(read_events(tmp_path, SITE, DAY1, DAY1))
    assert m.on_the_spot == 2 and len(m.cases) == 1
    assert m.cases[0].due == DAY1  # promised in 0 days: due the day it was accepted


def test_a_closed_case_counts_as_closed_from_the_day_it_was_closed(tmp_path: Path) -> None:
    """Reports count the cases closed (op close_case, event case_closed) in the period."""
    config = small_hall()  # tax-audit is promised in 5 days; psb-id-card in 0
    rec = Recorder(config, tmp_path)
    mon = hall_time(9, 0, day=23)
    try:
        rec.handle(Rollover(), mon.replace(hour=3))
        rec.handle(Login("w02", "c0201"), mon)
        for minute in (1, 11):
            issue(rec, "psb-id-card", mon.replace(minute=minute))
            rec.handle(CallNext("w02"), mon.replace(minute=minute + 1))
            rec.handle(Finish("w02", "accepted"), mon.replace(minute=minute + 5))
        first = "20261123-A001"
        rec.handle(CloseCase(first, operator="op1"), hall_time(10, 0, day=24))
        assert rec.refused == {}
    finally:
        rec.close()
    m = Measures(config).feed_all(read_events(tmp_path, SITE, mon.date(), date(2026, 11, 24)))
    assert len(m.cases) == 2
    assert m.case_states(date(2026, 11, 23)) == {"ok": 0, "near": 2, "overdue": 0, "closed": 0}
    assert m.case_states(date(2026, 11, 24)) == {"ok": 0, "near": 0, "overdue": 1, "closed": 1}


def test_the_report_agrees_with_the_retained_stats_and_reads_while_the_hall_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hall service (loopback bus) serves a morning; once `stats` went out after the last
    event, a report of the store the running hall keeps has the same figures; and while the
    report's read transaction is open the hall goes on answering and committing."""
    import json

    import hall.service.service
    from contract import topics
    from hall.store.clock import FixedClock
    from tests.fixtures.halls import MORNING, later
    from tests.hall.service.loopback_hall import LoopbackHall

    monkeypatch.setattr(hall.service.service, "CLOCK_INTERVAL", 0.2)  # `stats` rides with the clock
    config, data, clock = small_hall(), tmp_path / "data", FixedClock(MORNING)
    running = LoopbackHall(config, data, clock, queues_interval=0.3)
    try:
        kiosk, w02 = running.client("kiosk", "k1"), running.client("window", "w02")
        e02 = running.client("evaluator", "e02")
        w02.request("login", clerk="c0201")
        first, second, third = (
            kiosk.request("issue", service="psb-id-card")["ticket"]["id"] for _ in range(3)
        )
        steps: list[tuple[float, Any, str, dict[str, Any]]] = [
            (3, w02, "call_next", {}),
            (4, w02, "start", {}),
            (9, w02, "finish", {}),
            (9.5, e02, "rate", {"ticket": first, "score": 5}),
            (10, w02, "call_next", {}),
            (11, w02, "hold", {}),  # second held from 11 to 20
            (12, w02, "call_next", {}),
            (15, w02, "finish", {}),
            (15.5, e02, "rate", {"ticket": third, "score": 2, "reasons": ["等候时间长"]}),
            (20, w02, "unhold", {"ticket": second}),
            (23, w02, "finish", {}),
            (23.5, e02, "rate", {"ticket": second, "score": 4}),
        ]
        for minutes, client, op, fields in steps:
            clock.set(later(minutes))
            client.request(op, **fields)
        topic = topics.stats(running.site)

        def stats_after_the_last_event() -> bool:
            live = json.loads(running.broker.retained.get(topic, b"{}"))
            return bool(live) and live["windows"]["w02"]["rated"] == 3

        assert wait_for(stats_after_the_last_event)
        live = running.retained(topic)
        day = MORNING.date()
        m = Measures(config).feed_all(read_events(data, SITE, day, day))
        assert m.totals()["served"] == 3 and m.totals()["rated"] == 3
        agree(live, m)
        reading = read_events(data, SITE, day, day)
        seen = [next(reading)]  # the report's read transaction is open from here
        clock.set(later(30))
        kiosk.request("issue", service="psb-id-card", timeout=10)  # answered: the hall never waits
        assert running.service.wait_idle()
        seen += reading  # still the store as of the read's start
        assert sum(1 for _, e in seen if e["type"] == "ticket_issued") == 3
        after = Measures(config).feed_all(read_events(data, SITE, day, day)).totals()
        assert after["issued"] == 4
    finally:
        running.close()
