"""The window terminal's screens as Kivy widgets: thin, drawn from a `TerminalView`, every press sent
to the presenter. Made for a 1280x800 counter touchscreen (or a window beside the clerk's desktop):
the current number is the largest thing on the screen; each button shows its F-key.

The widgets are built once per screen and only their texts and states change on a refresh, so the
frame after a call draws the new number without rebuilding anything (bench/terminal.py).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout

from screens.kivy_setup import button, label, paint
from terminal import texts
from terminal.presenter import TerminalPresenter, TerminalView

BLUE = (0.05, 0.16, 0.31, 1)
PANEL = (0.1, 0.24, 0.42, 1)
RED = (0.75, 0.1, 0.1, 1)
YELLOW = (1, 0.85, 0.2, 1)
WHITE = (1, 1, 1, 1)
# A button's background tint per case state text (texts.CASE_STATE): red overdue, yellow near.
CASE_COLOURS = {texts.CASE_STATE["overdue"]: (2.2, 0.5, 0.5, 1), texts.CASE_STATE["near"]: (2, 1.8, 0.5, 1)}  # fmt: skip


class TerminalRoot(BoxLayout):  # type: ignore[misc]
    def __init__(self, presenter: TerminalPresenter, **kwargs: Any) -> None:
        super().__init__(orientation="vertical", padding=12, spacing=8, **kwargs)
        paint(self, BLUE)
        self.presenter = presenter
        self.on_change: Callable[[], None] = lambda: None
        self.banner = label("", 26, size_hint_y=None, height=0, color=WHITE, halign="center")
        self.banner_colour = paint(self.banner, RED)
        self.header = label("", 28, size_hint_y=None, height=48, color=WHITE)
        self.body = BoxLayout()
        self.message = label("", 26, size_hint_y=None, height=40, color=YELLOW)
        for part in (self.banner, self.header, self.body, self.message):
            self.add_widget(part)
        self._screen: str | None = None
        self._panel_key: Any = None
        self._login_key: Any = None
        self._build_work()

    # -- the work screen, built once
    def _build_work(self) -> None:
        self.work = BoxLayout(orientation="vertical", spacing=8)
        top = BoxLayout(spacing=12)
        ticket = BoxLayout(orientation="vertical", size_hint_x=0.58, padding=12)
        paint(ticket, PANEL)
        self.number = label("", 150, color=YELLOW, halign="center", size_hint_y=0.5)
        self.ticket_line = label("", 32, color=WHITE, halign="center", size_hint_y=0.2)
        self.ticket_more = label("", 26, color=WHITE, halign="center", size_hint_y=0.15)
        self.held_line = label("", 24, color=WHITE, halign="center", size_hint_y=0.15)
        for part in (self.number, self.ticket_line, self.ticket_more, self.held_line):
            ticket.add_widget(part)
        self.side = BoxLayout(orientation="vertical", size_hint_x=0.42, padding=8, spacing=4)
        paint(self.side, PANEL)
        self.queue_text = label("", 22, color=WHITE, valign="top", size_hint_y=0.5)
        self.day_text = label("", 22, color=WHITE, size_hint_y=0.3)
        # The window's open cases (受理件): counts by state, and the button that lists them.
        cases = BoxLayout(size_hint_y=0.2, spacing=6)
        self.cases_text = label("", 22, color=WHITE, size_hint_x=0.6)
        self.cases_button = button(
            texts.CASES_BUTTON, partial(self._press, "close_case"), 22, size_hint_x=0.4
        )
        cases.add_widget(self.cases_text)
        cases.add_widget(self.cases_button)
        self.side.add_widget(self.queue_text)
        self.side.add_widget(self.day_text)
        self.side.add_widget(cases)
        self.picker = BoxLayout(orientation="vertical", size_hint_x=0.42, spacing=6)
        top.add_widget(ticket)
        top.add_widget(self.side)
        self.upper = top
        self.buttons: dict[str, Any] = {}
        grid = GridLayout(cols=6, spacing=6, size_hint_y=None, height=190)
        for button_view in self.presenter.view().buttons:
            widget = button("", partial(self._press, button_view.op), 26)
            self.buttons[button_view.op] = widget
            grid.add_widget(widget)
        self.work.add_widget(top)
        self.work.add_widget(grid)

    def _press(self, op: str) -> None:
        self.presenter.press(op)
        self.on_change()

    def _act(self, fn: Any, *args: Any) -> None:
        fn(*args)
        self.on_change()

    # -- refresh
    def render(self, view: TerminalView) -> None:
        self.banner.text = view.banner
        self.banner.height = 44 if view.banner else 0
        self.banner.opacity = 1 if view.banner else 0
        clerk = f"   工作人员：{view.clerk}" if view.clerk else ""
        reason = f"（{view.reason}）" if view.reason else ""
        self.header.text = f"{view.window_name}{clerk}   {view.status_text}{reason}"
        busy = texts.BUSY if view.slow else ""
        self.message.text = view.message or busy
        if view.screen != self._screen:
            self.body.clear_widgets()
            self.body.add_widget(self.work if view.screen == "work" else self._login_box())
            self._screen = view.screen
            self._panel_key = self._login_key = None
        if view.screen == "work":
            self._render_work(view)
        else:
            self._render_login(view)

    def _render_work(self, view: TerminalView) -> None:
        ticket = view.ticket
        if ticket is None:
            self.number.text = "—" if view.status == "open" else texts.WINDOW_STATUS["paused"]
            hint = "当前无号：按 F1 呼叫下一位" if view.status == "open" else "按 F11 恢复服务"
            self.ticket_line.text = hint
            self.ticket_more.text = ""
        else:
            self.number.text = ticket.number
            self.ticket_line.text = f"{ticket.service} · {ticket.status_text}"
            self.ticket_more.text = f"已等候 {ticket.waited_min} 分钟 · 已呼叫 {ticket.calls} 次"
        self.held_line.text = f"挂起：{'、'.join(view.held)}" if view.held else ""
        for button_view in view.buttons:
            widget = self.buttons[button_view.op]
            widget.text = f"{button_view.key}\n{button_view.label}"
            widget.disabled = not button_view.enabled
            widget.background_color = (
                (1.6, 1.6, 0.6, 1) if view.panel == button_view.op else (1, 1, 1, 1)
            )
        self.queue_text.text = "本窗口业务等候\n" + queue_lines(view)
        day = view.day
        if day is None:
            self.day_text.text = "今日：暂无数据"
        else:
            mean = f"{day.mean_min:g} 分钟" if day.mean_min is not None else "—"
            good = f"{day.good_share * 100:.0f}%" if day.good_share is not None else "—"
            levels = " ".join(f"{texts.LEVELS[s]}{n}" for s, n in sorted(day.ratings.items(), reverse=True) if s in texts.LEVELS)  # fmt: skip
            self.day_text.text = f"今日已办 {day.served} 件 · 平均 {mean}\n好评率 {good}\n{levels}"
        counts = view.case_counts
        if view.cases:
            late = f"超期 {counts.get('overdue', 0)} · 临期 {counts.get('near', 0)}"
            self.cases_text.text = f"受理件 {sum(counts.values())} 件\n{late}"
        else:
            self.cases_text.text = "受理件：无"
        self.cases_button.disabled = not (view.cases and view.online)
        panel_key = (view.panel, tuple(c.label for c in view.choices), view.typed)
        if panel_key != self._panel_key:
            self._panel_key = panel_key
            self._render_picker(view)

    def _render_picker(self, view: TerminalView) -> None:
        top = self.upper
        if view.panel is None:
            if self.picker.parent is not None:
                top.remove_widget(self.picker)
                top.add_widget(self.side)
            return
        if self.side.parent is not None:
            top.remove_widget(self.side)
            top.add_widget(self.picker)
        self.picker.clear_widgets()
        titles = {"call": "指呼：输入号码", "transfer": "转移到", "unhold": "回呼挂起的号", "pause": "暂停原因",
                  "finish": "办理结果", "close_case": "办结受理件（到期先后）"}  # fmt: skip
        self.picker.add_widget(
            label(titles[view.panel], 26, color=WHITE, size_hint_y=None, height=40)
        )
        if view.panel in ("call", "pause"):
            self.picker.add_widget(
                label(view.typed or "…", 40, color=YELLOW, size_hint_y=None, height=56)
            )
        if view.panel == "call":
            keys = GridLayout(cols=5, spacing=4)
            for char in "1234567890" + (view.letters or "ABCDE"):
                keys.add_widget(button(char, partial(self._act, self.presenter.type, char), 30))
            self.picker.add_widget(keys)
            row = BoxLayout(size_hint_y=None, height=70, spacing=6)
            row.add_widget(button("删除", partial(self._act, self.presenter.backspace), 26))
            row.add_widget(button("呼叫", partial(self._act, self.presenter.call_typed), 26))
            self.picker.add_widget(row)
        else:
            grid = GridLayout(cols=1 if view.panel != "transfer" else 2, spacing=4)
            for choice in view.choices[:16]:
                widget = button(choice.label, partial(self._act, self.presenter.choose, choice), 22)
                if view.panel == "close_case":  # red past due, yellow near it
                    widget.background_color = CASE_COLOURS.get(choice.label.rsplit(" ", 1)[-1], (1, 1, 1, 1))  # fmt: skip
                grid.add_widget(widget)
            self.picker.add_widget(grid)
        self.picker.add_widget(button("取消（Esc）", partial(self._act, self.presenter.key, "escape"), 24, size_hint_y=None, height=56))  # fmt: skip

    # -- the login screen
    def _login_box(self) -> Any:
        self.login = BoxLayout(orientation="vertical", spacing=10, padding=20)
        return self.login

    def _render_login(self, view: TerminalView) -> None:
        key = (tuple(view.roster), view.selected_clerk, view.pin_masked, view.online)
        if key == self._login_key:
            return
        self._login_key = key
        box = self.login
        box.clear_widgets()
        box.add_widget(label("请选择您的工号登录", 36, color=WHITE, halign="center", size_hint_y=None, height=60))  # fmt: skip
        clerks = GridLayout(
            cols=3, spacing=8, size_hint_y=None, height=100 * ((len(view.roster) + 2) // 3)
        )
        for clerk_id, name, pin in view.roster:
            marker = "（需密码）" if pin else ""
            widget = button(f"{name}\n{clerk_id}{marker}", partial(self._act, self.presenter.select_clerk, clerk_id), 28)  # fmt: skip
            widget.disabled = not view.online
            if clerk_id == view.selected_clerk:
                widget.background_color = (1.6, 1.6, 0.6, 1)
            clerks.add_widget(widget)
        box.add_widget(clerks)
        needs_pin = any(c == view.selected_clerk and pin for c, _, pin in view.roster)
        if needs_pin:
            box.add_widget(label(f"密码：{view.pin_masked or '请输入'}", 32, color=YELLOW, halign="center", size_hint_y=None, height=56))  # fmt: skip
            keys = GridLayout(cols=6, spacing=6)
            for char in "1234567890":
                keys.add_widget(button(char, partial(self._act, self.presenter.type, char), 32))
            keys.add_widget(button("删除", partial(self._act, self.presenter.backspace), 26))
            keys.add_widget(button("登录", partial(self._act, self.presenter.login), 28))
            box.add_widget(keys)
        else:
            box.add_widget(BoxLayout())


QUEUE_ROWS = 7  # lines of the waiting panel (a window of many services: the busiest first)
NAME_CHARS = 10  # a service's name cut to this (the panel is a third of the screen)


def queue_lines(view: TerminalView) -> str:
    """One line per service: name, waiting, longest wait; the busiest first, cut to fit."""
    if not view.queues:
        return "（暂无数据）"
    rows = sorted(view.queues, key=lambda q: -q.waiting)
    lines = []
    for q in rows[:QUEUE_ROWS]:
        name = q.service if len(q.service) <= NAME_CHARS else q.service[: NAME_CHARS - 1] + "…"
        longest = f" · 最长 {q.longest_wait_min} 分" if q.longest_wait_min is not None else ""
        lines.append(f"{name}  {q.waiting} 人{longest}")
    if len(rows) > QUEUE_ROWS:
        lines.append(f"另 {len(rows) - QUEUE_ROWS} 项业务")
    return "\n".join(lines)
