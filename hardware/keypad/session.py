"""Keys to window ops: the state machine of one caller keypad, pure (no port, no MQTT, no clock).

    call                      -> call_next            digits + call      -> call (prefix + digits)
    recall                    -> recall               digits + transfer  -> transfer to window no.
    evaluate                  -> finish               6 + confirm        -> no_show
    pause                     -> pause (resume when the window is paused)
    0 + confirm               -> hold                 3 + confirm        -> unhold the oldest held
    2+ digits + confirm       -> login of the clerk with that keypad code; a clerk with a PIN then
                                 keys the PIN + confirm and the login carries it as `pin`.

The bridge feeds it keys, the window's retained state and the hall's answers; it returns actions:
requests to send and what the keypad's display should show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hardware.keypad.codes import error_display
from hardware.keypad.frame import Key

MAX_DIGITS = 8


@dataclass(frozen=True)
class WindowRequest:
    op: str
    fields: tuple[tuple[str, str], ...] = ()

    def payload(self) -> dict[str, str]:
        return {"op": self.op, **dict(self.fields)}


@dataclass(frozen=True)
class ShowDisplay:
    text: str


@dataclass(frozen=True)
class Beep:
    pass


Action = WindowRequest | ShowDisplay | Beep


@dataclass(frozen=True)
class KeypadContext:
    """What the keypad's window needs from the hall config."""

    window: str
    prefix: str  # the window's first department's ticket prefix
    number_width: int
    windows_by_no: Mapping[int, str]  # the catalog's `no` -> window id
    clerks_by_code: Mapping[str, tuple[str, bool]]  # keypad_code -> (clerk id, has a PIN)


@dataclass
class KeypadSession:
    context: KeypadContext
    digits: str = ""
    pin_for: str | None = None  # a clerk whose PIN is being keyed
    state: Mapping[str, Any] = field(default_factory=dict)  # the window's retained state
    error: str | None = None  # 'E19' until the next key or state change

    # --- inputs -----------------------------------------------------------------------------
    def press(self, key: Key) -> list[Action]:
        self.error = None
        if key.digit is not None:
            if len(self.digits) < MAX_DIGITS:
                self.digits += str(key.digit)
            return [self._display()]
        digits, self.digits = self.digits, ""
        pin_for, self.pin_for = self.pin_for, None
        if key == Key.CONFIRM:
            if pin_for is not None:
                return [WindowRequest("login", (("clerk", pin_for), ("pin", digits)))]
            return self._confirm(digits)
        if key == Key.CALL:
            if digits:
                number = self.context.prefix + digits.zfill(self.context.number_width)
                return [WindowRequest("call", (("number", number),))]
            return [WindowRequest("call_next")]
        if key == Key.RECALL:
            return [WindowRequest("recall")]
        if key == Key.EVALUATE:
            return [WindowRequest("finish")]
        if key == Key.PAUSE:
            return [WindowRequest("resume" if self.state.get("status") == "paused" else "pause")]
        if key == Key.TRANSFER:
            target = self.context.windows_by_no.get(int(digits)) if digits else None
            if target is None:
                return self._refuse("unknown_window")
            return [WindowRequest("transfer", (("window", target),))]
        return self._refuse("invalid_request")

    def on_state(self, state: Mapping[str, Any]) -> list[Action]:
        self.state = state
        self.error = None
        return [self._display()]

    def on_answer(self, request: WindowRequest, answer: Mapping[str, Any]) -> list[Action]:
        """The hall's answer to one of our requests."""
        if answer.get("ok"):
            self.error = None
            window = (answer.get("result") or {}).get("window")
            if isinstance(window, Mapping):
                self.state = window
            return [self._display()]
        code = str((answer.get("error") or {}).get("code", "?"))
        return self._refuse(code)

    # --- helpers ----------------------------------------------------------------------------
    def _confirm(self, digits: str) -> list[Action]:
        if len(digits) == 1:
            if digits == "6":
                return [WindowRequest("no_show")]
            if digits == "0":
                return [WindowRequest("hold")]
            if digits == "3":
                held = self._oldest_held()
                if held is None:
                    return self._refuse("unknown_ticket")
                return [WindowRequest("unhold", (("ticket", held),))]
            return self._refuse("invalid_request")
        if len(digits) >= 2:
            clerk = self.context.clerks_by_code.get(digits)
            if clerk is None:
                return self._refuse("unknown_clerk")
            clerk_id, has_pin = clerk
            if has_pin:
                self.pin_for = clerk_id
                return [Beep(), ShowDisplay("-")]
            return [WindowRequest("login", (("clerk", clerk_id),))]
        return self._refuse("invalid_request")

    def _oldest_held(self) -> str | None:
        held = [t for t in self.state.get("held") or [] if isinstance(t, Mapping) and t.get("id")]
        if not held:
            return None
        oldest = min(held, key=lambda t: str(t.get("issued_at") or ""))
        return str(oldest["id"])

    def _refuse(self, code: str) -> list[Action]:
        self.error = error_display(code)
        return [Beep(), ShowDisplay(self.error)]

    def _display(self) -> ShowDisplay:
        return ShowDisplay(self.display_text())

    def display_text(self) -> str:
        if self.error:
            return self.error
        if self.pin_for is not None:
            return "-" * max(1, len(self.digits))  # never echo a PIN
        if self.digits:
            return self.digits
        return state_display(self.state)


def state_display(state: Mapping[str, Any]) -> str:
    """The keypad's idle display: the current number's digits; '--' paused; blank when closed."""
    status = state.get("status")
    if status == "paused":
        return "--"
    ticket = state.get("ticket")
    if status == "open" and isinstance(ticket, Mapping):
        return "".join(c for c in str(ticket.get("number", "")) if c.isdigit())
    return ""
