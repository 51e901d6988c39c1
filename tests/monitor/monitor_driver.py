"""Runs `hallq monitor` in a real Kivy window (this process; DISPLAY from the test) and plays an
operator's touches on it: steps from a JSON file, each waiting for a condition on the app's state,
then pressing real buttons (simulated touches at their place on the window) and typing in the
inputs. A screenshot after each step that names one (frames forced first), and result.json with the
state after every step.

    python -m tests.monitor.monitor_driver --config hall.toml --id op1 --steps steps.json --out DIR

Step keys: `wait` (text that must be drawn somewhere), `tab`, `form` (an op's key), `values`
(input name -> text; a Spinner takes the code), `press` ("send", "yes", "ack:ALARM", "note:ALARM",
"note_send"), `note` (the follow-up's text), `shot` (name), `timeout`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--id", required=True)
    parser.add_argument("--steps", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--size", default="1920x1080")
    args = parser.parse_args(argv)
    from monitor.app import Options, configure_kivy, from_config

    site, address = from_config(args.id, args.config)
    width, _, height = args.size.partition("x")
    args.out.mkdir(parents=True, exist_ok=True)
    options = Options(
        args.id, site, address, screenshot_dir=args.out, size=(int(width), int(height))
    )
    configure_kivy(options.size)
    from kivy.clock import Clock
    from kivy.tests.common import UnitTestTouch

    from monitor.kivy_app import MonitorApp

    steps: list[dict[str, Any]] = json.loads(args.steps.read_text("utf-8"))
    app = MonitorApp(options)
    results: list[dict[str, Any]] = []
    failed: list[str] = []

    def touch(widget: Any) -> None:
        x, y = widget.to_window(*widget.center)
        t = UnitTestTouch(x, y)
        t.touch_down()
        t.touch_up()

    def play() -> Iterator[float]:
        """The steps; each yield gives the Kivy loop this many seconds (frames, messages)."""
        layout = app.layout
        assert layout is not None
        yield 2.0
        for step in steps:
            deadline = time.monotonic() + float(step.get("timeout", 30))
            want = step.get("wait")
            while want and not any(want in t for t in app.state()["texts"]):
                if time.monotonic() > deadline:
                    failed.append(f"step {step}: {want!r} never drawn; drawn: {app.state()}")
                    app.screenshot("failed")
                    return
                yield 0.1
            if "tab" in step:
                touch(layout.tab_items[step["tab"]])
                yield 0.3
            if "form" in step:
                touch(layout.operations.menu[step["form"]])
                yield 0.3
            for name, value in (step.get("values") or {}).items():
                widget = layout.operations.inputs[name]
                if isinstance(getattr(widget, "values", None), list):
                    widget.text = next(v for v in widget.values if v.split(" ", 1)[0] == value)
                else:
                    widget.text = value
            if "note" in step and app.popup is not None:
                app.popup.text.text = step["note"]
            press = step.get("press")
            if press == "send":
                assert layout.operations.send is not None
                touch(layout.operations.send)
            elif press == "yes":
                assert app.popup is not None, "no confirmation open"
                touch(app.popup.yes)
            elif press == "note_send":
                assert app.popup is not None, "no follow-up open"
                touch(app.popup.send)
            elif press and ":" in press:
                what, alarm = press.split(":", 1)
                touch(layout.alarms.buttons[(alarm, what)])
            yield 0.8  # the popup's animation, the answer, a few frames
            if step.get("shot"):
                app.screenshot(step["shot"])
            results.append({"step": step, "state": app.state()})

    player = play()

    def advance(dt: float) -> None:
        try:
            wait = next(player)
        except StopIteration:
            app.stop()
            return
        except Exception as exc:  # a step that cannot be played: say which, and stop
            failed.append(f"{type(exc).__name__}: {exc}")
            app.stop()
            return
        Clock.schedule_once(advance, wait)

    Clock.schedule_once(advance, 0)  # (a bound on_start returning truthy would stop the app's)
    app.run()
    (args.out / "result.json").write_text(
        json.dumps({"failed": failed, "steps": results}, ensure_ascii=False), "utf-8"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
