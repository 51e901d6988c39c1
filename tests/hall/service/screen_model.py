"""A hall screen's logic, for the fault tests that check what screens end up showing: draw `board`;
add each `calls` message with the next seq on top; on a gap, wait for a board that covers it (a
repeat, seq already shown, is ignored). Every `calls` message is also recorded in arrival order."""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from typing import Any

from contract import topics
from contract.mqtt_url import parse_url
from contract.transport import Message, PahoTransport
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import wait_for


def picture_of(board: dict[str, Any]) -> tuple[Any, ...]:
    """What a hall screen shows: the recent calls and each window's status and ticket."""
    recent = [(c["seq"], c["ticket"]["number"], c["window"]["id"]) for c in board["recent"]]
    windows = sorted(
        (w["window"]["id"], w["status"], (w["ticket"] or {}).get("number"))
        for w in board["windows"]
    )
    return board["seq"], tuple(recent), tuple(windows)


class Display:
    """A hall screen on its own link to the broker. `keepalive` and a short reconnect backoff for
    the tests that stop the broker: a screen whose keepalive outlives every stop keeps its link."""

    def __init__(
        self, broker: Broker, site: str, name: str | None = None, keepalive: int | None = None
    ) -> None:
        self.lock = threading.Lock()
        self.arrivals: list[int] = []  # seq of every calls message, in arrival order
        self.seq = 0
        self.recent: list[tuple[int, str, str]] = []
        self.windows: tuple[Any, ...] = ()
        self.stale = False
        self.connects = 0
        address = parse_url(broker.url)
        name = name or f"display-{os.getpid()}"
        if keepalive is None:
            self.transport = PahoTransport(address, name)
        else:
            address = dataclasses.replace(address, keepalive=keepalive)
            self.transport = PahoTransport(address, name, min_backoff=0.05, max_backoff=0.5)
        self.transport.subscribe(topics.board(site), self._on_board)
        self.transport.subscribe(topics.calls(site), self._on_call)
        self.transport.add_connect_listener(self._on_connect)
        self.transport.start(wait=10)

    def _on_connect(self) -> None:
        with self.lock:
            self.connects += 1

    def _on_board(self, message: Message) -> None:
        if not message.payload:
            return
        seq, recent, windows = picture_of(json.loads(message.payload))
        with self.lock:
            if seq >= self.seq or self.stale:
                self.seq, self.recent, self.windows = seq, list(recent), windows
                self.stale = False

    def _on_call(self, message: Message) -> None:
        call = json.loads(message.payload)
        with self.lock:
            self.arrivals.append(call["seq"])
            if call["seq"] <= self.seq:
                return  # shown already
            if call["seq"] != self.seq + 1:
                self.stale = True  # missed one: the next board redraws everything
                return
            self.seq = call["seq"]
            self.recent.insert(0, (call["seq"], call["ticket"]["number"], call["window"]["id"]))
            del self.recent[20:]

    def picture(self) -> tuple[Any, ...]:
        with self.lock:
            return self.seq, tuple(self.recent), self.windows

    def seen(self) -> list[int]:
        with self.lock:
            return list(self.arrivals)

    def close(self) -> None:
        self.transport.stop()


def retained_board(broker: Broker, site: str) -> dict[str, Any]:
    """The board the broker keeps for `site`, as a screen that connects now gets it."""
    got: list[bytes] = []
    reader = PahoTransport(parse_url(broker.url), f"board-reader-{os.getpid()}")
    reader.subscribe(topics.board(site), lambda m: got.append(m.payload))
    reader.start(wait=10)
    try:
        assert wait_for(lambda: bool(got), 10)
        board: dict[str, Any] = json.loads(got[-1])
        return board
    finally:
        reader.stop()
