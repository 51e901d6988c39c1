"""The monitor's connection to the hall: one `HallClient` as operator `{id}` whose dispatcher hops
onto the UI thread (Kivy's `Clock.schedule_once` in the app; `inline` in tests), so every message
and every answer is applied to the presenter on that thread, and no request ever blocks it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from contract import topics
from contract.client import ConnectionState, Dispatcher, HallClient, RequestError, RequestFuture
from contract.mqtt_url import BrokerAddress
from contract.transport import ONLINE, Message
from monitor.presenter import ERROR_ZH, MonitorPresenter


class MonitorLink:
    def __init__(
        self,
        address: BrokerAddress,
        site: str,
        operator_id: str,
        presenter: MonitorPresenter,
        dispatch: Dispatcher,
        on_change: Callable[[bool], None],
    ) -> None:
        self.address, self.site, self.operator_id = address, site, operator_id
        self.presenter, self.dispatch, self.on_change = presenter, dispatch, on_change
        self.client: HallClient | None = None
        self.alarms_arrived: dict[str, float] = {}  # bench: alarm id -> monotonic arrival

    def start(self) -> None:
        client = HallClient.connect(
            self.address,
            self.site,
            "operator",
            self.operator_id,
            wait=None,
            dispatcher=self.dispatch,
        )
        self.client = client
        site, p = self.site, self.presenter
        client.add_state_listener(self._state)
        client.subscribe_json(topics.catalog(site), self._apply(lambda t, v: p.on_catalog(v)))
        client.subscribe_json(topics.queues(site), self._apply(lambda t, v: p.on_queues(v)))
        client.subscribe_json(topics.board(site), self._apply(lambda t, v: p.on_board(v)))
        client.subscribe_json(topics.stats(site), self._apply(lambda t, v: p.on_stats(v)))
        client.subscribe_json(topics.cases(site), self._apply(lambda t, v: p.on_cases(v)))
        client.subscribe_json(topics.alarms(site), self._apply(self._alarms, urgent=True))
        client.subscribe_json(topics.all_window_states(site), self._apply(self._window))
        client.subscribe_json(topics.all_health(site), self._apply(self._health))
        client.subscribe(topics.all_status(site), self._presence)

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()

    def _apply(
        self, apply: Callable[[str, dict[str, Any] | None], None], urgent: bool = False
    ) -> Callable[[str, dict[str, Any] | None], None]:
        def on_ui_thread(topic: str, payload: dict[str, Any] | None) -> None:
            apply(topic, payload)  # the client already runs this through our dispatcher
            self.on_change(urgent)

        return on_ui_thread

    def _alarms(self, topic: str, payload: dict[str, Any] | None) -> None:
        self.presenter.on_alarms(payload, time.monotonic())

    def _window(self, topic: str, payload: dict[str, Any] | None) -> None:
        window = topics.parse_window(self.site, topic)
        if window is not None:
            self.presenter.on_window_state(window, payload)

    def _health(self, topic: str, payload: dict[str, Any] | None) -> None:
        self.presenter.on_health(topic.split("/")[-2], payload)

    def _presence(self, message: Message) -> None:
        self.presenter.on_presence(message.topic.rsplit("/", 1)[-1], message.payload == ONLINE)
        self.on_change(False)

    def _state(self, state: ConnectionState) -> None:
        self.presenter.on_connection(state.link == "connected")
        if state.hall in ("online", "offline"):
            self.presenter.on_presence("hall", state.hall == "online")
        self.on_change(True)

    def send(
        self,
        title: str,
        op: str,
        fields: dict[str, Any],
        done: Callable[[bool], None] | None = None,
    ) -> None:
        """Submit an op (never blocks); its outcome becomes the presenter's message."""
        if self.client is None:
            return
        self.presenter.message = f"{title}：正在发送…"

        def finished(future: RequestFuture) -> None:
            ok, detail = True, ""
            try:
                future.result(0)
            except RequestError as exc:
                code = str(getattr(exc, "code", ""))
                ok, detail = False, ERROR_ZH.get(code, str(exc))
            self.presenter.outcome(title, ok, detail)
            if done is not None:
                done(ok)
            self.on_change(True)

        self.client.submit(op, **fields).add_done_callback(finished)
