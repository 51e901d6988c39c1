"""The Kivy App of `hallq display` (imported only after display.app configured Kivy)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from contract.hall_clock import HallClock
from display.app import SCREENSHOT_AFTER, Options, hall_zone, install_sigusr1
from display.hall_presenter import HallPresenter
from display.layouts import HallLayout, WindowLayout
from display.link import Link
from display.widgets import BACKGROUND
from display.window_presenter import WindowPresenter
from screens.screen_cli import write_json

log = logging.getLogger(__name__)

TICK = 0.25  # seconds: the flash's blink, the clock, the connection check


def on_ui_thread(work: Callable[[], None]) -> None:
    """The link's dispatcher: run `work` on Kivy's main thread, just before the next frame is
    drawn (timeout -1), so a call is on the very next frame."""
    Clock.schedule_once(lambda dt: work(), -1)


def renderer_name() -> str:
    from kivy.graphics.opengl import GL_RENDERER, glGetString

    name = glGetString(GL_RENDERER)
    return name.decode() if isinstance(name, bytes) else str(name)


def ticker_rate(renderer: str) -> float:
    """Steps a second of the scrolling notice: 30 on a GPU; on a software renderer (llvmpipe) each
    frame redraws the whole screen on the CPU, and 30 of them a second would keep a call waiting
    for the frame in progress, so the notice moves in 8 bigger steps a second."""
    return 8.0 if any(s in renderer.lower() for s in ("llvmpipe", "softpipe", "swrast")) else 30.0


def label_texts(root: Widget) -> list[str]:
    """Every text a label in the tree draws (the glyph check reads them)."""
    return sorted({w.text for w in root.walk() if isinstance(w, Label) and w.text})


def flip_report(flips: list[tuple[int, float, float]], frames: list[float]) -> dict[str, Any]:
    """What bench/display.py reads: (seq, label changed, frame drawn) per newest call, every frame's
    time, the renderer and this process's resident memory."""
    rss_kb = 0
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
    return {
        "flips": flips,
        "frames": frames,
        "renderer": renderer_name(),
        "rss_mb": rss_kb / 1024,
    }


class DisplayApp(App):  # type: ignore[misc]
    def __init__(self, options: Options, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.options = options
        self.settings = options.settings
        self.hall_clock = HallClock(hall_zone())
        self.presenter: HallPresenter | WindowPresenter
        if self.settings.kind == "window":
            self.presenter = WindowPresenter(self.settings)
        else:
            self.presenter = HallPresenter(self.settings, self.hall_clock.now)
        self.layout: HallLayout | WindowLayout | None = None
        self.shoot = threading.Event()
        self.leave = threading.Event()
        # Before the next frame (-1): messages applied in this frame are drawn in it, once.
        self.redraw_soon = Clock.create_trigger(self.redraw, -1)
        self.link = Link(
            options.address,
            options.site,
            options.device_id,
            self.presenter,
            self.hall_clock,
            on_ui_thread,
            self.changed,
            window=self.settings.window if self.settings.kind == "window" else None,
        )
        if options.from_hall:  # new settings: quit, and the service manager starts it anew
            self.link.settings_in_use = self.settings.raw
            self.link.settings_changed = self.stop
        # bench/display.py: when each newest call's text changed, and the frame that drew it.
        self.flips: list[tuple[int, float, float]] = []
        self._changed: tuple[int, float] | None = None
        self._last_seq: int | None = None
        self.frames: list[float] = []

    def build(self) -> Widget:
        self.title = f"hallq display {self.options.device_id}"
        Window.clearcolor = BACKGROUND  # the ground is the cleared window: no full-screen quad
        width, height = Window.size
        if (height > width) != (self.settings.orientation == "portrait"):
            log.warning(
                "display %s: set up as %s but the screen is %dx%d: rotate the output "
                "(HALLQ_ROTATE, docs/display.md); the layout follows the screen",
                self.options.device_id,
                self.settings.orientation,
                width,
                height,
            )
        if self.settings.kind == "window":
            self.layout = WindowLayout(width, height)
        else:
            self.layout = HallLayout(width, height, self.presenter.strings)
        return self.layout

    def on_start(self) -> None:
        install_sigusr1(self.shoot)
        for signum in (signal.SIGINT, signal.SIGTERM):  # leave cleanly (exit 0), at the next tick
            signal.signal(signum, lambda signum, frame: self.leave.set())
        self.link.start()
        Clock.schedule_interval(self.tick, TICK)
        if isinstance(self.layout, HallLayout):
            ticker = self.layout.ticker
            Clock.schedule_interval(ticker.step, 1 / ticker_rate(renderer_name()))
        if self.options.screenshot_dir:
            self.options.screenshot_dir.mkdir(parents=True, exist_ok=True)
            Clock.schedule_once(lambda dt: self.shoot.set(), SCREENSHOT_AFTER)
            if self.options.screenshot_every:
                Clock.schedule_interval(lambda dt: self.shoot.set(), self.options.screenshot_every)
        if self.options.state_file:
            Clock.schedule_interval(lambda dt: self.write_state(), 1.0)
        if self.options.exit_after:
            if self.options.screenshot_dir:  # and the last state, just before leaving
                Clock.schedule_once(
                    lambda dt: self.shoot.set(), max(0, self.options.exit_after - 1)
                )
            Clock.schedule_once(lambda dt: self.stop(), self.options.exit_after)
        if self.options.flip_log:
            Window.bind(on_flip=self.on_flip)
        log.info(
            "display %s: %s screen, %dx%d", self.options.device_id, self.settings.kind, *Window.size
        )

    def on_stop(self) -> None:
        self.link.stop()
        if self.options.flip_log:
            write_json(self.options.flip_log, flip_report(self.flips, self.frames))

    def changed(self, urgent: bool) -> None:
        """A call or the hall's status: on the next frame. The rest (boards, window states; a
        busy hall sends many) waits for the next tick, so a burst costs one redraw a tick."""
        if urgent:
            self.redraw_soon()

    def tick(self, dt: float) -> None:
        if self.leave.is_set():
            self.stop()
            return
        self.link.poll()
        self.redraw()
        if self.shoot.is_set():
            self.shoot.clear()
            Clock.schedule_once(lambda dt: self.screenshot(), 0)

    def redraw(self, *_: Any) -> None:
        if self.layout is None:
            return
        view = self.presenter.view(time.monotonic())
        self.layout.show(view)  # type: ignore[arg-type]
        if self.options.flip_log:
            seq = self.presenter.order.last
            if seq is not None and seq != self._last_seq:
                self._last_seq = seq
                self._changed = (seq, time.monotonic())

    def on_flip(self, window: Any) -> None:
        now = time.monotonic()
        self.frames.append(now)
        if self._changed is not None:
            seq, changed = self._changed
            self.flips.append((seq, changed, now))
            self._changed = None

    def screenshot(self) -> None:
        folder = self.options.screenshot_dir
        if folder is None:
            return
        written = Window.screenshot(name=str(folder / f"{self.options.device_id}-.png"))
        if written:  # Kivy numbers its screenshots: keep one file per display
            target = folder / f"{self.options.device_id}.png"
            Path(written).replace(target)
            log.info("display %s: screenshot %s", self.options.device_id, target)

    def write_state(self) -> None:
        if self.options.state_file is None or self.layout is None:
            return
        state = self.presenter.drawn_state()
        state.update(
            size=list(Window.size),
            kind=self.settings.kind,
            page=getattr(self.layout, "page", None),
            texts=label_texts(self.layout),
            at=time.time(),
        )
        write_json(self.options.state_file, state)
