"""The kiosk presenter on an injected clock: what a visitor sees and what each tap does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from kiosk.presenter import KioskPresenter
from kiosk.texts import LANGUAGES, TEXTS

CATALOG: dict[str, Any] = {
    "v": 1,
    "site": {"id": "t", "name": "测试大厅", "name_en": "Test hall"},
    "departments": [
        {"code": "psb", "name_zh": "公安局", "name_en": "Public Security", "prefix": "A"},
        {"code": "tax", "name_zh": "税务局", "name_en": "Taxation", "prefix": "B"},
    ],
    "services": [
        {"code": "psb-hukou", "department": "psb", "name_zh": "户口迁入", "name_en": "Move-in"},
        {"code": "psb-id", "department": "psb", "name_zh": "身份证", "name_en": "ID card"},
        {
            "code": "tax-audit",
            "department": "tax",
            "name_zh": "税务稽查",
            "needs_appointment": True,
        },
        {"code": "tax-invoice", "department": "tax", "name_zh": "发票领用"},
    ],
    "windows": [
        {"id": "w01", "no": 1, "name": "1号窗口", "services": ["psb-hukou", "psb-id"]},
        {"id": "w02", "no": 2, "name": "2号窗口", "services": ["psb-hukou"]},
    ],
}
QUEUES: dict[str, Any] = {
    "at": "2026-11-26T10:00:00+08:00",
    "services": {
        "psb-hukou": {"waiting": 3, "est_wait_min": 12, "can_issue": True, "reason": None},
        "psb-id": {"waiting": 0, "est_wait_min": 0, "can_issue": False, "reason": "closed"},
        "tax-audit": {
            "waiting": 0,
            "est_wait_min": 0,
            "can_issue": False,
            "reason": "appointment_only",
        },
        "tax-invoice": {
            "waiting": 1,
            "est_wait_min": 5,
            "can_issue": False,
            "reason": "outside_hours",
            "next_open": "2026-11-26T14:00:00+08:00",
        },
    },
}
TICKET = {
    "id": "20261126-A004",
    "number": "A004",
    "service": "psb-hukou",
    "ahead": 3,
    "est_wait_min": 12,
}


@dataclass
class Port:
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def issue(
        self, service: str | None, category: str | None, appointment: str | None, lang: str
    ) -> None:
        self.calls.append(("issue", (service, category, appointment, lang)))

    def print_ticket(self, ticket: Any, lang: str) -> None:
        self.calls.append(("print", ticket["id"]))

    def reprint(self, ticket_id: str) -> None:
        self.calls.append(("reprint", ticket_id))

    def call_help(self) -> None:
        self.calls.append(("help", None))

    def speak(self, phrase: str, lang: str, number: str = "") -> None:
        self.calls.append(("speak", (phrase, number)))

    def of(self, kind: str) -> list[Any]:
        return [value for k, value in self.calls if k == kind]


def kiosk(allow_priority: bool = False) -> tuple[KioskPresenter, Port]:
    port = Port()
    presenter = KioskPresenter(port, allow_priority=allow_priority)
    presenter.on_catalog(CATALOG)
    presenter.on_queues(QUEUES)
    presenter.on_link(True, True)
    presenter.on_printer("ready")
    presenter.tick(0.0)
    return presenter, port


def test_home_shows_departments_with_their_queues() -> None:
    k, _ = kiosk()
    view = k.view()
    assert view.screen == "home" and view.title == "测试大厅"
    psb = view.tiles[0]
    assert (psb.name, psb.waiting, psb.wait, psb.can_issue) == (
        "公安局",
        "等候 3 人",
        "约 12 分钟",
        True,
    )


def test_a_department_lists_each_services_state_before_the_tap() -> None:
    k, _ = kiosk()
    k.tap_department("tax")
    states = {t.code: t.state for t in k.view().tiles}
    assert states == {"tax-audit": "需预约办理", "tax-invoice": "14:00 开始办理"}
    k.home()
    k.tap_department("psb")
    assert {t.code: t.state for t in k.view().tiles}["psb-id"] == "暂停办理"


def test_one_tap_one_ticket_then_the_ticket_screen_then_home() -> None:
    k, port = kiosk()
    k.tap_department("psb")
    k.tap_service("psb-hukou")
    k.tap_service("psb-hukou")  # a double tap while issuing: nothing
    k.tap_department("tax")
    assert port.of("issue") == [("psb-hukou", None, None, "zh")]
    assert k.view().screen == "issuing"
    k.on_issue_answer(True, {"ticket": TICKET})
    view = k.view()
    assert view.screen == "ticket" and view.ticket is not None
    assert view.ticket.number == "A004"
    assert view.ticket.windows == "请到 1-2号窗口 办理"
    assert view.ticket.ahead == "前面还有 3 人"
    assert port.of("print") == ["20261126-A004"]
    assert ("ticket_issued", "A004") in port.of("speak")
    k.tick(11.0)
    assert k.view().screen == "ticket"
    k.tick(12.5)
    assert k.view().screen == "home"


def test_no_ticket_is_asked_for_when_the_hall_or_the_printer_cannot_deliver() -> None:
    k, port = kiosk()
    k.on_link(True, False)  # the hall is offline
    k.tap_department("psb")
    k.tap_service("psb-hukou")
    assert port.of("issue") == [] and "其他取号机" in k.view().message
    assert k.view().blocked
    k.on_link(True, True)
    k.on_printer("paper_out")
    k.tap_service("psb-hukou")
    assert port.of("issue") == [] and "打印机" in k.view().message
    k.on_printer("paper_near_end")  # a warning for the staff, not a stop
    k.tap_service("psb-hukou")
    assert len(port.of("issue")) == 1


def test_a_closed_service_is_not_issued_and_says_why() -> None:
    k, port = kiosk()
    k.tap_department("psb")
    k.tap_service("psb-id")
    assert port.of("issue") == [] and k.view().message == "暂停办理"


def test_priority_is_offered_where_the_kiosk_allows_it() -> None:
    k, port = kiosk(allow_priority=True)
    k.tap_department("psb")
    k.tap_service("psb-hukou")
    assert k.view().screen == "priority"
    k.choose_priority("astronaut")  # not a category: nothing
    assert port.of("issue") == []
    k.choose_priority("elderly")
    assert port.of("issue") == [("psb-hukou", "elderly", None, "zh")]


def test_a_service_that_needs_a_booking_asks_for_the_code() -> None:
    k, port = kiosk()
    k.tap_department("tax")
    k.tap_service("tax-audit")
    assert k.view().screen == "booking"
    k.submit_booking()  # no code yet: nothing
    for key in "BK42":
        k.type_booking(key)
    k.submit_booking()
    assert port.of("issue") == [("tax-audit", None, "BK42", "zh")]
    k.on_issue_answer(False, None, "unknown_booking")
    assert k.view().screen == "home" and "预约码不存在" in k.view().message


def test_a_failed_print_keeps_the_number_on_screen_and_reprints_when_the_printer_is_back() -> None:
    k, port = kiosk()
    k.tap_department("psb")
    k.tap_service("psb-hukou")
    k.on_issue_answer(True, {"ticket": TICKET})
    k.on_print_result("20261126-A004", ok=False)
    view = k.view()
    assert view.ticket is not None and view.ticket.print_failed and view.ticket.number == "A004"
    k.tick(20.0)
    assert k.view().screen == "ticket"  # stays longer than a printed one
    k.on_printer("paper_out")
    assert port.of("reprint") == []
    k.on_printer("ready")
    assert port.of("reprint") == ["20261126-A004"]
    k.on_printer("ready")
    assert port.of("reprint") == ["20261126-A004"]  # once


def test_an_expired_issue_says_no_ticket_was_issued() -> None:
    k, _ = kiosk()
    k.tap_department("psb")
    k.tap_service("psb-hukou")
    k.on_issue_answer(False, None, "expired")
    assert k.view().screen == "home" and "未出号" in k.view().message


def test_idle_returns_home_but_not_while_issuing() -> None:
    k, _ = kiosk()
    k.tap_department("psb")
    k.tick(59.0)
    assert k.view().screen == "department"
    k.tick(61.0)
    assert k.view().screen == "home"
    k.tap_department("psb")
    k.tap_service("psb-hukou")
    k.tick(500.0)
    assert k.view().screen == "issuing"


def test_large_type_language_search_and_help_from_any_screen() -> None:
    k, port = kiosk()
    k.tap_department("psb")
    k.toggle_large()
    k.toggle_language()
    view = k.view()
    assert view.large and view.language == "en" and view.prompt == "Public Security"
    assert view.tiles[0].waiting == "3 waiting"
    k.open_search()
    for key in "hkqr":
        k.type_search(key)
    assert [t.code for t in k.view().tiles] == ["psb-hukou"]
    k.tap_help()
    assert port.of("help") == [None] and "Staff" in k.view().message


def test_paging_stays_in_range() -> None:
    k, _ = kiosk()
    k.page_size = 1
    k.next_page(5)
    assert k.view().page == 1 and k.view().pages == 2
    k.next_page(-9)
    assert k.view().page == 0


@pytest.mark.parametrize("key", sorted(TEXTS))
def test_every_text_has_every_language(key: str) -> None:
    assert all(TEXTS[key].get(language) for language in LANGUAGES)


def test_windows_read_as_short_runs() -> None:
    from kiosk.presenter import _runs

    assert _runs([1, 2, 3, 4, 7, 9, 10]) == ["1-4", "7", "9-10"]
    assert _runs([]) == []


def test_the_next_opening_names_its_day_when_it_is_not_today() -> None:
    from kiosk.presenter import _clock_text

    assert _clock_text("2026-11-26T14:00:00+08:00", "2026-11-26T10:00:00+08:00") == "14:00"
    assert _clock_text("2026-11-27T09:00:00+08:00", "2026-11-26T10:00:00+08:00") == "11-27 09:00"


def test_a_ticket_that_comes_without_a_touch_stays_its_seconds() -> None:
    """A kiosk restarted mid-request gets its ticket from the journal before anyone touches it."""
    port = Port()
    k = KioskPresenter(port)
    k.on_catalog(CATALOG)
    k.tick(5000.0)
    k.on_issue_answer(True, {"ticket": TICKET})
    k.tick(5001.0)
    assert k.view().screen == "ticket" and port.of("print") == ["20261126-A004"]
    k.tick(5013.0)
    assert k.view().screen == "home"
