"""The demo's event printer: the hall as a supervisor would watch it, one line per event.

    python -m hallq.demo_watch --config .demo/hall.toml --id demo-watch

It connects as an operator (HALLQ_MQTT_URL / HALLQ_MQTT_CA: its own credentials, so it sees only
what the ACL lets a monitoring room see) and prints, with the hall's time:

    09:00:41  call     A001 -> 1号窗口 (1F)   居民身份证首次申领   waited 2 min
    09:05:00  queues   waiting 37, issued 52 today; most: 州公安局 12, 州税务局 8, ...
    09:00:12  windows  87 open, 0 paused, 18 closed
    09:00:00  hall     server online

`demo.py` reads these lines from its stdout and passes them on.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from contract import messages, topics
from contract.calls import CallSequence
from contract.hall_clock import parse_clock
from contract.transport import Message
from hall.config.schema import HallConfig
from hallq.demo_common import hall_time, load_config_and_broker, stop_on_signals

log = logging.getLogger(__name__)

HALL_ONLINE = "server online"  # demo.py waits for this before the visitors come in
QUEUES_EVERY_S = 300.0  # hall seconds between queue lines
WINDOWS_EVERY_S = 2.0  # real seconds: window counts are printed at most this often
TOP_DEPARTMENTS = 4
KIND_WIDTH = 8


def _minutes_between(start: Any, end: Any) -> int | None:
    try:
        seconds = (
            datetime.fromisoformat(str(end)) - datetime.fromisoformat(str(start))
        ).total_seconds()
    except (TypeError, ValueError):
        return None
    return max(0, round(seconds / 60))


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class Watch:
    """Turns the hall's messages into lines; `out` prints one (thread-safe)."""

    def __init__(self, config: HallConfig, out: Any = None) -> None:
        self.config = config
        self.site = config.site.id
        self._out = out or (lambda line: print(line, flush=True))
        self._lock = threading.Lock()
        self.windows: dict[str, str] = {}  # window id -> closed / open / paused
        self._windows_shown: tuple[int, int, int] | None = None
        self._last_queues_at: datetime | None = None
        self.speed: float | None = None  # of the hall's clock, once known
        self._anchor: tuple[datetime, float] | None = None  # the hall's time, at this unix time
        # The hall's start time while nothing from the hall has told its clock yet (the demo's
        # guess, anchored at when it started the server process).
        self._guessed_start: datetime | None = None
        self.health: dict[str, str] = {}
        self.calls = 0
        # A call the hall sent twice (after a crash) is one line; a missed one is said.
        self.sequence = CallSequence(
            redraw=lambda: self.line(self.hall_time(), "calls", "missed a call (see the board)")
        )

    def set_clock(self, at: datetime, speed: float, unix: float) -> None:
        """The hall's clock read `at` at real time `unix` and runs `speed` times real time."""
        self.speed = speed
        self._anchor = (at, unix)

    def guess_clock(self, start: datetime, speed: float) -> None:
        """The clock the demo gave the hall server: `start`, running `speed` times real time. When
        it really started is not known here (the server loads for seconds on a busy machine):
        until the hall says (its `clock`, or its `online` a moment after its clock started), the
        lines are stamped `start`, so no line shows a time the hall has not reached yet."""
        self.speed = speed
        self._guessed_start = start

    def hall_time(self) -> str:
        """The hall's time now, for events that carry none: from the hall's clock (the demo
        passes its start; the `clock` topic and each message with a time correct it)."""
        if self._anchor is None and self._guessed_start is not None:
            return self._guessed_start.strftime("%H:%M:%S")
        if self._anchor is None or self.speed is None:
            return "--:--:--"
        at, unix = self._anchor
        return (at + timedelta(seconds=(time.time() - unix) * self.speed)).strftime("%H:%M:%S")

    def on_clock(self, topic: str, value: dict[str, Any] | None) -> None:
        """The hall's `clock` extension, where the ACL lets an operator read it: exact times."""
        reading = parse_clock(value)
        if reading is not None:
            self.set_clock(reading.at, reading.speed, reading.unix)
            self._guessed_start = None

    def _heard(self, at: Any) -> None:
        """A message with the hall's time in it: anchor hall_time() there."""
        try:
            when = datetime.fromisoformat(str(at))
        except ValueError:
            return
        self._anchor = (when, time.time())
        self._guessed_start = None

    def line(self, at: str, kind: str, text: str) -> None:
        with self._lock:
            self._out(f"{at}  {kind:<{KIND_WIDTH}} {text}")

    # -- calls
    def on_call(self, topic: str, event: dict[str, Any] | None) -> None:
        if not event or not self.sequence.on_call(event):
            return
        call = messages.read_or_warn(messages.CallMessage, event)
        if call is not None:
            name = call.window.name or call.window.id
            self._show_call(
                call.at,
                call.ticket.number,
                f"{name} ({call.window.area})" if call.window.area else name,
                call.recall,
                call.ticket.service,
                call.ticket.issued_at,
            )
            return
        # Not the contract's shape (an older or foreign sender): show what it has.
        ticket = event.get("ticket") or {}
        place = event.get("window") or {}
        where = place.get("name") or place.get("id", "?")
        if place.get("area"):
            where = f"{where} ({place['area']})"
        self._show_call(
            event.get("at"),
            ticket.get("number", "?"),
            where,
            int(event.get("recall") or 0),
            str(ticket.get("service", "")),
            ticket.get("issued_at"),
        )

    def _show_call(
        self, at: Any, number: str, where: str, recall: int, service_code: str, issued_at: Any
    ) -> None:
        self._heard(at)
        when = hall_time(at)
        if recall:
            self.line(when, "recall", f"{number} -> {where}, {_ordinal(recall + 1)} time")
            return
        self.calls += 1
        service = self.config.service(service_code)
        name = service.name_zh if service else service_code
        waited = _minutes_between(issued_at, at)
        tail = f"   waited {waited} min" if waited is not None else ""
        self.line(when, "call", f"{number:<6} -> {where:<14} {name}{tail}")

    # -- queues
    def on_queues(self, topic: str, value: dict[str, Any] | None) -> None:
        if not value:
            return
        try:
            at = datetime.fromisoformat(str(value.get("at")))
        except ValueError:
            return
        self._heard(value.get("at"))
        last = self._last_queues_at
        if last is not None and (at - last).total_seconds() < QUEUES_EVERY_S:
            return
        services = value.get("services") or {}
        waiting: Counter[str] = Counter()
        issued = 0
        for code, info in services.items():
            if not isinstance(info, dict):
                continue
            issued += int(info.get("issued_today") or 0)
            service = self.config.service(code)
            department = self.config.department(service.department) if service else None
            label = f"{department.name_zh} {department.prefix}" if department else code
            waiting[label] += int(info.get("waiting") or 0)
        if issued == 0 and last is None:
            return  # the hall before its first visitor: nothing to say yet
        self._last_queues_at = at
        total = sum(waiting.values())
        most = ", ".join(f"{k} {n}" for k, n in waiting.most_common(TOP_DEPARTMENTS) if n)
        self.line(
            at.strftime("%H:%M:%S"),
            "queues",
            f"waiting {total}, issued {issued} today" + (f"; most: {most}" if most else ""),
        )

    # -- windows
    def on_window(self, topic: str, value: dict[str, Any] | None) -> None:
        window = topics.parse_window(self.site, topic)
        if window is None:
            return
        if not value:
            status = "closed"  # a cleared state
        else:
            state = messages.read_or_warn(messages.WindowStateMessage, value)
            status = state.status if state is not None else str(value.get("status"))
        with self._lock:
            self.windows[window] = status

    def window_counts(self) -> tuple[int, int, int]:
        with self._lock:
            states = Counter(self.windows.values())
        open_, paused = states.get("open", 0), states.get("paused", 0)
        return open_, paused, len(self.config.windows) - open_ - paused

    def show_windows(self) -> None:
        counts = self.window_counts()
        if counts == self._windows_shown or not self.windows:
            return
        self._windows_shown = counts
        open_, paused, closed = counts
        self.line(self.hall_time(), "windows", f"{open_} open, {paused} paused, {closed} closed")

    # -- devices, the hall, alarms
    def on_status(self, message: Message) -> None:
        client = message.topic.rsplit("/", 1)[-1]
        state = message.payload.decode("utf-8", errors="replace") or "gone"
        if client == topics.HALL_CLIENT_ID:
            if state == "online" and self._anchor is None and self._guessed_start is not None:
                # The hall connects a moment after its clock started; its `clock` follows.
                self._anchor = (self._guessed_start, time.time())
            self.line(self.hall_time(), "hall", f"server {state}")
        elif self.config.device_class(client) == "bridge":
            self.line(self.hall_time(), "device", f"{client} {state}")

    def on_health(self, topic: str, value: dict[str, Any] | None) -> None:
        device = topic.split("/")[-2]
        device_class = self.config.device_class(device)
        if not value or device_class not in ("bridge", "kiosk"):
            return
        state = str(value.get("state"))
        if self.health.get(device) == state:
            return
        self.health[device] = state
        if device_class == "kiosk":
            self.line(self.hall_time(), "device", f"{device}: printer {state}")
            return
        bridge = next((b for b in self.config.bridges if b.id == device), None)
        units = "boards" if bridge is not None and bridge.kind == "led" else "keypads"
        detail = value.get("detail")
        count = f" ({len(detail)} {units})" if isinstance(detail, dict) and detail else ""
        self.line(self.hall_time(), "device", f"{device}: bus {state}{count}")

    def on_alarm(self, topic: str, value: dict[str, Any] | None) -> None:
        if not value:
            return
        cleared = " (cleared)" if value.get("cleared") else ""
        self.line(
            hall_time(value.get("at")),
            "alarm",
            f"{value.get('severity', '?')} {value.get('kind', '?')}: {value.get('text', '')}"
            + cleared,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hallq.demo_watch", description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--id", required=True, help="the operator account to connect as")
    parser.add_argument("--clock", help="the hall server's --clock START[xSPEED]")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    loaded = load_config_and_broker(args.config, "demo watch")
    if loaded is None:
        return 2
    config, address = loaded
    from contract.client import HallClient

    site = config.site.id
    watch = Watch(config)
    if args.clock:
        start_text, _, speed_text = args.clock.partition("x")
        watch.guess_clock(datetime.fromisoformat(start_text), float(speed_text or 1))
    stopping = stop_on_signals()
    client = HallClient.connect(address, site, "operator", args.id, wait=None)
    client.subscribe_json(topics.calls(site), watch.on_call)
    client.subscribe_json(topics.queues(site), watch.on_queues)
    client.subscribe_json(topics.all_window_states(site), watch.on_window)
    client.subscribe_json(topics.all_health(site), watch.on_health)
    client.subscribe_json(topics.alarm(site), watch.on_alarm)
    client.subscribe_json(topics.clock(site), watch.on_clock)
    client.subscribe(topics.all_status(site), watch.on_status)
    try:
        while not stopping.wait(WINDOWS_EVERY_S):
            watch.show_windows()
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
