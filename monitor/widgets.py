"""Thin Kivy widgets of the monitoring room (1920x1080 landscape): a header that always shows the
link and the newest alarm, and four tabs (overview, alarms, devices, operations). They hold no logic:
`MonitorLayout.show(view)` draws what the presenter says; buttons call back into the app."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from kivy.graphics import Color, Line, Rectangle
from kivy.properties import ObjectProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.checkbox import CheckBox
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.popup import Popup
from kivy.uix.recycleboxlayout import RecycleBoxLayout
from kivy.uix.recycleview import RecycleView
from kivy.uix.scrollview import ScrollView
from kivy.uix.spinner import Spinner
from kivy.uix.tabbedpanel import TabbedPanel, TabbedPanelItem
from kivy.uix.textinput import TextInput
from kivy.uix.widget import Widget

from monitor.presenter import FORMS, AlarmRow, MonitorView, OpForm, QueueRow, WindowRow

CASE_COLOR: dict[str, tuple[float, ...]] = {"overdue": (1, 0.35, 0.35, 1), "near": (1, 0.85, 0.2, 1)}  # fmt: skip

BACKGROUND = (0.05, 0.08, 0.14, 1)
PANEL = (0.1, 0.14, 0.22, 1)
TEXT = (1, 1, 1, 1)
DIM = (0.7, 0.76, 0.86, 1)
GOOD = (0.3, 0.8, 0.4, 1)
WARN = (1, 0.7, 0.2, 1)
BAD = (1, 0.35, 0.35, 1)
SEVERITY_BG = {"critical": (0.6, 0.08, 0.08, 1), "warn": (0.55, 0.35, 0.02, 1)}
STATUS_COLOR = {"open": GOOD, "paused": WARN, "closed": DIM}
LEVEL_COLOR = {"ok": GOOD, "warn": WARN, "bad": BAD}
FONT = 26  # read at a desk or on a wall from a few metres


class Painted(BoxLayout):  # type: ignore[misc]
    def __init__(self, color: tuple[float, ...] = PANEL, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        with self.canvas.before:
            self._color = Color(*color)
            self._rect = Rectangle(pos=self.pos, size=self.size)
        self.bind(pos=self._sync, size=self._sync)

    def _sync(self, *_: Any) -> None:
        self._rect.pos, self._rect.size = self.pos, self.size

    def set_color(self, color: tuple[float, ...]) -> None:
        self._color.rgba = color


def label(
    text: str = "", size: float = FONT, color: tuple[float, ...] = TEXT, **kwargs: Any
) -> Label:
    kwargs.setdefault("halign", "left")
    kwargs.setdefault("valign", "middle")
    widget = Label(text=text, font_size=size, color=color, shorten=True, **kwargs)
    widget.bind(size=lambda w, s: setattr(w, "text_size", s))
    return widget


def button(text: str, on_press: Callable[[], None], size: float = FONT, **kwargs: Any) -> Button:
    widget = Button(text=text, font_size=size, **kwargs)
    widget.bind(on_release=lambda *_: on_press())
    return widget


class Chart(Widget):  # type: ignore[misc]
    """The last hours of a queue: a line of waiting people, one point a minute."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.values: list[int] = []
        self.bind(pos=self._draw, size=self._draw)

    def set_values(self, values: list[int]) -> None:
        if values != self.values:
            self.values = list(values)
            self._draw()

    def _draw(self, *_: Any) -> None:
        self.canvas.clear()
        with self.canvas:
            Color(0.16, 0.2, 0.3, 1)
            Rectangle(pos=self.pos, size=self.size)
            if not self.values:
                return
            values = self.values if len(self.values) > 1 else self.values * 2  # one: a flat line
            top = max(max(values) * 1.25, 5)  # the line stays off the top edge
            step = self.width / max(len(values) - 1, 1)
            points: list[float] = []
            for i, value in enumerate(values):
                points += [self.x + i * step, self.y + 4 + (self.height - 8) * value / top]
            Color(0.4, 0.75, 1, 1)
            Line(points=points, width=2)


class TableRow(BoxLayout):  # type: ignore[misc]
    """One row of a Table: its cells' labels are made once; `cells` = (texts, colours) is set by the
    RecycleView as rows scroll into view."""

    cells = ObjectProperty(None, allownone=True)
    widths: tuple[float, ...] = ()
    sizes: tuple[float, ...] = ()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(orientation="horizontal", **kwargs)
        cells = zip(self.widths, self.sizes, strict=True)
        self.labels = [label("", size, size_hint_x=width) for width, size in cells]
        for widget in self.labels:
            self.add_widget(widget)

    def on_cells(self, _: Any, cells: Any) -> None:
        if cells is None:
            return
        texts, colors = cells
        for widget, text, color in zip(self.labels, texts, colors, strict=False):
            widget.text, widget.color = text, color


class Table(RecycleView):  # type: ignore[misc]
    """Rows drawn only while in view: a prefecture hall has 105 windows and 240 devices, and every
    label is a texture."""

    def __init__(self, widths: tuple[float, ...], sizes: tuple[float, ...], height: float,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(**kwargs)
        self.data: list[dict[str, Any]] = []
        rows = RecycleBoxLayout(
            orientation="vertical",
            default_size=(None, height),
            default_size_hint=(1, None),
            size_hint_y=None,
            spacing=2,
        )
        rows.bind(minimum_height=rows.setter("height"))
        self.add_widget(rows)
        # After the layout manager: a viewclass set before it is never used.
        self.viewclass = type("Row", (TableRow,), {"widths": widths, "sizes": sizes})

    def show(self, rows: list[tuple[tuple[str, ...], tuple[tuple[float, ...], ...]]]) -> None:
        data = [{"cells": row} for row in rows]
        if data != list(self.data):
            self.data = data


class OverviewTab(BoxLayout):  # type: ignore[misc]
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(orientation="horizontal", spacing=16, padding=12, **kwargs)
        left = BoxLayout(orientation="vertical", size_hint_x=0.55, spacing=4)
        left.add_widget(label("窗口", 30, DIM, size_hint_y=None, height=44))
        widths = (0.2, 0.36, 0.16, 0.16, 0.12)
        head = BoxLayout(size_hint_y=None, height=40)
        for text, width in zip(
            ("窗口", "状态", "工作人员", "当前号", "状态起于"), widths, strict=True
        ):
            head.add_widget(label(text, 24, DIM, size_hint_x=width))
        left.add_widget(head)
        self.windows = Table(widths, (30, 30, 30, 34, 26), 52)
        left.add_widget(self.windows)
        right = BoxLayout(orientation="vertical", size_hint_x=0.45, spacing=8)
        right.add_widget(label("排队（近4小时，每分钟）", 30, DIM, size_hint_y=None, height=44))
        self.queues = GridLayout(cols=1, size_hint_y=None, row_default_height=76, spacing=6)
        self.queues.bind(minimum_height=self.queues.setter("height"))
        queue_scroll = ScrollView()
        queue_scroll.add_widget(self.queues)
        right.add_widget(queue_scroll)
        right.add_widget(label("今日数据", 30, DIM, size_hint_y=None, height=44))
        self.figures = GridLayout(cols=4, size_hint_y=None, height=170, spacing=4)
        right.add_widget(self.figures)
        self.add_widget(left)
        self.add_widget(right)
        self._charts: dict[str, tuple[Label, Chart, Label]] = {}
        self._figures: list[tuple[Label, Label]] = []
        self._shown: Any = None

    def show(self, view: MonitorView) -> None:
        self._show_windows(view.windows)
        self._show_queues(view.queues)
        for i, (name, value) in enumerate(view.figures):
            if i >= len(self._figures):
                box = Painted(orientation="vertical", padding=4)
                pair = (label("", 36, TEXT, halign="center"), label("", 22, DIM, halign="center"))
                box.add_widget(pair[0])
                box.add_widget(pair[1])
                self.figures.add_widget(box)
                self._figures.append(pair)
            self._figures[i][0].text, self._figures[i][1].text = value, name

    def _show_windows(self, rows: list[WindowRow]) -> None:
        number = (1, 0.84, 0.2, 1)
        self.windows.show([
            ((row.name, row.status_zh + (f"（{row.reason}）" if row.reason else ""),
              row.clerk or "—", row.ticket or "—", row.since),
             (TEXT, STATUS_COLOR.get(row.status, TEXT), TEXT, number, DIM))
            for row in rows
        ])  # fmt: skip

    def _show_queues(self, rows: list[QueueRow]) -> None:
        for row in rows:
            if row.code not in self._charts:
                line = BoxLayout(orientation="horizontal", spacing=8)
                words = BoxLayout(orientation="vertical", size_hint_x=0.62)
                text = label("", 28)
                closed = label("", 22, WARN)
                words.add_widget(text)
                words.add_widget(closed)
                chart = Chart(size_hint_x=0.38)
                line.add_widget(words)
                line.add_widget(chart)
                self.queues.add_widget(line)
                self._charts[row.code] = (text, chart, closed)
            text, chart, closed = self._charts[row.code]
            text.text = f"{row.name}  等候 {row.waiting}  最久 {row.longest_min} 分"
            text.color = BAD if row.longest_min >= 30 else TEXT
            chart.set_values(row.history)
            closed.text = "不能取号：" + "、".join(row.closed) if row.closed else ""


class AlarmsTab(BoxLayout):  # type: ignore[misc]
    def __init__(
        self, ack: Callable[[AlarmRow], None], follow_up: Callable[[AlarmRow], None], **kwargs: Any
    ) -> None:
        super().__init__(orientation="vertical", padding=12, spacing=6, **kwargs)
        self.ack, self.follow_up = ack, follow_up
        self.list = GridLayout(cols=1, size_hint_y=None, spacing=6)
        self.list.bind(minimum_height=self.list.setter("height"))
        scroll = ScrollView()
        scroll.add_widget(self.list)
        self.add_widget(scroll)
        self.buttons: dict[tuple[str, str], Button] = {}  # (alarm id, "ack"|"note") -> button
        self._shown: Any = None

    def show(self, alarms: list[AlarmRow]) -> None:
        if alarms == self._shown:
            return
        self._shown = list(alarms)
        self.list.clear_widgets()
        self.buttons.clear()
        if not alarms:
            self.list.add_widget(label("没有未解除的告警", 30, GOOD, size_hint_y=None, height=60))
        for alarm in alarms:
            row = Painted(
                SEVERITY_BG.get(alarm.severity, PANEL) if not alarm.acked else PANEL,
                orientation="horizontal",
                size_hint_y=None,
                height=96 + 30 * min(len(alarm.notes), 3),
                padding=8,
                spacing=8,
            )
            text = BoxLayout(orientation="vertical")
            text.add_widget(label(f"{alarm.at}  {alarm.title}  {alarm.subject}", 30))
            text.add_widget(label(alarm.text, 26, TEXT))  # on amber or red: white reads best
            for note in alarm.notes[-3:]:
                text.add_widget(label("跟进 " + note, 22, TEXT))
            row.add_widget(text)
            side = BoxLayout(orientation="vertical", size_hint_x=None, width=420, spacing=4)
            side.add_widget(label(alarm.acked or "未确认", 24, DIM if alarm.acked else TEXT))
            buttons = BoxLayout(spacing=8)
            ack = button("确认", partial(self.ack, alarm), disabled=bool(alarm.acked))
            note = button("跟进…", partial(self.follow_up, alarm))
            buttons.add_widget(ack)
            buttons.add_widget(note)
            side.add_widget(buttons)
            row.add_widget(side)
            self.buttons[(alarm.id, "ack")] = ack
            self.buttons[(alarm.id, "note")] = note
            self.list.add_widget(row)


class DevicesTab(BoxLayout):  # type: ignore[misc]
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(orientation="vertical", padding=12, **kwargs)
        widths = (0.25, 0.15, 0.6)
        head = BoxLayout(size_hint_y=None, height=40)
        for text, width in zip(
            ("设备", "类别", "在线 · 状况（离线与故障在前）"), widths, strict=True
        ):
            head.add_widget(label(text, 24, DIM, size_hint_x=width))
        self.add_widget(head)
        self.table = Table(widths, (FONT, FONT, FONT), 44)
        self.add_widget(self.table)

    def show(self, view: MonitorView) -> None:
        self.table.show([
            ((d.id, d.kind, d.health), (TEXT, DIM, LEVEL_COLOR[d.level])) for d in view.devices
        ])  # fmt: skip


class CasesTab(BoxLayout):  # type: ignore[misc]
    """Time limits (电子监察): open cases by state per department, then the red and yellow ones."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(orientation="vertical", padding=12, spacing=8, **kwargs)
        widths = (0.4, 0.2, 0.2, 0.2)
        head = BoxLayout(size_hint_y=None, height=40)
        for text, width in zip(("部门", "正常", "临期", "超期"), widths, strict=True):
            head.add_widget(label(text, 24, DIM, size_hint_x=width))
        self.add_widget(head)
        self.counts = Table(widths, (FONT, FONT, FONT, FONT), 44, size_hint_y=0.35)
        self.add_widget(self.counts)
        late = (0.12, 0.2, 0.16, 0.14, 0.12, 0.12, 0.14)
        self.add_widget(label("临期与超期（超期在前）", 26, size_hint_y=None, height=44))
        head = BoxLayout(size_hint_y=None, height=40)
        titles = ("号", "事项", "部门", "受理窗口", "受理", "到期", "状态")
        for text, width in zip(titles, late, strict=True):
            head.add_widget(label(text, 24, DIM, size_hint_x=width))
        self.add_widget(head)
        self.late = Table(late, (FONT,) * 7, 44)
        self.add_widget(self.late)

    def show(self, view: MonitorView) -> None:
        self.counts.show([
            ((r.name, str(r.ok), str(r.near), str(r.overdue)),
             (TEXT, GOOD if r.ok else DIM, WARN if r.near else DIM, BAD if r.overdue else DIM))
            for r in view.case_counts
        ])  # fmt: skip
        rows: list[tuple[tuple[str, ...], tuple[tuple[float, ...], ...]]] = []
        for c in view.late_cases:
            late = f"{c.state_zh} {-c.days_left}天" if c.state == "overdue" else c.state_zh
            colour = CASE_COLOR[c.state]
            texts = (c.number, c.service, c.department, c.window, c.accepted[5:], c.due[5:], late)
            rows.append((texts, (colour, TEXT, DIM, DIM, DIM, colour, colour)))
        self.late.show(rows)


class OperationsTab(BoxLayout):  # type: ignore[misc]
    """The operator's ops: pick one on the left; the right says what it does and takes its fields."""

    def __init__(
        self,
        choices: Callable[[str], list[tuple[str, str]]],
        submit: Callable[[OpForm, dict[str, str]], None],
        **kwargs: Any,
    ) -> None:
        super().__init__(orientation="horizontal", padding=12, spacing=16, **kwargs)
        self.choices, self.submit = choices, submit
        menu = BoxLayout(orientation="vertical", size_hint_x=0.25, spacing=6)
        self.menu: dict[str, Button] = {}
        for form in FORMS:
            self.menu[form.key] = button(form.title, partial(self.select, form.key))
            menu.add_widget(self.menu[form.key])
        self.add_widget(menu)
        self.body = BoxLayout(orientation="vertical", spacing=10)
        self.add_widget(self.body)
        self.inputs: dict[str, TextInput | Spinner] = {}
        self.send: Button | None = None
        self.form: OpForm | None = None
        self.select(FORMS[0].key)

    def select(self, key: str) -> None:
        form = next(f for f in FORMS if f.key == key)
        self.form = form
        for other, item in self.menu.items():  # the chosen op stands out
            item.background_color = (0.3, 0.6, 1, 1) if other == key else (1, 1, 1, 1)
        self.body.clear_widgets()
        self.inputs = {}
        self.body.add_widget(label(form.title, 36, size_hint_y=None, height=56))
        self.body.add_widget(label(form.explains, 26, DIM, size_hint_y=None, height=48))
        for field in form.fields:
            line = BoxLayout(size_hint_y=None, height=64, spacing=10)
            line.add_widget(label(field.label, size_hint_x=0.3))
            widget: TextInput | Spinner
            if field.kind in ("service", "window"):
                values = [f"{code} {name}" for code, name in self.choices(field.kind)]
                widget = Spinner(text="请选择", values=values, font_size=FONT)
                widget.option_cls.font_size = FONT
            else:
                widget = TextInput(multiline=False, font_size=FONT)
            self.inputs[field.name] = widget
            line.add_widget(widget)
            self.body.add_widget(line)
        self.send = button("提交…", self._send, size_hint_y=None, height=70)
        self.body.add_widget(self.send)
        self.body.add_widget(Widget())

    def values(self) -> dict[str, str]:
        out = {}
        for name, widget in self.inputs.items():
            text = widget.text
            if isinstance(widget, Spinner):
                text = "" if text == "请选择" else text.split(" ", 1)[0]
            out[name] = text
        return out

    def _send(self) -> None:
        if self.form is not None:
            self.submit(self.form, self.values())


class MonitorLayout(BoxLayout):  # type: ignore[misc]
    def __init__(
        self,
        choices: Callable[[str], list[tuple[str, str]]],
        submit: Callable[[OpForm, dict[str, str]], None],
        ack: Callable[[AlarmRow], None],
        follow_up: Callable[[AlarmRow], None],
        **kwargs: Any,
    ) -> None:
        super().__init__(orientation="vertical", **kwargs)
        header = Painted((0.02, 0.04, 0.09, 1), size_hint_y=None, height=70, padding=(16, 4))
        self.title = label("大厅监控", 34)
        self.clock = label("", 30, DIM, halign="right", size_hint_x=0.3)
        header.add_widget(self.title)
        header.add_widget(self.clock)
        self.add_widget(header)
        self.banner = Painted(PANEL, size_hint_y=None, height=60, padding=(16, 2))
        self.banner_text = label("", 28)
        self.banner.add_widget(self.banner_text)
        self.add_widget(self.banner)
        self.tabs = TabbedPanel(
            do_default_tab=False, tab_width=260, tab_height=56, background_color=(0.3, 0.4, 0.6, 1)
        )
        self.overview = OverviewTab()
        self.alarms = AlarmsTab(ack, follow_up)
        self.devices = DevicesTab()
        self.cases = CasesTab()
        self.operations = OperationsTab(choices, submit)
        self.tab_items: dict[str, TabbedPanelItem] = {}
        for key, title, content in (
            ("overview", "总览", self.overview),
            ("alarms", "告警", self.alarms),
            ("devices", "设备", self.devices),
            ("cases", "受理件", self.cases),
            ("operations", "操作", self.operations),
        ):
            item = TabbedPanelItem(text=title, font_size=28)
            item.add_widget(content)
            self.tabs.add_widget(item)
            self.tab_items[key] = item
        self.add_widget(self.tabs)
        self.tabs.switch_to(self.tab_items["overview"], do_scroll=False)
        self._stale = True
        self.tabs.bind(current_tab=self.on_tab)
        self.footer = label("", 30, DIM, size_hint_y=None, height=50, padding=(16, 0))
        self.add_widget(self.footer)

    def show_tab(self, key: str) -> None:
        self.tabs.switch_to(self.tab_items[key], do_scroll=False)

    def current(self) -> str:
        return next(k for k, item in self.tab_items.items() if item is self.tabs.current_tab)

    def show(self, view: MonitorView, full: bool = True) -> None:
        """The header (with the newest alarm) and the alarms tab in view at once; the overview and
        devices (a big hall's hundreds of rows) only in a full redraw (once a second) and only the
        tab in view."""
        self.title.text = "大厅监控" + (f" · {view.site}" if view.site else "")
        self.title.text += f"    公告：{view.notice}" if view.notice else ""
        self.clock.text = view.now
        severity = view.alarms[0].severity if view.alarms else ""
        if view.link:
            self.banner.set_color((0.6, 0.08, 0.08, 1))
            self.banner_text.text = view.link
        elif view.alarms:
            self.banner.set_color(SEVERITY_BG.get(severity, PANEL))
            self.banner_text.text = f"最新告警（共 {len(view.alarms)} 条）  {view.newest_alarm}"
        else:
            self.banner.set_color(PANEL)
            self.banner_text.text = "连接正常 · 没有未解除的告警"
        open_alarms = sum(1 for a in view.alarms if not a.acked)
        self.tab_items["alarms"].text = f"告警 {open_alarms}/{len(view.alarms)}"
        bad = sum(1 for d in view.devices if d.level == "bad")
        self.tab_items["devices"].text = f"设备（{bad} 异常）" if bad else "设备"
        overdue = sum(r.overdue for r in view.case_counts)
        self.tab_items["cases"].text = f"受理件（{overdue} 超期）" if overdue else "受理件"
        self.footer.text = view.message
        failed = "未完成" in view.message or "请" in view.message
        self.footer.color = WARN if failed else GOOD if "已完成" in view.message else DIM
        tab = self.current()
        if tab == "alarms":  # the header shows the newest alarm on every tab
            self.alarms.show(view.alarms)
        if full or self._stale:
            self._stale = False
            if tab == "overview":
                self.overview.show(view)
            elif tab == "devices":
                self.devices.show(view)
            elif tab == "cases":
                self.cases.show(view)

    def on_tab(self, *_: Any) -> None:
        self._stale = True  # a tab just switched to: draw it at the next redraw


def confirm(question: str, on_yes: Callable[[], None]) -> Popup:
    """A yes/no question before an op that visitors feel."""
    box = BoxLayout(orientation="vertical", padding=16, spacing=16)
    box.add_widget(label(question, 28, halign="center"))
    buttons = BoxLayout(size_hint_y=None, height=80, spacing=20)
    popup = Popup(title="请确认", title_size=28, content=box, size_hint=(0.55, 0.4))

    def yes() -> None:
        popup.dismiss()
        on_yes()

    popup.yes = button("确定", yes)
    buttons.add_widget(popup.yes)
    buttons.add_widget(button("取消", popup.dismiss))
    box.add_widget(buttons)
    popup.open()
    return popup


def note_dialog(alarm: AlarmRow, on_send: Callable[[str, bool], None]) -> Popup:
    """A follow-up note for an alarm; single-event alarms (a bad rating, a kiosk's call for help)
    can be closed with it."""
    box = BoxLayout(orientation="vertical", padding=16, spacing=12)
    box.add_widget(label(f"{alarm.title} {alarm.subject}：{alarm.text}", 26))
    text = TextInput(multiline=False, font_size=FONT, size_hint_y=None, height=60)
    box.add_widget(text)
    close = CheckBox(active=alarm.closable, disabled=not alarm.closable, size_hint_x=None, width=60)
    line = BoxLayout(size_hint_y=None, height=50)
    line.add_widget(close)
    line.add_widget(label("已处理完毕，关闭此告警" if alarm.closable else "此告警随情况解除而关闭"))
    box.add_widget(line)
    popup = Popup(title="跟进告警", title_size=28, content=box, size_hint=(0.6, 0.5))
    popup.text, popup.close_box = text, close

    def send() -> None:
        popup.dismiss()
        on_send(text.text, bool(close.active))

    popup.send = button("提交跟进", send, size_hint_y=None, height=70)
    box.add_widget(popup.send)
    popup.open()
    return popup
