"""`hallq keypad-bridge --id ID [--env FILE]`: turn the keys of the caller keypads on one serial
bus into their windows' requests, and drive each keypad's number display.

Each key frame is echoed at once (the keypad's acknowledgement), then fed to the keypad's session
(hardware/keypad/session.py). A request goes to a per-keypad worker, so keys keep their order and
the port's thread never waits for the hall: the worker sends it under one id and, while the hall
does not answer, keeps sending it under that SAME id, so a key pressed while the hall is down is
answered once it is back, and done once. A window's state (in paho's network thread) is only put on
the queue of the bridge's own thread, which updates the keypad's display: paho's thread never writes
to the port. device/{id}/health: `ok` / `offline` for the bus; each
keypad `ok` once it has been heard, `unknown` before.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import deque
from typing import Any

from contract import topics
from contract.client import RequestError
from hardware.bridges.common import BridgeSetup, HallLink, Health, bus_port, run_cli
from hardware.keypad.frame import Frame, FrameDecoder, Func, beep_frame, display_frame
from hardware.keypad.session import (
    Action,
    Beep,
    KeypadContext,
    KeypadSession,
    ShowDisplay,
    WindowRequest,
)

log = logging.getLogger(__name__)

ANSWERS_KEPT = 1000
ATTEMPT_TIMEOUT = 2.0  # seconds per attempt; attempts go on (same id) until answered or stopped


def keypad_context(setup: BridgeSetup, window_id: str) -> KeypadContext:
    return KeypadContext(
        window=window_id,
        prefix=setup.window(window_id).prefix,
        number_width=setup.number_width,
        windows_by_no=setup.windows_by_no,
        clerks_by_code=dict(setup.clerks_by_code),
    )


class _Keypad:
    def __init__(self, address: int, session: KeypadSession) -> None:
        self.address = address
        self.session = session
        self.heard = False
        self.requests: queue.Queue[WindowRequest | None] = queue.Queue()
        self.worker: threading.Thread | None = None


class KeypadBridge:
    def __init__(self, setup: BridgeSetup, hall: HallLink) -> None:
        bus = setup.bus
        self.site = setup.site
        self.bridge_id = setup.bridge_id
        self.hall = hall
        self.width = bus.display_width
        self.keypads: dict[int, _Keypad] = {}
        self.by_window: dict[str, _Keypad] = {}
        for unit in bus.keypads:
            keypad = _Keypad(unit.address, KeypadSession(keypad_context(setup, unit.window)))
            self.keypads[unit.address] = keypad
            self.by_window[unit.window] = keypad
        self.decoder = FrameDecoder()
        self.port = bus_port(
            setup,
            on_open=self._port_open,
            on_close=self._publish_health,
            on_data=self._on_data,
            on_idle=self._on_idle,
        )
        self.health = Health(hall.publish_health)
        # The latest answers, (address, op, id, answer), for diagnostics and tests: bounded, since
        # a bridge runs for months.
        self.answered: deque[tuple[int, str, str, dict[str, Any]]] = deque(maxlen=ANSWERS_KEPT)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        # Window states from paho's thread, applied by the bridge's own thread (None: stop).
        self._states: queue.SimpleQueue[tuple[_Keypad, dict[str, Any]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # No health before the port's first attempt: it would say `offline` for a bus that is
        # there (the port thread has not opened it yet). The port says: on_open, or on_close
        # when its first attempt fails.
        self._thread = threading.Thread(
            target=self._apply_states, name=f"{self.bridge_id} states", daemon=True
        )
        self._thread.start()
        for window in self.by_window:
            self.hall.subscribe_json(topics.window_state(self.site, window), self._on_state)
        for keypad in self.keypads.values():
            keypad.worker = threading.Thread(
                target=self._work, args=(keypad,), name=f"keypad {keypad.address}", daemon=True
            )
            keypad.worker.start()
        self.port.start()
        log.info("%s: keypads %s", self.bridge_id, sorted(self.keypads))

    def stop(self) -> None:
        self._stop.set()
        self._states.put(None)
        if self._thread is not None:
            self._thread.join(2)
        for keypad in self.keypads.values():
            keypad.requests.put(None)
        for keypad in self.keypads.values():
            if keypad.worker is not None:
                keypad.worker.join(ATTEMPT_TIMEOUT * 3 + 1)
        self.port.stop()

    # --- the bus ----------------------------------------------------------------------------
    def _on_data(self, data: bytes) -> None:
        for frame in self.decoder.feed(data):
            self._on_frame(frame)

    def _on_idle(self) -> None:
        for frame in self.decoder.idle():
            self._on_frame(frame)

    def _on_frame(self, frame: Frame) -> None:
        keypad = self.keypads.get(frame.address)
        if keypad is None or frame.func != Func.KEY:
            return  # another bus member's frame, or our own display frames echoed by the line
        self.port.write(frame.encode())  # the echo is the keypad's acknowledgement
        if not keypad.heard:
            keypad.heard = True
            self._publish_health()
        key = frame.key
        if key is None:
            log.warning("%s: keypad %d sent an unknown key %s", self.bridge_id, frame.address,
                        frame.data.hex())  # fmt: skip
            return
        log.info("%s: keypad %d key %s", self.bridge_id, frame.address, key.name)
        with self._lock:
            actions = keypad.session.press(key)
        self._act(keypad, actions)

    def _port_open(self) -> None:
        with self._lock:
            texts = {a: k.session.display_text() for a, k in self.keypads.items()}
        for address, text in texts.items():
            self.port.write(display_frame(address, text, self.width))
        self._publish_health()

    def _publish_health(self) -> None:
        state = "ok" if self.port.is_open else "offline"
        detail = {str(a): ("ok" if k.heard else "unknown") for a, k in sorted(self.keypads.items())}
        self.health.update(state, detail)

    def _act(self, keypad: _Keypad, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, WindowRequest):
                keypad.requests.put(action)
            elif isinstance(action, ShowDisplay):
                self.port.write(display_frame(keypad.address, action.text, self.width))
            elif isinstance(action, Beep):
                self.port.write(beep_frame(keypad.address))

    # --- the hall ---------------------------------------------------------------------------
    def _on_state(self, topic: str, state: dict[str, Any] | None) -> None:
        window = topics.parse_window(self.site, topic)
        keypad = self.by_window.get(window or "")
        if keypad is not None:
            self._states.put((keypad, state or {}))

    def _apply_states(self) -> None:
        while True:
            item = self._states.get()
            if item is None:
                return
            keypad, state = item
            try:
                with self._lock:
                    actions = keypad.session.on_state(state)
                self._act(keypad, actions)
            except Exception:  # one bad state or write must not stop every keypad's display
                log.exception("%s: showing a window's state failed; going on", self.bridge_id)

    def _work(self, keypad: _Keypad) -> None:
        window = keypad.session.context.window
        while not self._stop.is_set():
            request = keypad.requests.get()
            if request is None:
                return
            request_id = uuid.uuid4().hex
            answer = self._send(window, request, request_id)
            if answer is None:
                return  # stopping
            ok = answer.get("ok") is True
            code = "" if ok else str((answer.get("error") or {}).get("code", "?"))
            log.info("%s: keypad %d %s id %s -> %s", self.bridge_id, keypad.address,
                     request.op, request_id, "ok" if ok else code)  # fmt: skip
            with self._lock:
                self.answered.append((keypad.address, request.op, request_id, answer))
                actions = keypad.session.on_answer(request, answer)
            self._act(keypad, actions)

    def _send(self, window: str, request: WindowRequest, request_id: str) -> dict[str, Any] | None:
        started = time.monotonic()
        while not self._stop.is_set():
            try:
                return self.hall.request_answer(
                    request.op,
                    timeout=ATTEMPT_TIMEOUT,
                    retries=0,
                    request_id=request_id,
                    device=("window", window),
                    **dict(request.fields),
                )
            except RequestError as exc:
                log.warning("%s: %s id %s for %s: no answer yet after %.0f s (%s); trying again",
                            self.bridge_id, request.op, request_id, window,
                            time.monotonic() - started, exc)  # fmt: skip
        return None


def main(argv: list[str]) -> int:
    return run_cli(argv, "keypad", KeypadBridge)
