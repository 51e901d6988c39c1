"""`hallq led-bridge --id ID [--env FILE]`: drive the window LED boards of one serial bus from the
hall's retained window/{id}/state.

One thread of the bridge's own writes to the port: a state message (in paho's network thread) is
only put on its queue. Every 50 ms (and at once on a state message) each board's wanted text is
compared with what was last written to it, and sent when they differ. The port reopens a vanished device every <= 0.5 s;
once it is back, "last written" is forgotten, so every board shows the current state at once.
device/{id}/health says `ok` or `offline` for the bus; each board is `unknown` in `detail`: these
buses are write-only, a board cannot tell us what it shows.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from contract import messages, topics
from hardware.bridges.common import BridgeSetup, HallLink, Health, bus_port, run_cli
from hardware.led.driver import led_bus_for
from hardware.led.presenter import BoardText, WindowBoard

log = logging.getLogger(__name__)

TICK = 0.05
_PORT_OPENED = ("", None)  # queue item: the port (re)opened, redraw every board


class LedBridge:
    def __init__(
        self,
        setup: BridgeSetup,
        hall: HallLink,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        bus = setup.bus
        self.site = setup.site
        self.bridge_id = setup.bridge_id
        self.hall = hall
        self.clock = clock
        self.port = bus_port(setup, on_open=self._port_open, on_close=self._port_closed)
        self.driver = led_bus_for(bus, self.port.write)
        templates = bus.board_templates()
        self.boards: dict[int, WindowBoard] = {}
        self.window_boards: dict[str, list[int]] = {}
        for unit in bus.boards:
            names = setup.window(unit.window)
            self.boards[unit.address] = WindowBoard(
                names.no, names.name, templates, bus.flash_seconds
            )
            self.window_boards.setdefault(unit.window, []).append(unit.address)
        self.written: dict[int, BoardText] = {}
        self.refresh_seconds = bus.refresh_seconds
        self._refreshed_at = clock()
        self.health = Health(hall.publish_health)
        # What the bridge's thread has to apply: (window, state) from paho, or _PORT_OPENED.
        self._inbox: queue.SimpleQueue[tuple[str, dict[str, Any] | None]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # No health before the port's first attempt: it would say `offline` for a bus that is
        # there (the port thread has not opened it yet). The port says: on_open, or on_close
        # when its first attempt fails.
        for window in self.window_boards:
            self.hall.subscribe_json(topics.window_state(self.site, window), self._on_state)
        self.port.start()
        self._thread = threading.Thread(target=self._run, name=f"{self.bridge_id} boards")
        self._thread.daemon = True
        self._thread.start()
        log.info("%s: driving boards %s", self.bridge_id, sorted(self.boards))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        self.port.stop()

    # --- inputs: other threads only hand over ---------------------------------------------
    def _on_state(self, topic: str, state: dict[str, Any] | None) -> None:
        window = topics.parse_window(self.site, topic)
        if window is not None and window in self.window_boards:
            self._inbox.put((window, state))

    def _port_open(self) -> None:
        self._inbox.put(_PORT_OPENED)
        self._publish_health()

    def _port_closed(self) -> None:
        self._publish_health()

    # --- the bridge's thread: the only one that writes to the port --------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception:  # one bad state or write must not stop every board for good
                log.exception("%s: drawing the boards failed; going on", self.bridge_id)
                time.sleep(TICK)

    def _step(self) -> None:
        """One round: what arrived, then the boards."""
        try:
            items = [self._inbox.get(timeout=TICK)]
        except queue.Empty:
            items = []
        while True:
            try:
                items.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        now = self.clock()
        for window, state in items:
            if window:
                self._apply(window, state, now)
            else:
                self.written.clear()  # the boards may have lost power or shown anything
        if self.refresh_seconds and now - self._refreshed_at >= self.refresh_seconds:
            self._refreshed_at = now
            self.written.clear()  # a board that lost power meanwhile gets its text back
        self._draw()

    def _apply(self, window: str, state: dict[str, Any] | None, now: float) -> None:
        # Read through the contract's type (a state outside it is logged, naming the field, and
        # the board shows what it can of it); a cleared state is {}: the board says "closed".
        typed = messages.read_or_warn(messages.WindowStateMessage, state) if state else None
        view = typed.to_json() if typed is not None else (state or {})
        for address in self.window_boards.get(window, []):
            wanted = self.boards[address].on_state(view, now)
            log.info(
                "%s: window %s is %s: board %d -> %r (%s)",
                self.bridge_id,
                window,
                view.get("status", "?"),
                address,
                wanted.text,
                wanted.mode.value,
            )

    def _draw(self) -> None:
        if not self.port.is_open:
            return
        now = self.clock()
        for address, board in self.boards.items():
            wanted = board.current(now)
            if self.written.get(address) == wanted:
                continue
            if self.driver.show(address, wanted.text, wanted.mode):
                self.written[address] = wanted
                log.info(
                    "%s: board %d shows %r (%s)",
                    self.bridge_id,
                    address,
                    wanted.text,
                    wanted.mode.value,
                )
            else:
                return  # the port went away mid-draw: everything is redrawn when it is back

    def _publish_health(self) -> None:
        state = "ok" if self.port.is_open else "offline"
        self.health.update(state, {str(address): "unknown" for address in sorted(self.boards)})


def main(argv: list[str]) -> int:
    return run_cli(argv, "led", LedBridge)
