"""The measuring side of bench/terminal.py: the real terminal app (Kivy, a real window) of one window
of a running hall. It logs in, then presses F1 (through Window.dispatch('on_key_down', ...), as the
keyboard would) `rounds` times and times each press to the first frame flipped after the new number
is on the label (Window's on_flip). Interleaved with each press, the bare baseline: a key whose
handler puts a number on the same label at once (no hall), timed the same way. Writes JSON lists of
milliseconds to --out.

    python bench/_terminal_app.py --config HALL.toml --id WINDOW --rounds 150 --out result.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

F1 = 282
BARE_KEY = 294  # F13: nothing of the terminal's, handled by this bench


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--id", required=True)
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    from zoneinfo import ZoneInfo

    from screens.kivy_setup import kivy_environment
    from terminal.startup import start

    started = start(argparse.Namespace(config=args.config, id=args.id), "window")
    clock = started.client.follow_clock(ZoneInfo(started.tz))
    kivy_environment(windowed=True, size=(1280, 800))
    from kivy.clock import Clock
    from kivy.core.window import Window

    from terminal.app import build_terminal_app

    bare: dict[str, Any] = {}  # the bare baseline's label, made once the window is up
    result: dict[str, Any] = {
        "hall_ms": [],
        "bare_ms": [],
        "refused": 0,
        "errors": [],
        "errors_seen": [],
    }
    result["answer_ms"] = []  # of the hall presses: key to the answer on the link's thread
    request = started.client.request

    def timed_request(op: str, **fields: Any) -> dict[str, Any]:
        try:
            return request(op, **fields)
        finally:
            probe["answered"] = time.perf_counter()

    started.client.request = timed_request  # type: ignore[method-assign]
    probe: dict[str, Any] = {"t0": None, "before": None, "kind": None, "done": 0, "bare": 0}

    def shown() -> str:
        return str((bare["label"] if probe["kind"] == "bare" else app.root_widget.number).text)

    def on_flip(*_: Any) -> None:
        if probe["t0"] is None:
            return
        if shown() != probe["before"]:
            elapsed = (time.perf_counter() - probe["t0"]) * 1000
            result[f"{probe['kind']}_ms"].append(round(elapsed, 3))
            if probe["kind"] == "hall" and probe.get("ui"):
                result.setdefault("ui_ms", []).append(round((probe["ui"] - probe["t0"]) * 1000, 3))
            if probe["kind"] == "hall" and probe.get("answered"):
                result["answer_ms"].append(round((probe["answered"] - probe["t0"]) * 1000, 3))
            probe["t0"] = None
            Clock.schedule_once(lambda _dt: next_round(), random.uniform(0.1, 0.2))
        elif probe["kind"] == "hall" and app.presenter.pending is None:
            result["refused"] += 1  # queue_empty or another refusal: no new number
            probe["t0"] = None
            Clock.schedule_once(lambda _dt: next_round(), 0.1)

    def on_key(_window: Any, key: int, *_: Any) -> bool:
        if key == BARE_KEY:
            probe["bare"] += 1
            bare["label"].text = f"Z{probe['bare']:03d}"
            return True
        return False

    def watchdog(_dt: float) -> None:
        """A press that changed nothing on the screen flips no frame: after 3 s, note it and go on."""
        t0 = probe["t0"]
        if t0 is not None and time.perf_counter() - t0 > 3 and app.presenter.pending is None:
            result["errors_seen"].append(f"{probe['kind']}: nothing changed ({app.presenter.message!r})")  # fmt: skip
            probe["t0"] = None
            next_round()

    def press(kind: str) -> None:
        probe["kind"] = kind
        probe["before"] = shown()
        probe["t0"], probe["answered"], probe["ui"] = time.perf_counter(), None, None
        Window.dispatch("on_key_down", F1 if kind == "hall" else BARE_KEY, 0, None, [])

    def next_round() -> None:
        if len(result["hall_ms"]) + result["refused"] >= args.rounds:
            Path(args.out).write_text(json.dumps(result))
            app.stop()
            return
        # Alternate: a hall press, then a bare one, so both see the same load.
        press("bare" if len(result["bare_ms"]) < len(result["hall_ms"]) else "hall")

    def login(waited: float = 0.0) -> None:
        presenter = app.presenter
        view = presenter.view()
        print(f"login: {view.screen} online={presenter.online} pending={presenter.pending} {view.message}", file=sys.stderr, flush=True)  # fmt: skip
        if presenter.view().screen == "work" and presenter.pending is None:
            Window.bind(on_flip=on_flip)
            Clock.schedule_interval(watchdog, 0.5)
            Clock.schedule_once(lambda _dt: next_round(), 0.5)
            return
        if waited > 30:
            result["errors"].append(f"no login: {presenter.view().message or presenter.view().banner}")  # fmt: skip
            Path(args.out).write_text(json.dumps(result))
            app.stop()
            return
        if presenter.view().screen == "login" and presenter.pending is None and presenter.online:
            roster = presenter.roster()
            if roster:
                presenter.select_clerk(roster[0][0])
        Clock.schedule_once(lambda _dt: login(waited + 0.2), 0.2)

    def started_app(_app: Any) -> None:
        # The bare baseline's label: the number's font and size, in the window's corner.
        from kivy.uix.label import Label

        from screens.kivy_setup import FONT

        bare["label"] = Label(text="Z000", font_name=FONT, font_size=150, size=(420, 170), pos=(850, 0))  # fmt: skip
        Window.add_widget(bare["label"])
        Window.bind(on_key_down=on_key)
        answered = app.link.answered

        def on_answer(*args: Any) -> None:
            probe["ui"] = time.perf_counter()
            answered(*args)

        app.link.answered = on_answer
        Clock.schedule_once(lambda _dt: login(), 1.5)

    app = build_terminal_app(
        args.id,
        started.client,
        started.settings,
        started.catalog,
        clock.now,
        on_started=started_app,
    )
    try:
        app.run()
    finally:
        started.client.close()
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
