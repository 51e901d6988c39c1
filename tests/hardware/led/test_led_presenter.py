"""What a window board shows for each window state, and when the flash ends."""

from __future__ import annotations

from contract.settings.bus import ALPHA_TEMPLATES, GB_TEMPLATES, BoardTemplates
from hardware.led.modes import DisplayMode
from hardware.led.presenter import BoardText, WindowBoard


def state(status: str, ticket: dict[str, object] | None = None) -> dict[str, object]:
    return {"status": status, "window": {"id": "w05"}, "ticket": ticket, "clerk": None}


def test_call_flashes_then_holds_and_recall_flashes_again() -> None:
    board = WindowBoard(5, "5号窗口", GB_TEMPLATES, flash_seconds=4)
    called = {"id": "t1", "number": "A012", "status": "called", "recalls": 0}
    assert board.on_state(state("open", called), now=100) == BoardText(
        "请A012号到5号窗口", DisplayMode.FLASH
    )
    assert board.steady_at() == 104
    assert board.current(103.9).mode is DisplayMode.FLASH
    assert board.current(104).mode is DisplayMode.STEADY
    # the clerk starts serving: same ticket, no new flash
    serving = {**called, "status": "serving"}
    assert board.on_state(state("open", serving), now=110).mode is DisplayMode.STEADY
    recalled = {**called, "recalls": 1}
    assert board.on_state(state("open", recalled), now=120).mode is DisplayMode.FLASH


def test_paused_closed_and_idle_texts() -> None:
    gb = WindowBoard(5, "5号窗口", GB_TEMPLATES, 4)
    assert gb.on_state(state("paused"), 0) == BoardText("暂停服务", DisplayMode.STEADY)
    assert gb.on_state(state("closed"), 0) == BoardText("欢迎光临", DisplayMode.STEADY)
    assert gb.on_state(state("open"), 0) == BoardText("5号窗口 欢迎您", DisplayMode.STEADY)
    al = WindowBoard(5, "5号窗口", ALPHA_TEMPLATES, 4)
    assert al.on_state(state("paused"), 0) == BoardText("PAUSED", DisplayMode.STEADY)
    ticket = {"id": "t1", "number": "A012", "status": "called"}
    assert al.on_state(state("open", ticket), 0) == BoardText("A012 -> 5", DisplayMode.FLASH)


def test_templates_with_unknown_or_broken_fields_do_not_fail() -> None:
    odd = BoardTemplates(call="{number} {nope}", open="{", paused="{reason}", closed="x")
    board = WindowBoard(1, "1", odd, 0)
    assert board.on_state(state("open", {"id": "t", "number": "B1"}), 0).text == "B1 "
    assert board.on_state(state("open"), 0).text == "{"
