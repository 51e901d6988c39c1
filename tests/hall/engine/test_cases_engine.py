"""Open cases in the engine (issue 21, time limits): opened by a finish, due on the working
calendar, closed by a clerk or an operator, kept over the rollover, snapshots and replay."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from hall.config.schema import HallConfig, parse_config
from hall.engine.engine import Engine
from hall.engine.errors import HallError
from hall.engine.measures import Measures
from hall.engine.model import (
    CallNext,
    CaseClosed,
    CloseCase,
    Event,
    Finish,
    IssueTicket,
    Login,
    OpenCase,
    Rollover,
    TicketDone,
    event_from_dict,
    event_to_dict,
)
from hall.engine.requests import decode_request
from hall.tools.broker_config import PACKET_LIMIT
from tests.fixtures.halls import ZONE, rules_hall_data, small_hall
from tests.hall.engine.engine_checks import refused


def day(month: int, dom: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, dom, hour, minute, tzinfo=ZONE)


# Wednesday 2026-09-30, the eve of the National Day week (10-01..10-07 off, Saturday 10-10 a
# make-up working day): 4 working days later is 10-08, 10-09, 10-10 and (over Sunday) 10-12.
ACCEPTED = day(9, 30)
DUE = "2026-10-12"


def config(**limits: Any) -> HallConfig:
    data = rules_hall_data(**limits)
    for service in data["services"]:
        if service["code"] == "psb-hukou":
            service["promised_days"] = 4
    return parse_config(data, "cases_hall")


class Hall:
    """An engine and every event it made, for replay."""

    def __init__(self, cfg: HallConfig | None = None) -> None:
        self.engine = Engine(cfg or config())
        self.events: list[Event] = []

    def do(self, command: Any, now: datetime) -> dict[str, Any]:
        outcome = self.engine.handle(command, now)
        self.events.extend(outcome.events)
        return outcome.result

    def serve(self, service: str, outcome: str | None, now: datetime, window: str = "w01") -> str:
        """Issue, call and finish one ticket at `window` (logged in by c0201): its id."""
        ticket = self.do(IssueTicket("k1", service), now)["ticket"]["id"]
        if self.engine.state.windows[window].clerk is None:
            self.do(Login(window, "c0201"), now)
        self.do(CallNext(window), now)
        self.do(Finish(window, outcome), now)
        return str(ticket)


def test_a_finish_opens_a_case_due_over_the_holiday_and_the_weekend() -> None:
    hall = Hall()
    case_id = hall.serve("psb-hukou", None, ACCEPTED)  # no outcome: promised 4 days, a case
    hall.serve("psb-hukou", "on_the_spot", day(9, 30, 10, 5))  # the clerk's choice wins
    hall.serve("psb-id-card", None, day(9, 30, 10, 10))  # promised 0 days: done on the spot
    accepted_anyway = hall.serve("psb-id-card", "accepted", day(9, 30, 10, 15))
    cases = hall.engine.state.cases
    assert list(cases) == [case_id, accepted_anyway]
    case = cases[case_id]
    assert (case.number, case.service, case.department) == ("A001", "psb-hukou", "psb")
    assert (case.window, case.clerk, case.accepted, case.due) == ("w01", "c0201", "2026-09-30", DUE)
    assert cases[accepted_anyway].due == "2026-09-30"  # promised in 0 days: due the same day


@pytest.mark.parametrize(
    ("on", "state", "left"),
    [
        (day(10, 9), "ok", 2),  # Friday: Saturday (make-up) and Monday left
        (day(10, 10), "near", 1),
        (day(10, 11), "near", 1),  # Sunday: Monday left
        (day(10, 12), "near", 0),
        (day(10, 13), "overdue", -1),
    ],
)
def test_the_state_moves_with_the_calendar(on: datetime, state: str, left: int) -> None:
    hall = Hall()
    hall.serve("psb-hukou", None, ACCEPTED)
    message = hall.engine.cases(on)
    assert message["day"] == on.date().isoformat() and message["warn_days"] == 1
    (entry,) = message["cases"]
    assert (entry["state"], entry["days_left"], entry["due"]) == (state, left, DUE)
    assert message["counts"] == {"ok": 0, "near": 0, "overdue": 0, state: 1}
    assert message["departments"]["psb"] == message["counts"]
    assert message["departments"]["tax"] == {"ok": 0, "near": 0, "overdue": 0}


def test_the_yellow_threshold_is_a_limit_of_the_config() -> None:
    hall = Hall(config(case_warn_days=3))
    hall.serve("psb-hukou", None, ACCEPTED)
    assert hall.engine.cases(day(10, 8))["cases"][0]["state"] == "near"  # 3 working days left


def test_cases_outlive_the_rollover_a_snapshot_and_a_replay() -> None:
    hall = Hall()
    first = hall.serve("psb-hukou", "accepted", ACCEPTED)
    hall.do(Rollover(), day(10, 8, 9))  # a new business day: the tickets go, the case stays
    assert hall.engine.state.tickets == {} and list(hall.engine.state.cases) == [first]
    second = hall.serve("psb-hukou", "accepted", day(10, 8))
    hall.do(CloseCase(first, window="w01", note="已领证"), day(10, 8, 11))
    state = hall.engine.state
    assert state.cases[first].closed == "2026-10-08T11:00:00+08:00"
    assert [c["id"] for c in hall.engine.cases(day(10, 8))["cases"]] == [second]

    restored = Engine.restore(config(), json.loads(json.dumps(hall.engine.snapshot())))
    assert restored.state == state
    replayed = Engine(config())
    for event in hall.events:
        replayed.apply(event_from_dict(json.loads(json.dumps(event_to_dict(event)))))
    assert replayed.state == state

    hall.do(Rollover(), day(10, 9, 9))  # a case closed before today leaves the state
    assert list(hall.engine.state.cases) == [second]


def test_a_snapshot_from_before_cases_loads_with_none() -> None:
    hall = Hall()
    hall.serve("psb-hukou", None, ACCEPTED)
    old = hall.engine.snapshot()
    del old["cases"]
    assert Engine.restore(config(), old).state.cases == {}


def test_who_may_close_a_case_and_the_refusals() -> None:
    hall = Hall()
    case_id = hall.serve("psb-hukou", None, ACCEPTED)
    now = day(10, 8)
    engine = hall.engine
    # After the rollover nobody is logged in: a window closes only with a clerk at it.
    assert refused(engine, CloseCase(case_id, window="w01"), now) == "not_logged_in"
    hall.do(Login("w04", "c0401"), now)  # market regulation only: not psb's case
    assert refused(engine, CloseCase(case_id, window="w04"), now) == "forbidden"
    assert refused(engine, CloseCase("20260930-A999", window="w04"), now) == "unknown_case"
    assert refused(engine, CloseCase(case_id, operator="nobody"), now) == "unknown_device"
    hall.do(Login("w02", "c0201"), now)  # another window of psb (id cards) may close it
    result = hall.do(CloseCase(case_id, window="w02"), now)
    assert result["case"]["id"] == case_id and result["case"]["state"] == "ok"
    assert result["closed"] == "2026-10-08T10:00:00+08:00"
    (event,) = hall.events[-1:]
    assert event == CaseClosed("2026-10-08T10:00:00+08:00", case_id, "w02", "c0201", None)
    assert refused(engine, CloseCase(case_id, operator="op1"), now) == "case_closed"


def test_an_operator_closes_any_case() -> None:
    hall = Hall()
    case_id = hall.serve("psb-hukou", "accepted", ACCEPTED)
    result = hall.do(CloseCase(case_id, operator="op1", note="群众已领取"), day(10, 14))
    assert result["case"]["state"] == "overdue"  # as it was when closed
    assert hall.events[-1] == CaseClosed(
        "2026-10-14T10:00:00+08:00", case_id, None, None, "op1", "群众已领取"
    )


def test_close_case_requests_of_a_window_and_an_operator() -> None:
    cfg = config()
    body = {"v": 1, "id": "r1", "op": "close_case", "case": "20260930-A001", "note": "已领证"}
    raw = json.dumps(body).encode()
    assert decode_request(cfg, "window", "w01", raw).command == CloseCase(
        "20260930-A001", window="w01", note="已领证"
    )
    assert decode_request(cfg, "operator", "op1", raw).command == CloseCase(
        "20260930-A001", operator="op1", note="已领证"
    )


def test_the_list_is_cut_per_department_and_the_counts_are_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hall.engine.handlers import cases as handlers_cases

    monkeypatch.setattr(handlers_cases, "LISTED_PER_DEPARTMENT", 2)
    hall = Hall()
    ids = [hall.serve("psb-hukou", "accepted", day(9, 30, 10, m)) for m in range(4)]
    message = hall.engine.cases(day(10, 8))
    assert [c["id"] for c in message["cases"]] == ids[:2]  # the oldest of the same due date
    assert message["counts"]["ok"] == 4 and message["departments"]["psb"]["ok"] == 4


def test_the_due_date_is_in_the_event_so_a_later_config_moves_no_case() -> None:
    hall = Hall()
    case_id = hall.serve("psb-hukou", None, ACCEPTED)
    done = next(e for e in hall.events if isinstance(e, TicketDone))
    assert done.due == DUE
    later_config = rules_hall_data()  # psb-hukou back to 0 promised days
    replayed = Engine(parse_config(later_config, "changed"))
    for event in hall.events:
        replayed.apply(event)
    assert replayed.state.cases[case_id].due == DUE
    # An event stored before `due` existed is judged by the config of the replay.
    legacy = Engine(config(), None)
    for event in hall.events:
        data = event_to_dict(event)
        data.pop("due", None)
        legacy.apply(event_from_dict(data))
    assert legacy.state.cases[case_id].due == DUE


def report_of(events: list[dict[str, Any]]) -> Measures:
    """The reports of these events (those of a ticket: what hall/reports/read.py gives them)."""
    day = ACCEPTED.date().isoformat()
    return Measures(config()).feed_all((day, e) for e in events if "ticket" in e)


def test_a_finish_stored_as_no_case_stays_none_when_a_later_config_promises_days() -> None:
    """`due: null` is the hall's judgement (done on the spot): a replay under a config that now
    promises days opens no case, and the reports agree with the engine."""
    hall = Hall(parse_config(rules_hall_data(), "zero_days"))  # psb-hukou: 0 promised days
    hall.serve("psb-hukou", None, ACCEPTED)
    done = next(e for e in hall.events if isinstance(e, TicketDone))
    assert done.due is None and event_to_dict(done)["due"] is None
    stored = [event_from_dict(json.loads(json.dumps(event_to_dict(e)))) for e in hall.events]
    replayed = Engine(config())  # psb-hukou now promised in 4 days
    for event in stored:
        replayed.apply(event)
    assert replayed.state.cases == {}
    reports = report_of([event_to_dict(e) for e in stored])
    assert (reports.cases, reports.on_the_spot) == ([], 1)
    # An old event without the key is judged by the config, by the engine as by the reports.
    old = [{k: v for k, v in event_to_dict(e).items() if k != "due"} for e in hall.events]
    legacy = Engine(config())
    for data in old:
        legacy.apply(event_from_dict(data))
    assert event_to_dict(event_from_dict(old[-1])).keys() == old[-1].keys()  # stays absent
    reports = report_of(old)
    assert [c.ticket for c in reports.cases] == list(legacy.state.cases) != []


def wide_hall(departments: int) -> HallConfig:
    """rules_hall and `departments` more, each with one service, its codes as long as allowed."""
    data = rules_hall_data()
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for n in range(departments):
        code = f"d{n:03d}".ljust(64, "x")
        prefix = "Z" + letters[n // 26] + letters[n % 26]
        data["departments"].append(
            {"code": code, "name_zh": f"部门{n}", "name_en": f"D{n}", "prefix": prefix}
        )
        data["services"].append(
            {
                "code": code,
                "department": code,
                "name_zh": f"事项{n}",
                "avg_minutes": 5,
                "promised_days": 5,
            }
        )
    return parse_config(data, "wide_hall")


def test_the_list_is_capped_in_all_so_cases_stays_below_the_broker_packet_limit() -> None:
    """200 departments with 60 open cases each, every code as long as the config allows: the
    payload lists LISTED_MAX cases, the most urgent of all (the overdue first), counts them all,
    and stays below the broker's packet limit."""
    from hall.engine.handlers import cases as handlers_cases

    cfg = wide_hall(200)
    engine = Engine(cfg)
    long_id = "w" * 32
    for department in cfg.departments[-200:]:
        for n in range(60):
            accepted = f"2026-11-{1 + n % 28:02d}"
            case_id = f"{accepted.replace('-', '')}-{department.prefix}{n:06d}"
            engine.state.cases[case_id] = OpenCase(
                case_id, f"{department.prefix}{n:06d}", department.code, department.code,
                long_id, long_id, accepted, f"2026-12-{1 + n % 28:02d}",
            )  # fmt: skip
    message = engine.cases(datetime(2026, 12, 7, 10, tzinfo=ZONE))
    payload = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
    assert len(message["cases"]) == handlers_cases.LISTED_MAX == 1000
    assert len(payload) < PACKET_LIMIT / 2, len(payload)  # room for the codes to grow
    assert sum(message["counts"].values()) == 200 * 60
    states = [c["state"] for c in message["cases"]]
    assert states == sorted(states, key=["overdue", "near", "ok"].index)
    assert states[0] == "overdue" and message["cases"][0]["days_left"] <= -1


@pytest.mark.parametrize(
    ("on", "left"),
    [(day(10, 16), 0), (day(10, 17), -1), (day(10, 18), -1), (day(10, 19), -1), (day(10, 20), -2)],
)
def test_an_overdue_case_is_at_least_one_day_late_over_the_weekend(on: datetime, left: int) -> None:
    hall = Hall()
    hall.serve("psb-id-card", "accepted", day(10, 16))  # Friday, promised 0 days: due that day
    (entry,) = hall.engine.cases(on)["cases"]
    assert entry["days_left"] == left
    assert entry["state"] == ("near" if left == 0 else "overdue")


def test_the_counts_kept_as_cases_open_and_close_are_those_counted_afresh() -> None:
    """The index `cases` is built from, kept up to date by the appliers, across a refused command
    and the change of date, gives what an engine restored from a snapshot works out afresh."""
    hall = Hall()
    opened = [hall.serve("psb-hukou", "accepted", day(9, 30, 10, m)) for m in range(3)]
    hall.serve("psb-id-card", "accepted", day(9, 30, 11))

    def same(on: datetime) -> dict[str, Any]:
        fresh = Engine.restore(hall.engine.config, hall.engine.snapshot())
        message = hall.engine.cases(on)
        assert {**message, "at": ""} == {**fresh.cases(on), "at": ""}
        return message

    same(day(10, 8))  # builds the index
    hall.do(CloseCase(opened[1], operator="op1"), day(10, 8, 11))
    with pytest.raises(HallError):  # refused after the rollover it started: the state goes back
        hall.engine.handle(CloseCase(opened[1], operator="op1"), day(10, 9, 11))
    later = hall.serve("psb-hukou", "accepted", day(10, 9, 10, 30))
    message = same(day(10, 9))
    assert opened[1] not in [c["id"] for c in message["cases"]]
    assert later in [c["id"] for c in message["cases"]]
    same(day(10, 13))  # the date changed: overdue now


def test_a_finish_before_the_rollover_is_accepted_on_its_business_day() -> None:
    """01:00 on Friday, before the 03:00 rollover, is still Thursday's business day: the case is
    accepted then and due from then, in the engine (live and replayed from an old event without
    `due`) as in the reports."""
    hall = Hall(small_hall())
    case_id = hall.serve("psb-hukou", "accepted", datetime(2026, 11, 27, 1, 0, tzinfo=ZONE))
    case = hall.engine.state.cases[case_id]
    assert (case.accepted, case.due) == ("2026-11-26", "2026-11-26")  # promised 0 days
    legacy = Engine(small_hall())
    for event in hall.events:
        legacy.apply(event_from_dict({k: v for k, v in event_to_dict(event).items() if k != "due"}))
    assert legacy.state.cases == hall.engine.state.cases
    rows = [("2026-11-26", event_to_dict(e)) for e in hall.events]
    (reported,) = Measures(small_hall()).feed_all(r for r in rows if "ticket" in r[1]).cases
    assert (reported.accepted.isoformat(), reported.due.isoformat()) == (case.accepted, case.due)


def test_the_note_limit_is_one_constant_for_the_request_and_the_engine() -> None:
    from hall.engine.handlers.cases import NOTE_MAX
    from hall.engine.requests import RequestError

    hall = Hall()
    case_id = hall.serve("psb-hukou", "accepted", ACCEPTED)
    for note, fits in (("办" * NOTE_MAX, True), ("办" * (NOTE_MAX + 1), False)):
        body = {"v": 1, "id": "r1", "op": "close_case", "case": case_id, "note": note}
        raw = json.dumps(body).encode()
        if fits:
            assert decode_request(hall.engine.config, "operator", "op1", raw).command.note == note
            continue
        with pytest.raises(RequestError) as refused_request:
            decode_request(hall.engine.config, "operator", "op1", raw)
        assert refused_request.value.error.code == "invalid_request"
        with pytest.raises(HallError) as refused_command:
            hall.do(CloseCase(case_id, operator="op1", note=note), day(10, 8))
        assert refused_command.value.code == "invalid_request"
