"""The floor of bench/display.py: a bare Kivy app with one label, changed on a bare paho message
(no presenter, no layout), recording the same flip log as `hallq display --flip-log`.

    python bench/_display_baseline.py PORT TOPIC FLIP_LOG SECONDS
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

# The package `display`, not this folder's display.py (the bench next to this file).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("KIVY_NO_ARGS", "1")

from kivy.config import Config

Config.set("graphics", "width", "1920")
Config.set("graphics", "height", "1080")
Config.set("graphics", "maxfps", "60")

import paho.mqtt.client as mqtt  # noqa: E402
from kivy.app import App  # noqa: E402
from kivy.clock import Clock  # noqa: E402
from kivy.core.window import Window  # noqa: E402
from kivy.uix.label import Label  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


class Baseline(App):  # type: ignore[misc]
    def __init__(self, port: int, topic: str, log: str, seconds: float) -> None:
        super().__init__()
        self.port, self.topic, self.log, self.seconds = port, topic, log, seconds
        self.flips: list[tuple[int, float, float]] = []
        self.frames: list[float] = []
        self.changed: tuple[int, float] | None = None

    def build(self) -> Label:
        self.label = Label(text="", font_size=120, font_name=FONT)
        return self.label

    def on_start(self) -> None:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-baseline")
        client.on_connect = lambda c, u, f, rc, p: c.subscribe(self.topic, qos=1)
        client.on_message = self.on_message
        client.connect("127.0.0.1", self.port)
        client.loop_start()
        self.client = client
        Window.bind(on_flip=self.on_flip)
        Clock.schedule_once(lambda dt: self.stop(), self.seconds)

    def on_message(self, client: Any, userdata: Any, message: Any) -> None:
        call = json.loads(message.payload)
        Clock.schedule_once(lambda dt: self.show(call), 0)

    def show(self, call: dict[str, Any]) -> None:
        self.label.text = f"请 {call['ticket']['number']} 号到 {call['window']['name']}"
        self.changed = (call["seq"], time.monotonic())

    def on_flip(self, window: Any) -> None:
        now = time.monotonic()
        self.frames.append(now)
        if self.changed is not None:
            self.flips.append((self.changed[0], self.changed[1], now))
            self.changed = None

    def on_stop(self) -> None:
        self.client.loop_stop()
        from display.kivy_app import flip_report

        with open(self.log, "w", encoding="utf-8") as out:
            json.dump(flip_report(self.flips, self.frames), out)


if __name__ == "__main__":
    port, topic, log, seconds = sys.argv[1:5]
    Baseline(int(port), topic, log, float(seconds)).run()
