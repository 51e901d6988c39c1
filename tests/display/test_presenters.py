"""The screens' presenters without a window: payloads drawn by the real engine's views, time on an
injected clock (monotonic seconds as plain numbers)."""

from __future__ import annotations

from typing import Any

import pytest

from display.feed import PING_WAIT_KEEPALIVES
from display.hall_presenter import BLINK_SECONDS, FLASH_SECONDS, HallPresenter
from display.settings import DisplaySettings, parse_settings
from display.sunshine import page_at
from display.window_presenter import WindowPresenter, services_line
from hall.engine.engine import Engine
from hall.engine.model import CallNext, Finish, IssueTicket, Login, Pause, Rate
from hall.engine.stats import stats
from hall.engine.views import catalog
from tests.fixtures.halls import MORNING, later, small_hall


class Hall:
    """A real engine and the payloads its views publish."""

    def __init__(self) -> None:
        self.engine = Engine(small_hall())
        for window, clerk in (("w01", "c0201"), ("w02", "c0101"), ("w05", "c0501")):
            self.engine.handle(Login(window, clerk, "1234" if clerk == "c0101" else None), MORNING)
        for _ in range(6):
            self.engine.handle(IssueTicket("k1", "psb-id-card"), MORNING)
            self.engine.handle(IssueTicket("k1", "amr-license"), MORNING)

    def call(self, window: str) -> dict[str, Any]:
        outcome = self.engine.handle(CallNext(window), later(1))
        event = next(e for e in outcome.events if type(e).__name__ == "TicketCalled")
        return self.engine.call_message(event)

    def board(self) -> dict[str, Any]:
        return self.engine.board(later(1))


def settings(**section: Any) -> DisplaySettings:
    return parse_settings("d1", {"keepalive": 10, **section})


def hall_presenter(**section: Any) -> HallPresenter:
    presenter = HallPresenter(settings(**section), lambda: later(1))
    presenter.on_connection(True)
    presenter.on_hall_status(True)
    return presenter


@pytest.fixture
def hall() -> Hall:
    return Hall()


def test_calls_in_order_newest_first_and_the_board_draws_from_nothing(hall: Hall) -> None:
    screen = hall_presenter()
    screen.on_catalog(catalog(hall.engine))
    screen.on_board(hall.board(), now=0)
    first, second = hall.call("w01"), hall.call("w02")
    screen.on_calls(first, now=1)
    screen.on_calls(second, now=2)
    view = screen.view(now=2)
    assert view.newest == "请 A002 号到 2号窗口"
    assert view.recent == ["A001  →  1号窗口"]
    cells = {c.id: c for c in view.windows}
    assert cells["w01"].main == "A001" and cells["w02"].main == "A002"
    assert cells["w03"].main == "未开放" and cells["w03"].state == "closed"
    assert view.title == "测试大厅" and view.clock == "2026年11月26日 星期四 09:01"
    assert view.stale is None


def test_a_repeated_call_changes_nothing_and_does_not_flash_again(hall: Hall) -> None:
    screen = hall_presenter()
    screen.on_board(hall.board(), now=0)
    call = hall.call("w01")
    screen.on_calls(call, now=1)
    screen.on_calls(call, now=50)  # the hall resent it after a crash
    assert screen.drawn_state()["recent"] == ["A001"]
    assert not screen.view(now=50).flashing


def test_a_gap_is_counted_shown_and_the_next_board_redraws(hall: Hall) -> None:
    screen = hall_presenter()
    screen.on_board(hall.board(), now=0)
    hall.call("w01")  # never reaches the screen
    third = hall.call("w02")
    screen.on_calls(third, now=1)
    assert screen.gaps == 1 and screen.view(now=1).newest == "请 A002 号到 2号窗口"
    screen.on_board(hall.board(), now=2)
    state = screen.drawn_state()
    assert state["recent"] == ["A002", "A001"] and state["seq"] == 2
    assert state["windows"]["w01"] == {"status": "open", "ticket": "A001"}


def test_an_older_board_keeps_the_calls_that_came_after_it(hall: Hall) -> None:
    screen = hall_presenter()
    old_board = hall.board()
    call = hall.call("w01")
    screen.on_calls(call, now=1)
    screen.on_board(old_board, now=2)  # the retained board, older than the call
    state = screen.drawn_state()
    assert state["recent"] == ["A001"] and state["seq"] == 1
    assert state["windows"]["w01"]["ticket"] == "A001"


def test_the_newest_call_flashes_for_a_few_seconds_then_stays(hall: Hall) -> None:
    screen = hall_presenter()
    screen.on_board(hall.board(), now=0)
    screen.on_calls(hall.call("w05"), now=100)
    assert screen.view(now=100).flash_on
    assert not screen.view(now=100 + BLINK_SECONDS * 1.5).flash_on  # blinking
    assert screen.view(now=100 + BLINK_SECONDS * 2.5).flash_on
    late = screen.view(now=100 + FLASH_SECONDS + 0.1)
    assert not late.flashing and not late.flash_on
    assert late.newest == "请 AB001 号到 5号窗口"  # still shown, no longer flashing


def test_areas_limit_the_windows_and_calls_shown(hall: Hall) -> None:
    screen = hall_presenter(areas=["2F"])
    screen.on_board(hall.board(), now=0)
    assert [c.id for c in screen.view(now=0).windows] == ["w04", "w05"]
    screen.on_calls(hall.call("w01"), now=1)  # a 1F window: not on this screen
    assert screen.view(now=1).newest == "欢迎光临"  # no call yet: the slogan
    screen.on_calls(hall.call("w05"), now=2)
    assert screen.view(now=2).newest == "请 AB001 号到 5号窗口"


def test_paused_windows_show_their_reason(hall: Hall) -> None:
    hall.engine.handle(Pause("w02", "系统维护"), later(1))
    screen = hall_presenter()
    screen.on_board(hall.board(), now=0)
    cell = next(c for c in screen.view(now=0).windows if c.id == "w02")
    assert (cell.main, cell.sub, cell.state) == ("暂停服务", "系统维护", "paused")


def test_the_sunshine_page_alternates_on_its_schedule(hall: Hall) -> None:
    assert [page_at(t, 60, 20) for t in (0, 59.9, 60, 79.9, 80)] == [
        "hall", "hall", "sunshine", "sunshine", "hall",
    ]  # fmt: skip
    assert page_at(1e6, 60, 0) == "hall"
    hall.call("w01")
    hall.engine.handle(Finish("w01"), later(5))
    ticket = next(iter(hall.engine.state.tickets.values())).id
    hall.engine.handle(Rate("e01", ticket, 4), later(5, 10))
    screen = hall_presenter(pages={"hall_seconds": 10, "sunshine_seconds": 5})
    screen.on_board(hall.board(), now=0)
    screen.on_stats(stats(hall.engine, later(6)))
    assert screen.view(now=0).page == "hall" and screen.view(now=9).sunshine == []
    sunny = screen.view(now=11)
    assert sunny.page == "sunshine"
    row = next(r for r in sunny.sunshine if r.window == "1号窗口")
    assert (row.served, row.mean_time, row.good_share) == ("1", "4.0 分钟", "100%")
    assert screen.view(now=15).page == "hall"


def test_a_hall_going_offline_or_a_lost_link_is_said_on_screen_and_recovers(hall: Hall) -> None:
    screen = hall_presenter()
    screen.on_board(hall.board(), now=0)
    assert screen.view(now=0).stale is None
    screen.on_hall_status(False)
    assert "大厅服务器离线" in (screen.view(now=1).stale or "")
    screen.on_hall_status(True)
    screen.on_connection(False)
    assert "连接已断开" in (screen.view(now=2).stale or "")
    screen.on_connection(True)
    assert screen.view(now=3).stale is None
    screen.on_ping_wait(PING_WAIT_KEEPALIVES * 10 + 0.1)  # a ping unanswered: a hung link
    assert "无响应" in (screen.view(now=4).stale or "")
    screen.on_ping_wait(0)
    assert screen.view(now=5).stale is None


def test_a_screen_that_never_connected_says_it_is_connecting() -> None:
    screen = HallPresenter(settings(), lambda: MORNING)
    assert "正在连接" in (screen.view(now=0).stale or "")


def test_window_screen_flashes_on_its_call_and_shows_pause_and_slogan(hall: Hall) -> None:
    screen = WindowPresenter(settings(kind="window", window="w05", slogan="为民服务"))
    screen.on_connection(True)
    screen.on_catalog(catalog(hall.engine))
    screen.on_board(hall.board(), now=0)
    idle = screen.view(now=0)
    assert (idle.title, idle.state, idle.clerk) == ("5号窗口", "idle", "工作人员：陈静")
    assert idle.detail == "营业执照、发票领用、护照"
    screen.on_calls(hall.call("w01"), now=1)  # another window's call
    assert not screen.view(now=1).flashing
    call = hall.call("w05")
    screen.on_calls(call, now=2)
    view = screen.view(now=2)
    assert (view.number, view.headline, view.flash_on) == ("AB001", "请 AB001 号到 5号窗口", True)
    assert not screen.view(now=2 + FLASH_SECONDS).flashing
    hall.engine.handle(Finish("w05"), later(3))
    hall.engine.handle(Pause("w05", "午休"), later(3))
    screen.on_window_state("w05", hall.engine.window_view("w05"))
    paused = screen.view(now=10)
    assert (paused.headline, paused.detail, paused.number) == ("暂停服务", "午休", "")
    closed = WindowPresenter(settings(kind="window", window="w04", slogan="为民服务"))
    closed.on_board(hall.board(), now=0)
    assert closed.view(now=0).headline == "为民服务" and closed.view(now=0).state == "closed"


def test_settings_refuse_a_window_screen_without_its_window() -> None:
    with pytest.raises(ValueError, match="window = ID"):
        parse_settings("d9", {"kind": "window"})


def synthetic_board(windows: int, open_: int) -> dict[str, Any]:
    """A board of a big hall: `windows` windows, the first `open_` of them open."""
    states = [
        {
            "window": {"id": f"w{n:03d}", "name": f"{n}号窗口", "area": "1F"},
            "status": "open" if n <= open_ else "closed",
            "clerk": None,
            "ticket": None,
            "held": [],
            "since": None,
            "reason": None,
        }
        for n in range(1, windows + 1)
    ]
    waiting = {f"d{n}": {"count": n % 4, "longest_wait_min": n} for n in range(40)}
    return {"v": 1, "seq": 0, "at": "2026-11-26T09:00:00+08:00", "recent": [], "windows": states,
            "waiting": waiting, "notice": None}  # fmt: skip


def test_a_big_hall_leaves_out_closed_windows_and_pages_through_the_rest() -> None:
    screen = hall_presenter()
    screen.on_board(synthetic_board(105, open_=30), now=0)
    first = screen.view(now=0)
    assert len(first.windows) == 16 and first.window_page == "1/2"
    assert all(c.state != "closed" for c in first.windows)
    assert [c.state for c in screen.view(now=8.5).windows].count("blank") == 2  # 30 = 16 + 14
    second = screen.view(now=8.5)
    assert second.window_page == "2/2" and second.windows[0].id == "w017"
    quiet = hall_presenter()
    quiet.on_board(synthetic_board(105, open_=2), now=0)
    assert len(quiet.view(now=0).windows) == 16 and quiet.view(now=0).window_page == ""
    small = hall_presenter()
    small.on_board(synthetic_board(12, open_=5), now=0)
    assert len(small.view(now=0).windows) == 12 and small.view(now=0).window_page == ""


def test_only_the_longest_queues_are_listed() -> None:
    screen = hall_presenter()
    screen.on_board(synthetic_board(5, open_=5), now=0)
    lines = screen.view(now=0).waiting
    assert len(lines) == 6 and all("等候 0 人" not in line for line in lines)
    assert lines[0].startswith("d39  等候 3 人")  # the most waiting, then the longest wait


def test_a_long_list_of_services_is_cut_at_a_whole_name_with_the_count() -> None:
    names = [
        "机动车转移登记",
        "机动车驾驶证换证",
        "交通违法处理",
        "公章刻制备案",
        "旅馆业特种行业许可证核发",
    ]
    line = services_line(names)
    assert line == "机动车转移登记、机动车驾驶证换证、交通违法处理 等 5 项业务"
    assert services_line(names[:2]) == "机动车转移登记、机动车驾驶证换证"
