"""The evaluator's screens as Kivy widgets, for the visitor (often elderly) across the counter: very
large words, five large buttons coloured from green (非常满意) to red (非常不满意), nothing else."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout

from screens.kivy_setup import button, label, paint
from terminal import texts
from terminal.evaluator_presenter import EvaluatorPresenter, EvaluatorView

BACKGROUND = (0.05, 0.16, 0.31, 1)
WHITE = (1, 1, 1, 1)
YELLOW = (1, 0.85, 0.2, 1)
DARK = (0.05, 0.05, 0.1, 1)
# Button colours by score (Kivy multiplies the button's grey texture by these).
SCORE_COLOURS = {
    5: (0.1, 0.75, 0.25, 1),
    4: (0.45, 0.8, 0.2, 1),
    3: (0.9, 0.75, 0.1, 1),
    2: (0.95, 0.5, 0.1, 1),
    1: (0.9, 0.15, 0.15, 1),
}


class EvaluatorRoot(BoxLayout):  # type: ignore[misc]
    def __init__(self, presenter: EvaluatorPresenter, **kwargs: Any) -> None:
        super().__init__(orientation="vertical", padding=24, spacing=16, **kwargs)
        paint(self, BACKGROUND)
        self.presenter = presenter
        self.on_change: Callable[[], None] = lambda: None
        self._key: Any = None
        self.countdown: Any = None

    def _act(self, fn: Any, *args: Any) -> None:
        fn(*args)
        self.on_change()

    def render(self, view: EvaluatorView) -> None:
        key = (view.screen, view.number, tuple(view.reasons), view.busy, view.message)
        if key == self._key:
            if view.screen in ("rate", "reasons"):
                self.countdown.text = f"{view.seconds_left} 秒后自动返回（不评价）"
            return
        self._key = key
        self.clear_widgets()
        self.add_widget(label(view.title, 64, color=WHITE, halign="center", size_hint_y=0.2))
        if view.screen == "idle":
            self.add_widget(label("办事完成后，请在这里为我们的服务打分", 40, color=WHITE, halign="center"))  # fmt: skip
            return
        if view.screen == "thanks":
            self.add_widget(label("您的意见是我们改进工作的动力", 44, color=YELLOW, halign="center"))  # fmt: skip
            return
        who = f"{view.number}  {view.service}"
        where = f"{view.window_name} {view.clerk}".strip()
        self.add_widget(label(f"{who}\n{where}", 38, color=YELLOW, halign="center", size_hint_y=0.18))  # fmt: skip
        if view.screen == "rate":
            row = BoxLayout(spacing=16, size_hint_y=0.45)
            for score, words in view.levels:
                widget = button(words, partial(self._act, self.presenter.press_score, score), 42)
                widget.background_normal = ""
                widget.background_color = SCORE_COLOURS[score]
                widget.color = DARK if score in (3, 4) else WHITE  # contrast on the light ones
                widget.disabled = view.busy
                row.add_widget(widget)
            self.add_widget(row)
        else:
            grid = GridLayout(cols=2, spacing=12, size_hint_y=0.45)
            for reason, ticked in view.reasons:
                mark = "✔ " if ticked else "□ "
                widget = button(mark + reason, partial(self._act, self.presenter.toggle_reason, reason), 36)  # fmt: skip
                if ticked:
                    widget.background_color = (1.8, 1.5, 0.3, 1)
                grid.add_widget(widget)
            self.add_widget(grid)
            row = BoxLayout(spacing=16, size_hint_y=0.14)
            row.add_widget(button("返回", partial(self._act, self.presenter.back), 40))
            row.add_widget(button(texts.EVALUATOR_SUBMIT, partial(self._act, self.presenter.submit), 40))  # fmt: skip
            self.add_widget(row)
        self.countdown = label(
            f"{view.seconds_left} 秒后自动返回（不评价）",
            28,
            color=WHITE,
            halign="center",
            size_hint_y=0.08,
        )
        self.add_widget(self.countdown)
        if view.message:
            self.add_widget(
                label(view.message, 32, color=YELLOW, halign="center", size_hint_y=0.08)
            )
