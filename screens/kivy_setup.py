"""What the Kivy apps share (the kiosk, the terminal, the evaluator; the display and the monitor for
Kivy's settings): Kivy's settings before import, the CJK font, the hop of network results onto the
main loop, and the few widget helpers they draw with."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
FONT = "hallq-cjk"


def kivy_environment(
    windowed: bool, size: tuple[int, int], at: tuple[int, int] | None = None
) -> None:
    """Kivy reads its settings at import: set them first (no file logs, no argv parsing)."""
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    Config = _before_kivy()
    Config.set("graphics", "width", str(size[0]))
    Config.set("graphics", "height", str(size[1]))
    Config.set("graphics", "fullscreen", "0" if windowed else "auto")
    Config.set("graphics", "borderless", "0" if windowed else "1")
    if windowed and at is not None:  # the demo puts the terminal and the evaluator side by side
        Config.set("graphics", "position", "custom")
        Config.set("graphics", "left", str(at[0]))
        Config.set("graphics", "top", str(at[1]))
    # Flat rectangles and text, no slanted edge to smooth: Kivy's default 2x multisampling costs
    # 62 MB resident at 1080x1920 on llvmpipe (the kiosk's goal is 250 MB) and draws the same.
    Config.set("graphics", "multisamples", "0")
    # An answer from the hall runs as soon as it arrives, not at the next frame boundary.
    Config.set("kivy", "kivy_clock", "interrupt")


def wall_screen_environment(size: tuple[int, int] | None, maxfps: int) -> None:
    """The same for the display and the monitor, before Kivy is imported: Kivy's home in a temp
    folder unless set, full screen (or a window of `size`), at most `maxfps` frames a second, the
    CJK font as Kivy's default."""
    os.environ.setdefault("KIVY_HOME", str(Path(tempfile.gettempdir()) / "hallq-kivy"))
    Config = _before_kivy()
    if size:
        Config.set("graphics", "fullscreen", "0")
        Config.set("graphics", "width", str(size[0]))
        Config.set("graphics", "height", str(size[1]))
    else:
        # A borderless window the size of the screen (under a window manager, or none).
        Config.set("graphics", "fullscreen", "auto")
        Config.set("graphics", "borderless", "1")
    Config.set("graphics", "maxfps", str(maxfps))
    if os.path.exists(CJK_FONT):
        Config.set("kivy", "default_font", ["WenQuanYi", CJK_FONT, CJK_FONT, CJK_FONT, CJK_FONT])


def _before_kivy() -> Any:
    """What every app sets before Kivy's import: no argv parsing, no log files, Escape never
    closes the app (it closes a picker), a mouse is one finger. Returns Kivy's Config."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    from kivy.config import Config

    Config.set("kivy", "exit_on_escape", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    return Config


def register_font() -> None:
    from kivy.core.text import LabelBase

    LabelBase.register(FONT, CJK_FONT)


def main_loop_dispatch(after: Callable[[], None]) -> Callable[[Callable[[], None]], None]:
    """`dispatch(fn)`: run fn on Kivy's main loop (from any thread), then `after` (a redraw)."""
    from kivy.clock import Clock

    def dispatch(fn: Callable[[], None]) -> None:
        def run(_dt: float) -> None:
            fn()
            after()

        Clock.schedule_once(run, 0)

    return dispatch


# Kivy key codes of the keys the terminal uses (SDL2's numbering as Kivy passes it).
KEY_NAMES = {27: "escape", 13: "enter", 271: "enter", 8: "backspace"}
KEY_NAMES.update({282 + i: f"F{i + 1}" for i in range(12)})


def key_name(key: int, codepoint: str | None) -> str | None:
    if key in KEY_NAMES:
        return KEY_NAMES[key]
    if codepoint and len(codepoint) == 1 and codepoint.isprintable():
        return codepoint
    return None


def paint(widget: Any, rgba: tuple[float, float, float, float]) -> Any:
    """A solid background that follows the widget; returns its Color to recolour later."""
    from kivy.graphics import Color, Rectangle

    with widget.canvas.before:
        colour = Color(*rgba)
        rect = Rectangle(pos=widget.pos, size=widget.size)

    def follow(*_: object) -> None:
        rect.pos, rect.size = widget.pos, widget.size

    widget.bind(pos=follow, size=follow)
    return colour


def label(text: str = "", size: float = 28, **kwargs: Any) -> Any:
    from kivy.uix.label import Label

    widget = Label(text=text, font_name=FONT, font_size=size, **kwargs)
    widget.bind(size=lambda w, s: setattr(w, "text_size", (s[0], None)))
    widget.halign = kwargs.get("halign", "left")
    widget.valign = "middle"
    return widget


def button(text: str, on_press: Callable[[], None], size: float = 28, **kwargs: Any) -> Any:
    from kivy.uix.button import Button

    widget = Button(text=text, font_name=FONT, font_size=size, halign="center", **kwargs)
    widget.bind(on_press=lambda _w: on_press())
    widget.bind(size=lambda w, s: setattr(w, "text_size", (s[0], None)))
    return widget


def stop_on_signals(app: Any) -> None:
    """SIGTERM (systemd, the demo) and SIGINT stop the app through its main loop: on_stop runs."""
    import signal

    from kivy.clock import Clock

    def on_signal(_signum: int, _frame: Any) -> None:
        Clock.schedule_once(lambda _dt: app.stop(), 0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
