"""Runs the real kiosk app in this process (a fresh Kivy) and plays a script of touches on it.

    python tests/kiosk/kiosk_driver.py --script steps.json --out DIR [--landscape]
        [--fake catalog.json queues.json | --config hall.toml --id k01]

Each step: ["until_online", timeout] (the hall's catalog and queues are in), ["until", condition,
timeout] (see `condition`), ["until_file", name, timeout] (the test wrote DIR/marks/NAME),
["mark", name] (writes DIR/marks/NAME.json with the screen and numbers, for the test), ["tap", "text on a button"] (a real touch at the button's centre, through Kivy's input
path), ["wait", seconds], ["until_screen", name, timeout], ["shot", name] (a screenshot of the
window), ["labels", name] (every text drawn, for the glyph check). It writes DIR/result.json with
the screens seen, the shots and the texts, then stops the app. Used by tests/kiosk/test_app.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


class FakeFuture:
    """What the client's submit() returns, already answered."""

    def __init__(self, result: dict[str, Any]) -> None:
        self._result = result

    def add_done_callback(self, callback: Any) -> None:
        callback(self)

    def result(self, timeout: float | None = None) -> dict[str, Any]:
        return self._result

    def answer(self, timeout: float | None = None) -> dict[str, Any]:
        return {"ok": True, "result": self._result}


class FakeClient:
    """A client that is connected and whose hall answers every issue at once (screens only)."""

    site = "demo"
    connected = True

    def __init__(self) -> None:
        self.issued = 0

    def on_resumed_answer(self, handler: Any) -> None:
        pass

    def submit(self, op: str, **fields: Any) -> FakeFuture:
        return FakeFuture(self.request(op, **fields))

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        if op != "issue":
            return {}
        self.issued += 1
        return {
            "ticket": {
                "id": f"20261126-A{self.issued:03d}",
                "number": f"A{12 + self.issued:03d}",
                "service": fields.get("service", "psb-hukou-move-in"),
                "ahead": 4,
                "est_wait_min": 18,
            }
        }

    def publish_health(self, state: str, detail: Any = None) -> None:
        pass


class FakeDevice:
    def __init__(self, presenter: Any, dispatch: Any, catalog: Any, queues: Any) -> None:
        from kiosk.device import KioskDevice

        self.inner = KioskDevice(FakeClient(), presenter, dispatch, printer=None)  # type: ignore[arg-type]
        self.catalog, self.queues = catalog, queues
        self.client = self.inner.client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def subscribe(self, on_catalog: Any, on_queues: Any, on_link: Any) -> None:
        on_catalog(self.catalog)
        on_queues(self.queues)
        on_link(True, True)


def find_button(root: Any, words: str) -> Any:
    from kivy.uix.button import Button

    for widget in root.walk():
        if isinstance(widget, Button) and words in widget.text:
            return widget
    raise LookupError(f"no button shows {words!r}")


def labels(root: Any) -> list[str]:
    from kivy.uix.label import Label

    return [w.text for w in root.walk() if isinstance(w, Label) and w.text]


def condition(app: Any, name: str) -> bool:
    """The named states a script can wait for."""
    p = app.presenter
    view = p.view()
    if name == "online":
        return bool(p.connected and p.hall_online and p.catalog and p.queues)
    if name == "blocked":
        return bool(view.blocked)
    if name == "unblocked":
        return not view.blocked
    if name == "print_failed":
        return view.ticket is not None and view.ticket.print_failed
    if name.startswith("screen:"):
        return bool(view.screen == name.split(":", 1)[1])
    raise ValueError(f"no condition {name!r}")


def play(app: Any, steps: list[list[Any]], out: Path, result: dict[str, Any]) -> None:
    """Runs on Kivy's main loop, one step per frame or timer."""
    from kivy.base import EventLoop
    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch

    def step(index: int, waited: float = 0.0) -> None:
        if index >= len(steps):
            (out / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
            app.stop()
            return
        kind, *args = steps[index]
        view = app.presenter.view()
        screen = view.screen
        if view.ticket is not None and view.ticket.number not in result["numbers"]:
            result["numbers"].append(view.ticket.number)
        if not waited:
            result["trace"].append(
                f"{kind} {args} at {screen} large={view.large} printer={app.presenter.printer_state} "
                f"link={app.presenter.connected},{app.presenter.hall_online}"
            )
        if not result["screens"] or result["screens"][-1] != screen:
            result["screens"].append(screen)
        if kind == "wait":
            Clock.schedule_once(lambda _dt: step(index + 1), float(args[0]))
            return
        waits = {
            "until_online": lambda: ("online", args[0]),
            "until_screen": lambda: (f"screen:{args[0]}", args[1]),
            "until": lambda: (args[0], args[1]),
            "until_file": lambda: (f"file:{args[0]}", args[1]),
        }
        if kind in waits:
            name, limit = waits[kind]()
            if name.startswith("file:"):
                met = (out / "marks" / name[5:]).exists()
            else:
                met = condition(app, name)
            if met:
                # What changed is laid out in the next frame: go on after it.
                Clock.schedule_once(lambda _dt: step(index + 1), 0.3)
            elif waited > float(limit):
                result["errors"].append(f"{name} not reached in {limit} s (at {screen})")
                step(len(steps))
            else:
                Clock.schedule_once(lambda _dt: step(index, waited + 0.1), 0.1)
            return
        if kind == "repeat":  # ["repeat", n, [steps...]]: the steps n times (benches)
            count, body = int(args[0]), list(args[1])
            steps[index : index + 1] = body * count
            step(index)
            return
        if kind == "mark":
            (out / "marks").mkdir(exist_ok=True)
            (out / "marks" / f"{args[0]}.json").write_text(
                json.dumps({"screen": screen, "numbers": result["numbers"]}), encoding="utf-8"
            )
        elif kind in ("tap", "double_tap"):
            try:
                button = find_button(app.root_widget, str(args[0]))
            except LookupError as exc:
                result["errors"].append(str(exc))
                step(len(steps))
                return
            if tuple(button.size) == (100, 100):  # made this frame, not laid out yet: next one
                Clock.schedule_once(lambda _dt: step(index, waited + 0.05), 0.05)
                return
            x, y = button.to_window(*button.center)
            for _ in range(2 if kind == "double_tap" else 1):
                touch = UnitTestTouch(x, y)
                touch.touch_down()
                touch.touch_up()
            result["taps"].append(args[0])
            result["tap_times"].append(time.time())
        elif kind == "shot":
            # Draw what changed, several frames, then read the window: a screenshot taken in the
            # frame of a change shows an earlier frame.
            Window.canvas.ask_update()
            for _ in range(3):
                EventLoop.idle()
            path = Window.screenshot(name=str(out / f"{args[0]}.png"))
            result["shots"][args[0]] = path
            result["texts"][args[0]] = labels(app.root_widget)
        # A frame between steps, so what a tap changed is drawn before the next step.
        Clock.schedule_once(lambda _dt: step(index + 1), 0.05)

    Clock.schedule_once(lambda _dt: step(0), 1.5)  # the first frames take ~1.2 s on llvmpipe


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):  # the peak resident set
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--script", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--landscape", action="store_true")
    parser.add_argument("--priority", action="store_true")
    parser.add_argument("--fake", nargs=2, metavar=("CATALOG", "QUEUES"))
    parser.add_argument("--config", help="a real hall: its config (with --id)")
    parser.add_argument("--id", help="the kiosk to play")
    parser.add_argument("--state", help="where the kiosk keeps its journal (a real hall)")
    parser.add_argument("--wav-dir", help="what the kiosk says, as WAV files")
    args = parser.parse_args()
    import logging

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(out / "kiosk.log", mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in ("contract", "kiosk", "hardware"):  # Kivy owns the root logger's console
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.INFO)
    out.mkdir(parents=True, exist_ok=True)
    steps = json.loads(Path(args.script).read_text(encoding="utf-8"))
    result: dict[str, Any] = {
        "screens": [],
        "shots": {},
        "texts": {},
        "taps": [],
        "errors": [],
        "trace": [],
        "numbers": [],
        "tap_times": [],
        "started": time.time(),
    }

    from kiosk.app import build_app, prepare
    from screens.kivy_setup import kivy_environment

    def started(app: Any) -> None:
        from kivy.core.window import Window

        def first_frame(*_: Any) -> None:
            result.setdefault("first_frame", time.time())

        Window.bind(on_flip=first_frame)
        play(app, steps, out, result)

    client = None
    if args.config:
        from kiosk.app import connect

        setup, client = connect(
            argparse.Namespace(config=args.config, id=args.id, cache=args.state, env=None)
        )
        app = prepare(
            setup,
            client,
            portrait=not args.landscape,
            windowed=True,
            on_started=started,
            printer_poll=0.5,
            wav_dir=Path(args.wav_dir) if args.wav_dir else None,
        )
    else:
        size = (1920, 1080) if args.landscape else (1080, 1920)
        kivy_environment(windowed=True, size=size)
        catalog = json.loads(Path(args.fake[0]).read_text(encoding="utf-8"))
        queues = json.loads(Path(args.fake[1]).read_text(encoding="utf-8"))
        app = build_app(
            lambda presenter, dispatch: FakeDevice(presenter, dispatch, catalog, queues),
            portrait=not args.landscape,
            allow_priority=args.priority,
            on_started=started,
        )
    begun = time.monotonic()
    try:
        app.run()
    finally:
        if client is not None:
            client.close()
    result["seconds"] = time.monotonic() - begun
    result["rss_mb"] = resident_mb()
    (out / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
