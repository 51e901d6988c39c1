"""Keys to window ops: the keypad state machine, without a port or a broker."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from contract.protocol import ERROR_CODES
from hardware.keypad.codes import ERROR_NUMBERS, error_display
from hardware.keypad.frame import Key
from hardware.keypad.session import Beep, KeypadContext, KeypadSession, ShowDisplay, WindowRequest

CONTEXT = KeypadContext(
    window="w05",
    prefix="A",
    number_width=3,
    windows_by_no={5: "w05", 7: "w07", 12: "w12"},
    clerks_by_code={"0501": ("c0501", False), "88": ("c0101", True)},
)
D = [Key.D0, Key.D1, Key.D2, Key.D3, Key.D4, Key.D5, Key.D6, Key.D7, Key.D8, Key.D9]


def press(session: KeypadSession, keys: str) -> list[object]:
    """'12C' = digit 1, digit 2, call. Letters: C call, R recall, V evaluate, P pause, T transfer,
    K confirm."""
    letters = {"C": Key.CALL, "R": Key.RECALL, "V": Key.EVALUATE, "P": Key.PAUSE,
               "T": Key.TRANSFER, "K": Key.CONFIRM}  # fmt: skip
    actions: list[object] = []
    for ch in keys:
        actions = list(session.press(D[int(ch)] if ch.isdigit() else letters[ch]))
    return actions


def test_single_keys() -> None:
    s = KeypadSession(CONTEXT)
    assert press(s, "C") == [WindowRequest("call_next")]
    assert press(s, "R") == [WindowRequest("recall")]
    assert press(s, "V") == [WindowRequest("finish")]
    assert press(s, "P") == [WindowRequest("pause")]
    s.on_state({"status": "paused"})
    assert press(s, "P") == [WindowRequest("resume")]


def test_digits_then_call_or_transfer() -> None:
    s = KeypadSession(CONTEXT)
    assert press(s, "1") == [ShowDisplay("1")]
    assert press(s, "2C") == [WindowRequest("call", (("number", "A012"),))]
    assert press(s, "1234C") == [WindowRequest("call", (("number", "A1234"),))]
    assert press(s, "7T") == [WindowRequest("transfer", (("window", "w07"),))]
    assert press(s, "012T") == [WindowRequest("transfer", (("window", "w12"),))]
    assert press(s, "9T") == [Beep(), ShowDisplay(error_display("unknown_window"))]
    assert press(s, "T") == [Beep(), ShowDisplay("E09")]


def test_confirm_combinations() -> None:
    s = KeypadSession(CONTEXT)
    assert press(s, "6K") == [WindowRequest("no_show")]
    assert press(s, "0K") == [WindowRequest("hold")]
    assert press(s, "3K") == [Beep(), ShowDisplay("E08")]  # nothing held
    s.on_state({"status": "open", "held": [
        {"id": "t-late", "issued_at": "2026-11-26T10:00:00+08:00"},
        {"id": "t-early", "issued_at": "2026-11-26T09:00:00+08:00"},
    ]})  # fmt: skip
    assert press(s, "3K") == [WindowRequest("unhold", (("ticket", "t-early"),))]
    assert press(s, "5K") == [Beep(), ShowDisplay("E01")]
    assert press(s, "K") == [Beep(), ShowDisplay("E01")]


def test_login_by_keypad_code_with_and_without_pin() -> None:
    s = KeypadSession(CONTEXT)
    assert press(s, "0501K") == [WindowRequest("login", (("clerk", "c0501"),))]
    assert press(s, "88K") == [Beep(), ShowDisplay("-")]
    assert press(s, "12") == [ShowDisplay("--")]  # the PIN is never shown
    assert press(s, "34K") == [WindowRequest("login", (("clerk", "c0101"), ("pin", "1234")))]
    assert press(s, "77K") == [Beep(), ShowDisplay("E10")]
    # another key cancels a PIN entry
    press(s, "88K")
    assert press(s, "C") == [WindowRequest("call_next")]
    assert press(s, "12K") == [Beep(), ShowDisplay("E10")]


def test_display_follows_state_and_answers() -> None:
    s = KeypadSession(CONTEXT)
    assert s.on_state({"status": "closed"}) == [ShowDisplay("")]
    state = {"status": "open", "ticket": {"number": "A012"}}
    assert s.on_state(state) == [ShowDisplay("012")]
    assert s.on_state({"status": "paused"}) == [ShowDisplay("--")]
    answer = {"ok": False, "error": {"code": "queue_empty", "message": "无人等候"}}
    assert s.on_answer(WindowRequest("call_next"), answer) == [Beep(), ShowDisplay("E19")]
    assert s.display_text() == "E19"
    ok = {"ok": True, "result": {"window": {"status": "open", "ticket": {"number": "B007"}}}}
    assert s.on_answer(WindowRequest("call_next"), ok) == [ShowDisplay("007")]


def test_error_table_covers_every_contract_code_once() -> None:
    assert set(ERROR_NUMBERS) == set(ERROR_CODES)
    assert sorted(ERROR_NUMBERS.values()) == list(range(1, len(ERROR_CODES) + 1))
    assert error_display("unknown_alarm") == "E30"  # issue 19: appended, never renumbered
    assert error_display("something_new") == "E99"


@given(
    st.lists(st.sampled_from(list(Key)), max_size=40), st.sampled_from(["open", "paused", "closed"])
)
def test_any_key_sequence_gives_valid_actions(keys: list[Key], status: str) -> None:
    s = KeypadSession(CONTEXT)
    s.on_state({"status": status, "ticket": {"number": "A012"}, "held": [{"id": "t9"}]})
    for key in keys:
        for action in s.press(key):
            assert isinstance(action, WindowRequest | ShowDisplay | Beep)
            if isinstance(action, ShowDisplay):
                assert set(action.text) <= set("0123456789-E ")
                assert len(action.text) <= 8
            if isinstance(action, WindowRequest):
                assert action.op in {"call_next", "call", "recall", "finish", "pause", "resume",
                                     "transfer", "no_show", "hold", "unhold", "login"}  # fmt: skip
