"""The display's connection to the hall: today's `HallClient` and `subscribe_json`, every message
handed to the UI thread through `dispatch` (Kivy's `Clock.schedule_once` in the app), never applied
in paho's network thread.

`poll()` (called on the UI thread twice a second) reports paho's connection state and how long a
keepalive ping has waited for its answer: that is how a hung link shows within 1.5 keepalives.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contract import topics
from contract.client import HallClient
from contract.hall_clock import HallClock
from contract.mqtt_url import BrokerAddress
from contract.transport import ONLINE, Message

log = logging.getLogger(__name__)

Dispatch = Callable[[Callable[[], None]], None]


class Screen(Protocol):
    """What a presenter takes from the link (hall and window presenters both)."""

    def on_catalog(self, payload: dict[str, Any] | None) -> None: ...
    def on_board(self, payload: dict[str, Any] | None, now: float) -> None: ...
    def on_calls(self, payload: dict[str, Any] | None, now: float) -> None: ...
    def on_window_state(self, window_id: str, payload: dict[str, Any] | None) -> None: ...
    def on_stats(self, payload: dict[str, Any] | None) -> None: ...
    def on_connection(self, connected: bool) -> None: ...
    def on_hall_status(self, online: bool) -> None: ...
    def on_ping_wait(self, seconds: float) -> None: ...


class Link:
    def __init__(
        self,
        address: BrokerAddress,
        site: str,
        device_id: str,
        screen: Screen,
        clock: HallClock,
        dispatch: Dispatch,
        on_change: Callable[[bool], None],
        window: str | None = None,
    ) -> None:
        self.address, self.site, self.device_id = address, site, device_id
        self.screen, self.clock, self.dispatch = screen, clock, dispatch
        # The UI's redraw triggers, called after each applied message: urgent (a call, the hall's
        # status) on the next frame; the rest (board, window states, catalog, stats) coalesced.
        self.on_change = on_change
        self.window = window  # a window screen follows only its window's state
        self.client: HallClient | None = None
        self.received: dict[str, float] = {}  # topic kind -> monotonic arrival (bench, tests)
        # Settings from the hall: called (on the UI thread) when they differ from those in use.
        self.settings_changed: Callable[[], None] | None = None
        self.settings_in_use: dict[str, Any] | None = None

    def start(self) -> None:
        client = HallClient.connect(self.address, self.site, "display", self.device_id, wait=None)
        self.client = client
        site = self.site
        client.subscribe_json(topics.clock(site), self.clock.on_clock)  # thread-safe by itself
        client.subscribe_json(topics.catalog(site), self._hop(self._catalog))
        client.subscribe_json(topics.board(site), self._hop(self._board))
        client.subscribe_json(topics.calls(site), self._hop(self._calls, urgent=True))
        client.subscribe_json(topics.stats(site), self._hop(lambda t, p: self.screen.on_stats(p)))
        states = topics.window_state(site, self.window) if self.window else None
        client.subscribe_json(states or topics.all_window_states(site), self._hop(self._state))
        client.subscribe(topics.status(site, topics.HALL_CLIENT_ID), self._status)
        if self.settings_changed is not None:
            client.subscribe_json(topics.device_settings(site, self.device_id), self._settings)

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()

    def _hop(
        self, apply: Callable[[str, dict[str, Any] | None], None], urgent: bool = False
    ) -> Callable[[str, dict[str, Any] | None], None]:
        def in_network_thread(topic: str, payload: dict[str, Any] | None) -> None:
            def on_ui_thread() -> None:
                apply(topic, payload)
                self.on_change(urgent)

            self.dispatch(on_ui_thread)

        return in_network_thread

    def _catalog(self, topic: str, payload: dict[str, Any] | None) -> None:
        zone = ((payload or {}).get("site") or {}).get("tz")
        if isinstance(zone, str):
            with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
                self.clock.tz = ZoneInfo(zone)  # the date and time on screen are the hall's
        self.screen.on_catalog(payload)

    def _board(self, topic: str, payload: dict[str, Any] | None) -> None:
        self.received["board"] = time.monotonic()
        self.screen.on_board(payload, time.monotonic())

    def _calls(self, topic: str, payload: dict[str, Any] | None) -> None:
        self.received["calls"] = time.monotonic()
        self.screen.on_calls(payload, time.monotonic())

    def _state(self, topic: str, payload: dict[str, Any] | None) -> None:
        window = topics.parse_window(self.site, topic)
        if window is not None:
            self.screen.on_window_state(window, payload)

    def _settings(self, topic: str, payload: dict[str, Any] | None) -> None:
        section = (payload or {}).get("settings")
        changed = self.settings_changed
        if isinstance(section, dict) and section != self.settings_in_use and changed is not None:
            log.info("display %s: new settings from the hall: restarting", self.device_id)
            self.dispatch(changed)

    def _status(self, message: Message) -> None:
        online = message.payload == ONLINE

        def on_ui_thread() -> None:
            self.screen.on_hall_status(online)
            self.on_change(True)

        self.dispatch(on_ui_thread)

    def poll(self) -> None:
        """On the UI thread: the connection's state and the age of an unanswered ping."""
        client = self.client
        if client is None:
            return
        self.screen.on_connection(client.connected)
        self.screen.on_ping_wait(ping_wait(client) if client.connected else 0.0)


def ping_wait(client: HallClient) -> float:
    """Seconds paho's last PINGREQ has waited for its PINGRESP (0 when none is outstanding).
    paho keeps it in `_ping_t` (time.monotonic); a transport without one reports 0."""
    paho = getattr(client.transport, "_client", None)
    sent = getattr(paho, "_ping_t", 0) or 0
    return max(0.0, time.monotonic() - float(sent)) if sent else 0.0
