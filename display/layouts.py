"""The screens' layouts: the hall screen (landscape and portrait, with its sunshine page) and the
window screen. Each `show(view)` only sets texts and colours; sizes follow the window's height, so
the same layout fills 1920x1080 and 1080x1920."""

from __future__ import annotations

import math

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label

from display.hall_presenter import HallView, WindowCell
from display.widgets import (
    CLOSED,
    DIM,
    FLASH,
    HEADER,
    NUMBER,
    PANEL,
    PAUSED,
    STALE,
    TEXT,
    Panel,
    Ticker,
    fit_label,
    set_text,
)
from display.window_presenter import WindowView

CELL_COLORS = {"serving": PANEL, "idle": PANEL, "paused": PAUSED, "closed": CLOSED}


class StaleBanner(Panel):
    def __init__(self, unit: float) -> None:
        super().__init__(color=STALE, size_hint_y=None, height=0, opacity=0)
        self.unit = unit
        self.label = fit_label("", font=unit * 3.6, bold=True)
        self.add_widget(self.label)

    def show(self, text: str | None) -> None:
        set_text(self.label, text or "")
        height = self.unit * 6 if text else 0
        if self.height != height:  # type: ignore[has-type]
            self.height, self.opacity = height, 1 if text else 0


class Cell(Panel):
    """One window on the hall screen: its name, then its number or state, then a reason."""

    def __init__(self, unit: float) -> None:
        super().__init__(orientation="vertical", padding=unit * 0.6, spacing=unit * 0.2)
        self.name = fit_label("", font=unit * 3.6, color=DIM)
        self.main = fit_label("", font=unit * 7, color=NUMBER, bold=True)
        self.sub = fit_label("", font=unit * 3.0, color=TEXT)
        for label, weight in ((self.name, 0.3), (self.main, 0.45), (self.sub, 0.25)):
            label.size_hint_y = weight
            self.add_widget(label)

    def show(self, cell: WindowCell) -> None:
        set_text(self.name, cell.name)
        set_text(self.main, cell.main)
        set_text(self.sub, cell.sub)
        self.main.color = NUMBER if cell.state == "serving" else TEXT
        self.set_color(CELL_COLORS.get(cell.state, PANEL))
        self.opacity = 0 if cell.state == "blank" else 1


class HallLayout(Panel):
    """综合屏: header (hall name, date and time), the newest call, recent calls, every window,
    waiting per department, the notice; or the sunshine page in place of the middle."""

    def __init__(self, width: float, height: float, strings: dict[str, str]) -> None:
        super().__init__(orientation="vertical", color=None)  # the window's clear colour
        self.strings = strings
        self.portrait = height > width
        unit = height / 100 if not self.portrait else width / 100 * 0.95  # 1% of the short side
        self.unit = unit
        header = Panel(color=HEADER, size_hint_y=None, height=unit * 9, padding=(unit * 2, 0))
        self.title = fit_label("", font=unit * 5, halign="left", bold=True)
        self.clock = fit_label("", font=unit * (4.2 if not self.portrait else 3.6), halign="right")
        self.clock.color = DIM
        if self.portrait:  # the date and time need more of a narrow screen than the name
            self.title.size_hint_x, self.clock.size_hint_x = 0.35, 0.65
        header.add_widget(self.title)
        header.add_widget(self.clock)
        self.banner = StaleBanner(unit)
        self.add_widget(header)
        self.add_widget(self.banner)

        self.newest_panel = Panel(color=PANEL, padding=unit * 1.5)
        self.newest = fit_label("", font=unit * (9 if not self.portrait else 8.5), bold=True)
        self.newest.shorten = False  # the newest call wraps onto two lines rather than be cut
        self.newest_panel.add_widget(self.newest)
        self.recent_box = BoxLayout(orientation="vertical", padding=(unit * 2, unit))
        self.recent_head = fit_label("", font=unit * 3.2, color=DIM, halign="left")
        self.recent_box.add_widget(self.recent_head)
        self.recent_labels = [fit_label("", font=unit * 4.2, halign="left") for _ in range(5)]
        for label in self.recent_labels:
            self.recent_box.add_widget(label)
        self.grid = GridLayout(cols=3, spacing=unit * 0.8, padding=unit * 0.8)
        self.cells: list[Cell] = []

        self.middle = BoxLayout(orientation="horizontal" if not self.portrait else "vertical")
        if self.portrait:
            self.newest_panel.size_hint_y = 0.22
            self.recent_box.size_hint_y = 0.24
            self.grid.size_hint_y = 0.54
            left = self.middle
        else:
            left = BoxLayout(orientation="vertical", size_hint_x=0.42)
            self.newest_panel.size_hint_y = 0.48
            self.recent_box.size_hint_y = 0.52
            self.grid.size_hint_x = 0.58
        left.add_widget(self.newest_panel)
        left.add_widget(self.recent_box)
        if left is not self.middle:
            self.middle.add_widget(left)
        self.middle.add_widget(self.grid)
        self.sunshine = SunshinePage(unit)
        self.body = BoxLayout()
        self.body.add_widget(self.middle)
        self.add_widget(self.body)

        self.waiting = GridLayout(
            cols=2 if not self.portrait else 1,
            size_hint_y=None,
            padding=(unit * 2, unit * 0.5),
        )
        self.waiting_labels: list[Label] = []
        self.add_widget(self.waiting)
        self.ticker = Ticker(font=unit * 4, size_hint_y=None, height=unit * 7)
        self.add_widget(self.ticker)
        self.page = "hall"

    def _cells(self, count: int) -> None:
        if len(self.cells) == count:
            return
        self.grid.clear_widgets()
        # Three across while they fit; a big hall gets a square-ish grid (portrait: narrower).
        wide = (
            math.ceil(math.sqrt(count * 1.2)) if not self.portrait else math.ceil(math.sqrt(count))
        )
        self.grid.cols = max(1, min(3, count)) if count <= 6 else max(3, wide)
        self.cells = [Cell(self.unit * (1 if count <= 9 else 0.8)) for _ in range(count)]
        for cell in self.cells:
            self.grid.add_widget(cell)

    def _waiting(self, lines: list[str]) -> None:
        if len(self.waiting_labels) != len(lines):
            self.waiting.clear_widgets()
            self.waiting_labels = [
                fit_label("", font=self.unit * 3.4, halign="left", color=TEXT) for _ in lines
            ]
            for label in self.waiting_labels:
                self.waiting.add_widget(label)
            rows = math.ceil(len(lines) / self.waiting.cols)
            self.waiting.height = self.unit * (5 * rows + 1)
        for label, line in zip(self.waiting_labels, lines, strict=True):
            set_text(label, line)

    def show(self, view: HallView) -> None:
        set_text(self.title, view.title)
        set_text(
            self.clock, f"{view.clock}   {view.window_page}" if view.window_page else view.clock
        )
        self.banner.show(view.stale)
        if view.page != self.page:
            self.page = view.page
            self.body.clear_widgets()
            self.body.add_widget(self.sunshine if view.page == "sunshine" else self.middle)
        if view.page == "sunshine":
            self.sunshine.show(view, self.strings["sunshine"], self.strings["sun_head"])
        set_text(self.newest, view.newest)
        self.newest_panel.set_color(FLASH if view.flash_on else PANEL)
        set_text(self.recent_head, self.strings["recent"] if view.recent else "")
        for label, text in zip(
            self.recent_labels, [*view.recent, "", "", "", "", ""], strict=False
        ):
            set_text(label, text)
        self._cells(len(view.windows))
        for cell, window in zip(self.cells, view.windows, strict=True):
            cell.show(window)
        self._waiting(view.waiting)
        self.ticker.set_text(view.notice)


class SunshinePage(Panel):
    """阳光公示: a table of each window's day."""

    def __init__(self, unit: float) -> None:
        super().__init__(orientation="vertical", color=None, padding=unit * 2)
        self.unit = unit
        self.heading = fit_label("", font=unit * 5.5, bold=True, color=NUMBER, size_hint_y=None)
        self.heading.height = unit * 9
        self.add_widget(self.heading)
        self.table = GridLayout(
            cols=5, spacing=unit * 0.3, row_force_default=True, row_default_height=unit * 9
        )
        self.add_widget(self.table)
        self.shape: tuple[int, int] = (0, 0)

    def show(self, view: HallView, heading: str = "", head: str = "") -> None:
        set_text(self.heading, heading or self.heading.text)
        rows = view.sunshine
        if self.shape != (len(rows), 5):
            self.table.clear_widgets()
            self.labels = [
                [fit_label("", font=self.unit * 4.2) for _ in range(5)]
                for _ in range(len(rows) + 1)
            ]
            for line in self.labels:
                for label in line:
                    self.table.add_widget(label)
            self.shape = (len(rows), 5)
        if head:
            for label, text in zip(self.labels[0], head.split("|"), strict=False):
                set_text(label, text)
                label.color = DIM
        for labels, row in zip(self.labels[1:], rows, strict=True):
            texts = (row.window, row.clerk, row.served, row.mean_time, row.good_share)
            for label, text in zip(labels, texts, strict=True):
                set_text(label, text)


class WindowLayout(Panel):
    """窗口屏: the window's name, the call (number large), the services, the clerk."""

    def __init__(self, width: float, height: float) -> None:
        super().__init__(orientation="vertical", color=None)
        unit = min(width, height) / 100
        self.unit = unit
        self.banner = StaleBanner(unit)
        header = Panel(color=HEADER, size_hint_y=0.2)
        self.title = fit_label("", font=unit * 12, bold=True)
        header.add_widget(self.title)
        self.main = Panel(color=PANEL, orientation="vertical", size_hint_y=0.55, padding=unit * 2)
        self.number = fit_label("", font=unit * 24, bold=True, color=NUMBER)
        self.headline = fit_label("", font=unit * 8, bold=True)
        self.main.add_widget(self.number)
        self.main.add_widget(self.headline)
        self.detail = fit_label("", font=unit * 4.6, color=TEXT, size_hint_y=0.13)
        self.clerk = fit_label("", font=unit * 5.5, color=DIM, size_hint_y=0.12)
        for widget in (self.banner, header, self.main, self.detail, self.clerk):
            self.add_widget(widget)

    def show(self, view: WindowView) -> None:
        self.banner.show(view.stale)
        set_text(self.title, view.title)
        set_text(self.number, view.number)
        self.number.size_hint_y = 0.62 if view.number else 0.001
        set_text(self.headline, view.headline)
        self.headline.font_size = self.unit * (8 if view.number else 14)
        set_text(self.detail, view.detail)
        set_text(self.clerk, view.clerk)
        colors = {"paused": PAUSED, "closed": CLOSED}
        self.main.set_color(FLASH if view.flash_on else colors.get(view.state, PANEL))
