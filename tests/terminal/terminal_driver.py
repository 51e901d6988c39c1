"""Runs the real terminal (or evaluator) app in this process against a real hall and plays a script
of touches and keys on it.

    python tests/terminal/terminal_driver.py --app terminal|evaluator --config hall.toml --id ID
        --script steps.json --out DIR

Steps: ["tap", "text on a button"] (a real touch at its centre), ["key", "F1"] (through
Window.dispatch('on_key_down', ...), as a keyboard would), ["type", "A012"], ["until", what, value,
timeout] (what: screen, number, status, held), ["check", name] (the terminal idle and the hall's
retained window state equal to what it shows, then a screenshot; the state, the labels and the last
`calls` message are recorded), ["shot", name], ["wait", seconds]. Writes DIR/result.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

KEYCODES = {f"F{i}": 281 + i for i in range(1, 13)}
KEYCODES.update({"escape": 27, "enter": 13, "backspace": 8})


class HallWatch:
    """The hall's retained state of the window and the last call, as any screen hears them."""

    def __init__(self, config: Path, window: str) -> None:
        from contract import topics
        from contract.mqtt_url import broker_address
        from contract.transport import PahoTransport
        from hall.config.schema import load_config

        hall = load_config(config)
        self.lock = threading.Lock()
        self.state: dict[str, Any] | None = None
        self.last_call: dict[str, Any] | None = None
        self.transport = PahoTransport(broker_address(hall.broker), f"watch-{window}")
        self.transport.subscribe(topics.window_state(hall.site.id, window), self._state)
        self.transport.subscribe(topics.calls(hall.site.id), self._call)
        self.transport.start(wait=10)

    def _state(self, message: Any) -> None:
        with self.lock:
            self.state = json.loads(message.payload) if message.payload else None

    def _call(self, message: Any) -> None:
        with self.lock:
            self.last_call = json.loads(message.payload)


def find_button(root: Any, words: str) -> Any:
    from kivy.uix.button import Button

    buttons = [w for w in root.walk() if isinstance(w, Button) and not w.disabled]
    for widget in buttons:
        if widget.text == words:
            return widget
    for widget in buttons:
        if words in widget.text:
            return widget
    raise LookupError(f"no enabled button shows {words!r}")


def labels(root: Any) -> list[str]:
    from kivy.uix.label import Label

    return [w.text for w in root.walk() if isinstance(w, Label) and w.text]


def summary(state: dict[str, Any] | None) -> dict[str, Any]:
    """What a window state says that the terminal draws."""
    state = state or {}
    ticket = state.get("ticket") or {}
    return {
        "status": state.get("status") if state.get("clerk") else "closed",
        "clerk": (state.get("clerk") or {}).get("name"),
        "number": ticket.get("number"),
        "ticket_status": ticket.get("status"),
        "recalls": ticket.get("recalls"),
        "held": [t.get("number") for t in state.get("held") or []],
        "reason": state.get("reason"),
    }


def play(app: Any, kind: str, steps: list[list[Any]], out: Path, result: dict[str, Any], watch: HallWatch | None) -> None:  # fmt: skip
    from kivy.base import EventLoop
    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch

    def finish() -> None:
        (out / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
        app.stop()

    def fail(text: str) -> None:
        result["errors"].append(text)
        finish()

    def shot(name: str) -> None:
        Window.canvas.ask_update()
        for _ in range(3):
            EventLoop.idle()
        result["shots"][name] = Window.screenshot(name=str(out / f"{name}.png"))
        result["texts"][name] = labels(app.root_widget)

    def shown(what: str) -> Any:
        view = app.presenter.view()
        if what == "screen":
            return view.screen
        if what == "number":
            return view.ticket.number if view.ticket else None
        if what == "status":
            return view.status
        if what == "held":
            return view.held
        if what == "banner":
            return view.banner
        raise ValueError(what)

    def step(index: int, waited: float = 0.0) -> None:
        if index >= len(steps):
            finish()
            return
        kind_, *args = steps[index]
        result["trace"].append(f"{kind_} {args}")
        again = lambda: Clock.schedule_once(lambda _dt: step(index, waited + 0.05), 0.05)  # noqa: E731
        if kind_ == "wait":
            Clock.schedule_once(lambda _dt: step(index + 1), float(args[0]))
            return
        if kind_ == "until":
            what, value, timeout = args
            if shown(what) == value:
                step(index + 1)
            elif waited > timeout:
                fail(f"{what} never became {value!r} (is {shown(what)!r})")
            else:
                again()
            return
        if kind_ == "check":
            assert watch is not None
            with watch.lock:
                hall, call = watch.state, watch.last_call
            presenter = app.presenter
            idle = presenter.pending is None
            if not (idle and hall is not None and summary(hall) == summary(presenter.state)):
                if waited > 15:
                    fail(f"check {args[0]}: hall {summary(hall)} != shown {summary(presenter.state)}")  # fmt: skip
                else:
                    again()
                return
            app.refresh()
            shot(args[0])
            result["checks"].append(
                {
                    "name": args[0],
                    "hall": summary(hall),
                    "number_label": app.root_widget.number.text,
                    "header": app.root_widget.header.text,
                    "held_label": app.root_widget.held_line.text,
                    "buttons": {op: not w.disabled for op, w in app.root_widget.buttons.items()},
                    "last_call": (call or {}).get("ticket", {}).get("number"),
                    "screen": presenter.view().screen,
                }
            )
        elif kind_ == "tap":
            try:
                button = find_button(app.root_widget, str(args[0]))
            except LookupError as exc:
                fail(str(exc))
                return
            x, y = button.to_window(*button.center)
            touch = UnitTestTouch(x, y)
            touch.touch_down()
            touch.touch_up()
        elif kind_ == "key":
            Window.dispatch("on_key_down", KEYCODES[args[0]], 0, None, [])
        elif kind_ == "type":
            for char in str(args[0]):
                Window.dispatch("on_key_down", ord(char.lower()), 0, char, [])
        elif kind_ == "shot":
            shot(args[0])
        Clock.schedule_once(lambda _dt: step(index + 1), 0.05)

    Clock.schedule_once(lambda _dt: step(0), 1.5)  # the first frames take ~1.2 s on llvmpipe


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", choices=("terminal", "evaluator"), required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--id", required=True)
    parser.add_argument("--script", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    steps = json.loads(Path(args.script).read_text(encoding="utf-8"))
    result: dict[str, Any] = {"shots": {}, "texts": {}, "checks": [], "errors": [], "trace": []}

    from screens.kivy_setup import kivy_environment
    from terminal.startup import start

    started = start(argparse.Namespace(config=args.config, id=args.id), args.app.replace("terminal", "window"))  # fmt: skip
    from zoneinfo import ZoneInfo

    clock = started.client.follow_clock(ZoneInfo(started.tz))
    kivy_environment(windowed=True, size=(1280, 800))
    watch = None
    if args.app == "terminal":
        from terminal.app import build_terminal_app

        watch = HallWatch(Path(args.config), args.id)
        app = build_terminal_app(
            args.id, started.client, started.settings, started.catalog, clock.now,
            on_started=lambda app: play(app, args.app, steps, out, result, watch),
        )  # fmt: skip
    else:
        from terminal.evaluator_app import build_evaluator_app

        app = build_evaluator_app(
            str(started.settings["window"]), started.client, started.catalog, clock.now,
            on_started=lambda app: play(app, args.app, steps, out, result, None),
        )  # fmt: skip
    began = time.monotonic()
    try:
        app.run()
    finally:
        started.client.close()
        if watch is not None:
            watch.transport.stop()
    result["seconds"] = time.monotonic() - began
    (out / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
