"""The Kivy App of `hallq monitor` (imported only after monitor.app configured Kivy)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.label import Label
from kivy.uix.popup import Popup
from kivy.uix.widget import Widget

from contract import topics
from contract.hall_clock import HallClock
from monitor.app import Options
from monitor.link import MonitorLink
from monitor.presenter import AlarmRow, FormError, MonitorPresenter, OpForm
from monitor.widgets import BACKGROUND, MonitorLayout, confirm, note_dialog
from screens.screen_cli import write_json

log = logging.getLogger(__name__)

TICK = 1.0  # seconds: the clock, the coalesced (full) redraw of a busy hall's updates
SCREENSHOT_AFTER = 4.0


def on_ui_thread(work: Callable[[], None]) -> None:
    """The client's dispatcher: run `work` on Kivy's main thread before the next frame."""
    Clock.schedule_once(lambda dt: work(), -1)


def label_texts(root: Widget) -> list[str]:
    return sorted({w.text for w in root.walk() if isinstance(w, Label) and w.text})


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class MonitorApp(App):  # type: ignore[misc]
    def __init__(self, options: Options, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.options = options
        self.hall_clock = HallClock(ZoneInfo("Asia/Shanghai"))
        self.presenter = MonitorPresenter(options.operator_id, self.now)
        self.layout: MonitorLayout | None = None
        self.popup: Popup | None = None  # the open confirmation or follow-up (the test driver)
        self.shoot = threading.Event()
        self.leave = threading.Event()
        # Alarms, the link, an op's outcome: the header and alarms on the very next frame.
        self.redraw_soon = Clock.create_trigger(lambda dt: self.redraw(full=False), -1)
        self.link = MonitorLink(
            options.address, options.site, options.operator_id, self.presenter, on_ui_thread,
            self.changed,
        )  # fmt: skip
        self.drawn: dict[str, float] = {}  # alarm id -> wall time of the first frame showing it
        self._undrawn: set[str] = set()

    def now(self) -> datetime:
        return self.hall_clock.now()

    def build(self) -> Widget:
        self.title = f"hallq monitor {self.options.operator_id}"
        Window.clearcolor = BACKGROUND
        self.layout = MonitorLayout(self.presenter_choices, self.submit, self.ack, self.follow_up)
        return self.layout

    def on_start(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda signum, frame: self.leave.set())
        if hasattr(signal, "SIGUSR1"):
            signal.signal(signal.SIGUSR1, lambda signum, frame: self.shoot.set())
        self.link.start()
        assert self.link.client is not None
        self.link.client.subscribe_json(topics.clock(self.options.site), self.hall_clock.on_clock)
        Clock.schedule_interval(self.tick, TICK)
        if self.options.screenshot_dir:
            self.options.screenshot_dir.mkdir(parents=True, exist_ok=True)
            Clock.schedule_once(lambda dt: self.shoot.set(), SCREENSHOT_AFTER)
        if self.options.state_file:
            Clock.schedule_interval(lambda dt: self.write_state(), 1.0)
        if self.options.exit_after:
            Clock.schedule_once(lambda dt: self.stop(), self.options.exit_after)
        if self.options.draw_log:
            Window.bind(on_flip=self.on_flip)
            Clock.schedule_interval(lambda dt: self.write_draw_log(), 1.0)

    def on_stop(self) -> None:
        self.link.stop()
        if self.options.draw_log:
            self.write_draw_log()

    # -- drawing
    def changed(self, urgent: bool) -> None:
        if urgent:  # an alarm, the link, an op's outcome: on the next frame
            self.redraw_soon()

    def tick(self, dt: float) -> None:
        if self.leave.is_set():
            self.stop()
            return
        self.redraw()
        if self.shoot.is_set():
            self.shoot.clear()
            Clock.schedule_once(lambda dt: self.screenshot(), 0)

    def redraw(self, *_: Any, full: bool = True) -> None:
        if self.layout is None:
            return
        view = self.presenter.view()
        self.layout.show(view, full)
        for alarm in view.alarms:
            if alarm.id not in self.drawn:
                self._undrawn.add(alarm.id)

    def on_flip(self, window: Any) -> None:
        if self._undrawn:
            now = time.time()
            for alarm in self._undrawn:
                self.drawn.setdefault(alarm, now)
            self._undrawn.clear()

    def write_draw_log(self) -> None:
        if self.options.draw_log:
            write_json(self.options.draw_log, {"drawn": self.drawn, "rss_mb": rss_mb()})

    # -- the operator's actions
    def presenter_choices(self, kind: str) -> list[tuple[str, str]]:
        if kind == "service":
            return self.presenter.services()
        names = {w["id"]: w.get("name", "") for w in self.presenter.catalog.get("windows") or []}
        return [(w, names.get(w, "")) for w in self.presenter.window_ids()]

    def submit(self, form: OpForm, values: dict[str, str]) -> None:
        try:
            prepared = self.presenter.prepare(form.key, values)
        except FormError as exc:
            self.presenter.message = f"{form.title}：{exc}"
            self.redraw_soon()
            return

        def send() -> None:
            self.popup = None
            self.link.send(form.title, prepared.op, prepared.fields)
            self.redraw_soon()

        if prepared.confirm:
            self.popup = confirm(prepared.summary, send)
        else:
            send()

    def ack(self, alarm: AlarmRow) -> None:
        self.link.send(f"确认告警 {alarm.title}", "alarm_ack", {"alarm": alarm.id})
        self.redraw_soon()

    def follow_up(self, alarm: AlarmRow) -> None:
        def send(text: str, close: bool) -> None:
            self.popup = None
            if not text.strip():
                self.presenter.message = "跟进：请写下做了什么"
                self.redraw_soon()
                return
            fields = {"alarm": alarm.id, "text": text.strip(), "close": close}
            self.link.send(f"跟进告警 {alarm.title}", "alarm_note", fields)

        self.popup = note_dialog(alarm, send)

    # -- what tests read
    def screenshot(self, name: str | None = None) -> Path | None:
        folder = self.options.screenshot_dir
        if folder is None:
            return None
        stem = name or self.options.operator_id
        written = Window.screenshot(name=str(folder / f"{stem}-.png"))
        if not written:
            return None
        target = folder / f"{stem}.png"
        Path(written).replace(target)
        return target

    def state(self) -> dict[str, Any]:
        texts = label_texts(self.layout) if self.layout is not None else []
        if self.popup is not None:
            texts += label_texts(self.popup)
        p = self.presenter
        return {
            "texts": texts,
            "connected": p.connected,
            "windows": {w: s.get("status") for w, s in p.states.items()},
            "alarms": [a.get("id") for a in p.alarms],
            "message": p.message,
            "notice": p.catalog.get("notice"),
            "size": list(Window.size),
            "at": time.time(),
        }

    def write_state(self) -> None:
        if self.options.state_file is not None:
            write_json(self.options.state_file, self.state())
