"""The window terminal's presenter without a window: every state, every button, the keys, a double
press, a refusal, a lost answer, an outage and the way back, on an injected clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from terminal import texts
from terminal.presenter import TerminalPresenter

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=TZ)
CATALOG: dict[str, Any] = {
    "v": 1,
    "services": [
        {"code": "psb-id-card", "name_zh": "身份证办理"},
        {"code": "psb-hukou", "name_zh": "户口迁入"},
    ],
    "windows": [
        {"id": "w01", "name": "1号窗口", "services": ["psb-id-card", "psb-hukou"],
         "roster": [{"id": "c0101", "name": "张伟"}, {"id": "c0102", "name": "李娜"}]},
        {"id": "w02", "name": "2号窗口", "services": ["psb-id-card"], "roster": []},
    ],
}  # fmt: skip
SETTINGS = {"id": "w01", "roster": [{"id": "c0101", "pin": False}, {"id": "c0102", "pin": True}]}


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


def ticket(number: str = "A012", status: str = "called", recalls: int = 0) -> dict[str, Any]:
    return {
        "id": f"20261126-{number}",
        "number": number,
        "service": "psb-id-card",
        "status": status,
        "issued_at": (NOW - timedelta(minutes=17)).isoformat(),
        "recalls": recalls,
    }


def state(status: str = "open", current: dict[str, Any] | None = None, held: list[Any] | None = None,
          clerk: bool = True, reason: str | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "v": 1,
        "window": {"id": "w01", "name": "1号窗口", "area": ""},
        "status": "closed" if not clerk else status,
        "clerk": {"id": "c0101", "name": "张伟"} if clerk else None,
        "ticket": current,
        "held": held or [],
        "since": NOW.isoformat(),
        "reason": reason,
    }


def presenter(window_state: dict[str, Any] | None = None) -> tuple[TerminalPresenter, Port, Clock]:
    port, clock = Port(), Clock()
    p = TerminalPresenter("w01", port, clock)
    p.on_settings(SETTINGS)
    p.on_catalog(CATALOG)
    p.on_link(True, True)
    p.on_window_state(window_state or state(clerk=False))
    return p, port, clock


def enabled(p: TerminalPresenter) -> set[str]:
    return {b.op for b in p.view().buttons if b.enabled}


ALWAYS = {"call_next", "call", "logout"}
CASES = {
    "open, no ticket": (state(), ALWAYS | {"pause"}),
    "open, no ticket, one held": (state(held=[ticket("A003", "held")]), ALWAYS | {"pause", "unhold"}),
    "called": (state(current=ticket()),
               ALWAYS | {"recall", "start", "finish", "no_show", "transfer", "hold"}),
    "serving": (state(current=ticket(status="serving")), ALWAYS | {"finish", "transfer", "hold"}),
    "serving, one held": (state(current=ticket(status="serving"), held=[ticket("A003", "held")]),
                          ALWAYS | {"finish", "transfer", "hold", "unhold"}),
    "paused": (state("paused", reason="会议"), {"resume", "logout"}),
    "logged out": (state(clerk=False), set()),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_the_buttons_enabled_in_each_state(case: str) -> None:
    window_state, expected = CASES[case]
    p, _, _ = presenter(window_state)
    assert enabled(p) == expected
    view = p.view()
    assert view.screen == ("login" if case == "logged out" else "work")
    # Every button shows its F-key, in order F1..F12.
    assert [b.key for b in view.buttons] == [f"F{i}" for i in range(1, 13)]


def test_each_disabled_button_and_its_key_do_nothing() -> None:
    for window_state, expected in CASES.values():
        p, port, _ = presenter(window_state)
        for button in p.view().buttons:
            if button.op not in expected:
                p.press(button.op)
                p.key(button.key)
        assert port.sent == [] and p.panel is None


@pytest.mark.parametrize("op", ["call_next", "recall", "start", "finish", "no_show", "hold", "resume", "logout"])  # fmt: skip
def test_each_direct_op_sends_once_by_button_and_by_key(op: str) -> None:
    start = state("paused") if op == "resume" else state(current=ticket())
    for how in ("press", "key"):
        p, port, _ = presenter(start)
        if how == "press":
            p.press(op)
        else:
            p.key(texts.ACTIONS[op][0])
        assert port.sent == [(op, {})]
        assert p.view().busy


def test_a_double_press_never_sends_twice_and_the_answer_frees_the_buttons() -> None:
    p, port, _ = presenter(state())
    p.press("call_next")
    p.press("call_next")
    p.key("F1")
    assert port.sent == [("call_next", {})]
    answer = {"window": state(current=ticket("A013")), "ticket": ticket("A013")}
    p.on_answer("call_next", True, answer, "")
    assert not p.view().busy and p.view().ticket is not None
    assert p.view().ticket.number == "A013"  # type: ignore[union-attr]
    p.press("call_next")
    assert len(port.sent) == 2


def test_the_current_ticket_as_drawn() -> None:
    p, _, clock = presenter(state(current=ticket(recalls=2)))
    shown = p.view().ticket
    assert shown is not None
    assert (shown.number, shown.service, shown.waited_min, shown.calls) == (
        "A012",
        "身份证办理",
        17,
        3,
    )
    assert shown.status_text == texts.TICKET_STATUS["called"]
    clock.at += timedelta(minutes=3)
    assert p.view().ticket.waited_min == 20  # type: ignore[union-attr]


def test_call_a_number_by_keys_and_by_the_picker() -> None:
    p, port, _ = presenter(state())
    p.key("F3")
    assert p.view().panel == "call"
    for char in "a01!2":  # ! is no number character
        p.key(char)
    p.key("backspace")
    p.key("2")
    assert p.view().typed == "A012"
    p.key("enter")
    assert port.sent == [("call", {"number": "A012"})]
    p.on_answer("call", False, None, "unknown_ticket")
    assert p.view().message == texts.ERRORS["unknown_ticket"]
    assert p.view().panel == "call"  # the clerk can correct the number


def test_transfer_to_a_window_or_a_service_from_the_lists() -> None:
    p, port, _ = presenter(state(current=ticket()))
    p.press("transfer")
    labels = [c.label for c in p.view().choices]
    assert labels == ["转至窗口：2号窗口", "转至业务：户口迁入"]  # not itself, not its own service
    p.choose(p.view().choices[0])
    assert port.sent == [("transfer", {"window": "w02"})]
    p.on_answer("transfer", True, {"window": state()}, "")
    assert p.view().panel is None and p.view().ticket is None


def test_hold_then_call_back_from_the_held_list() -> None:
    p, port, _ = presenter(state(current=ticket()))
    p.press("hold")
    p.on_answer("hold", True, {"window": state(held=[ticket("A012", "held")])}, "")
    assert p.view().held == ["A012"]
    p.key("F9")
    assert [c.label for c in p.view().choices] == ["A012  身份证办理"]
    p.choose(p.view().choices[0])
    assert port.sent[-1] == ("unhold", {"ticket": "20261126-A012"})


def test_pause_with_a_reason_from_the_list_or_typed_then_resume() -> None:
    p, port, _ = presenter(state())
    p.key("F10")
    assert [c.label for c in p.view().choices] == list(texts.PAUSE_REASONS)
    p.choose(p.view().choices[3])
    assert port.sent == [("pause", {"reason": texts.PAUSE_REASONS[3]})]
    p.on_answer("pause", True, {"window": state("paused", reason="会议")}, "")
    assert enabled(p) == {"resume", "logout"} and p.view().reason == "会议"
    p2, port2, _ = presenter(state())
    p2.press("pause")
    for char in "培训":
        p2.key(char)
    p2.key("enter")
    assert port2.sent == [("pause", {"reason": "培训"})]
    p.key("F11")
    assert port.sent[-1] == ("resume", {})


def test_escape_closes_a_picker() -> None:
    p, port, _ = presenter(state(current=ticket()))
    p.key("F7")
    p.key("escape")
    assert p.view().panel is None and port.sent == []


def test_login_without_and_with_a_pin_then_logout() -> None:
    p, port, _ = presenter()
    view = p.view()
    assert view.screen == "login"
    assert view.roster == [("c0101", "张伟", False), ("c0102", "李娜", True)]
    p.key("F1")  # no F-key works before login
    assert port.sent == []
    p.select_clerk("c0102")  # needs a PIN: nothing is sent yet
    assert port.sent == []
    for digit in "2468":
        p.key(digit)
    assert p.view().pin_masked == "●●●●"
    p.key("enter")
    assert port.sent == [("login", {"clerk": "c0102", "pin": "2468"})]
    p.on_answer("login", False, None, "wrong_pin")
    assert p.view().message == texts.ERRORS["wrong_pin"] and p.view().pin_masked == ""
    p.key("escape")
    p.select_clerk("c0101")  # no PIN: logs in at once
    assert port.sent[-1] == ("login", {"clerk": "c0101"})
    p.on_answer("login", True, {"window": state()}, "")
    assert p.view().screen == "work" and p.view().clerk == "张伟"
    p.key("F12")
    assert port.sent[-1] == ("logout", {})
    p.on_answer("logout", True, {"window": state(clerk=False)}, "")
    assert p.view().screen == "login"


def test_a_clerk_the_settings_do_not_know_is_asked_for_a_pin() -> None:
    p, _, _ = presenter()
    p.on_settings({"id": "w01", "roster": []})
    assert all(pin for _, _, pin in p.view().roster)


def test_an_outage_is_shown_at_once_and_the_hall_state_comes_back() -> None:
    p, port, _ = presenter(state(current=ticket()))
    p.on_link(False, True)
    view = p.view()
    assert view.banner == texts.OFFLINE and not view.online and enabled(p) == set()
    p.key("F1")
    assert port.sent == []
    p.on_link(True, False)
    assert p.view().banner == texts.HALL_OFFLINE and enabled(p) == set()
    # Back: the retained state (here: another terminal finished the ticket meanwhile) rules.
    p.on_link(True, True)
    p.on_window_state(state())
    assert p.view().banner == "" and p.view().ticket is None and "call_next" in enabled(p)


def test_a_lost_answer_frees_the_buttons_with_a_message() -> None:
    p, port, clock = presenter(state())
    p.press("call_next")
    p.on_answer("call_next", False, None, "timeout")
    assert p.view().message == texts.ERRORS["timeout"] and not p.view().busy
    # An answer the link never reported: after 30 s of the clock the buttons are free again.
    p.press("call_next")
    clock.at += timedelta(seconds=10)
    p.tick()
    assert p.view().busy
    clock.at += timedelta(seconds=25)
    p.tick()
    assert not p.view().busy
    assert [op for op, _ in port.sent] == ["call_next", "call_next"]


def test_queues_and_the_clerks_day_from_queues_and_stats() -> None:
    p, _, _ = presenter(state())
    assert p.view().day is None
    p.on_queues({"v": 1, "services": {"psb-id-card": {"waiting": 7, "longest_wait_min": 23},
                                      "psb-hukou": {"waiting": 2}}})  # fmt: skip
    rows = p.view().queues
    assert [(r.service, r.waiting, r.longest_wait_min) for r in rows] == [
        ("身份证办理", 7, 23),
        ("户口迁入", 2, None),  # a hall without longest_wait_min yet
    ]
    p.on_stats({"v": 1, "clerks": {"c0101": {"served": 12, "mean_service_s": 450,
        "ratings": {"1": 0, "2": 1, "3": 0, "4": 2, "5": 8}, "good_share": 0.9091}}})  # fmt: skip
    day = p.view().day
    assert day is not None
    assert (day.served, day.mean_min, day.ratings[5], day.good_share) == (12, 7.5, 8, 0.9091)


def test_a_state_that_changes_what_is_drawn_is_counted() -> None:
    p, _, _ = presenter(state())
    before = p.shown_at_change
    p.on_window_state(state())
    assert p.shown_at_change == before
    p.on_window_state(state(current=ticket()))
    assert p.shown_at_change == before + 1


def test_the_demo_clerk_plays_the_terminal_through_the_presenter() -> None:
    from terminal.autoplay import AutoClerk

    p, port, _ = presenter()
    clerk = AutoClerk(p)
    clerk.step()  # logs in as the roster's first clerk without a PIN
    assert port.sent == [("login", {"clerk": "c0101"})]
    assert clerk.step() == 2.0  # waits for the answer: never a second press
    p.on_answer("login", True, {"window": state()}, "")
    clerk.step()
    p.on_answer("call_next", True, {"window": state(current=ticket())}, "")
    clerk.step()
    p.on_answer("start", True, {"window": state(current=ticket(status="serving"))}, "")
    clerk.step()
    p.on_answer("finish", True, {"window": state()}, "")
    clerk.step()
    p.on_answer("call_next", False, None, "queue_empty")
    assert [op for op, _ in port.sent] == ["login", "call_next", "start", "finish", "call_next"]


def test_a_press_after_no_answer_goes_out_under_the_same_id() -> None:
    p, port, _ = presenter(state())
    p.press("call_next")
    p.on_answer("call_next", False, None, "timeout")  # the hall may have called A013
    p.on_window_state(state(current=ticket("A013")))  # ... it did: its retained state says so
    p.press("call_next")
    assert port.ids[1] == port.ids[0]  # the hall answers from its store: no second ticket
    stale = {"window": state(current=ticket("A013"))}
    p.on_answer("call_next", True, stale, "")
    p.press("call_next")  # answered: the next press is a new request
    assert port.ids[2] != port.ids[1]
    p.on_answer("call_next", False, None, "queue_empty")
    p.press("call_next")
    assert len(set(port.ids)) == 3  # a refusal is an answer: a new id
    assert all(port.ids)


def test_another_op_after_no_answer_is_a_new_request() -> None:
    p, port, _ = presenter(state(current=ticket()))
    p.press("start")
    p.on_answer("start", False, None, "timeout")
    p.press("finish")
    assert port.ids[0] != port.ids[1]


def test_the_keypad_letters_are_the_halls_prefixes() -> None:
    p, _, _ = presenter(state())
    p.on_catalog({**CATALOG, "departments": [{"prefix": "A"}, {"prefix": "AN"}, {"prefix": "C"}]})
    assert p.view().letters == "ACN"


# -- time limits (issue 21): 即办 or 受理 at the finish, and the window's open cases ---------------

CASE_CATALOG: dict[str, Any] = {
    **CATALOG,
    "services": [
        {"code": "psb-id-card", "department": "psb", "name_zh": "身份证办理", "promised_days": 0},
        {"code": "psb-hukou", "department": "psb", "name_zh": "户口迁入", "promised_days": 5},
        {"code": "tax-audit", "department": "tax", "name_zh": "税务稽查", "promised_days": 5},
    ],
}


def case(number: str, state: str, due: str, left: int, department: str = "psb") -> dict[str, Any]:
    service = "psb-hukou" if department == "psb" else "tax-audit"
    return {"id": f"20261120-{number}", "number": number, "service": service,
            "department": department, "window": "w01", "clerk": "c0101", "accepted": "2026-11-20",
            "due": due, "state": state, "days_left": left}  # fmt: skip


CASES_MESSAGE = {
    "v": 1, "at": NOW.isoformat(), "day": "2026-11-26", "warn_days": 1,
    "departments": {"psb": {"ok": 1, "near": 1, "overdue": 1},
                    "tax": {"ok": 0, "near": 1, "overdue": 0}},
    "cases": [case("A003", "overdue", "2026-11-24", -2), case("B001", "near", "2026-11-26", 0, "tax"),
              case("A007", "near", "2026-11-27", 1), case("A009", "ok", "2026-12-03", 5)],
}  # fmt: skip


def test_finish_of_a_service_with_a_promised_time_asks_on_the_spot_or_accepted() -> None:
    p, port, _ = presenter(state(current={**ticket(status="serving"), "service": "psb-hukou"}))
    p.on_catalog(CASE_CATALOG)
    p.press("finish")
    assert port.sent == [] and p.view().panel == "finish"
    labels = [c.label for c in p.view().choices]
    assert labels == [texts.FINISH_ON_THE_SPOT, "受理：5个工作日内办结"]
    p.choose(p.view().choices[1])
    assert port.sent == [("finish", {"outcome": "accepted"})]


def test_finish_of_a_service_done_on_the_spot_sends_at_once() -> None:
    p, port, _ = presenter(state(current=ticket(status="serving")))  # psb-id-card: 0 days
    p.on_catalog(CASE_CATALOG)
    p.key("F5")
    assert port.sent == [("finish", {})] and p.view().panel is None


def test_the_windows_open_cases_most_urgent_first_and_closing_one() -> None:
    p, port, _ = presenter(state())
    p.on_catalog(CASE_CATALOG)
    assert p.view().cases == [] and not p.enabled("close_case")
    p.on_cases(CASES_MESSAGE)
    view = p.view()  # w01 serves psb only: tax's case is not its to close
    assert [(c.number, c.state_text, c.days_left) for c in view.cases] == [
        ("A003", "超期", -2), ("A007", "临期", 1), ("A009", "正常", 5),
    ]  # fmt: skip
    assert view.case_counts == {"ok": 1, "near": 1, "overdue": 1}
    p.press("close_case")
    choices = p.view().choices
    assert choices[0].label == "A003 户口迁入  11-20受理 · 11-24到期  超期"
    p.choose(choices[0])  # the first press marks it: 办结 cannot be undone
    assert port.sent == [] and p.view().choices[0].label.startswith(texts.CLOSE_CONFIRM)
    p.choose(p.view().choices[0])
    assert port.sent == [("close_case", {"case": "20261120-A003"})]
    p.on_answer("close_case", True, {"case": CASES_MESSAGE["cases"][0]}, "ok")
    assert p.view().panel is None
    # gone at once, before the hall's next `cases` (at most 2 s later)
    assert [c.number for c in p.view().cases] == ["A007", "A009"]
    assert p.view().case_counts == {"ok": 1, "near": 1, "overdue": 0}  # the counts too
    p.on_cases(CASES_MESSAGE)  # a `cases` from before the close: still not counted
    assert p.view().case_counts == {"ok": 1, "near": 1, "overdue": 0}
    counted = {**CASES_MESSAGE["departments"], "psb": {"ok": 1, "near": 1, "overdue": 0}}
    p.on_cases({**CASES_MESSAGE, "departments": counted, "cases": CASES_MESSAGE["cases"][1:]})
    assert p.closed_here == set() and len(p.view().cases) == 2
    assert p.view().case_counts == {"ok": 1, "near": 1, "overdue": 0}  # not taken off twice


def test_cases_are_closed_while_paused_and_a_refusal_is_said() -> None:
    p, port, _ = presenter(state("paused", reason="会议"))
    p.on_catalog(CASE_CATALOG)
    p.on_cases(CASES_MESSAGE)
    assert p.enabled("close_case") and not p.enabled("call_next")
    p.press("close_case")
    p.choose(p.view().choices[1])
    p.choose(p.view().choices[1])
    assert port.sent == [("close_case", {"case": "20261120-A007"})]
    p.on_answer("close_case", False, None, "case_closed")
    assert p.view().message == "该件已办结"
    p.on_cases({**CASES_MESSAGE, "cases": []})  # the last one closed: the list goes away
    assert p.view().panel is None and not p.enabled("close_case")


def test_the_demo_clerk_accepts_a_case_for_a_service_with_a_promised_time() -> None:
    from terminal.autoplay import AutoClerk

    p, port, _ = presenter(state(current={**ticket(status="serving"), "service": "psb-hukou"}))
    p.on_catalog(CASE_CATALOG)
    clerk = AutoClerk(p)
    clerk.step()  # F5 opens the choice
    clerk.step()  # and it takes 受理
    assert port.sent == [("finish", {"outcome": "accepted"})]
