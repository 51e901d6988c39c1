"""Display subscribers of bench/latency.py, several per process, so the measuring process is not
the bottleneck: each records when every message on the call and echo-event topics arrived.

Run by latency.py through multiprocessing (spawn): `run(port, topics, count, index, ready, results,
stop)`. Arrival times are time.monotonic(), which is one clock for every process of the machine
(CLOCK_MONOTONIC), so they compare with the send times the measuring process takes.
"""

from __future__ import annotations

import json
import re
import selectors
import socket
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

SEQ = re.compile(rb'"seq":(\d+)')
# (subscriber, topic kind, key, arrival): key is the call's seq, or the echo request's id.
Arrival = tuple[str, str, str, float]


class Subscriber:
    """One display's connection. No network thread of its own: `run` serves all the subscribers of
    a process from one thread with a selector, so they do not fight over the GIL."""

    def __init__(self, name: str, port: int, calls: str, echo: str) -> None:
        self.name, self.calls, self.echo = name, calls, echo
        self.arrivals: list[Arrival] = []
        self.ready = False
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, keepalive=30)
        sock = self.client.socket()
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _on_connect(self, client: mqtt.Client, u: Any, f: Any, rc: Any, p: Any) -> None:
        client.subscribe([(self.calls, 1), (self.echo, 1)])

    def _on_subscribe(self, *args: Any) -> None:
        self.ready = True

    def _on_message(self, client: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
        now = time.monotonic()
        if msg.topic == self.calls:
            # The seq is all we need: read it without decoding the whole call.
            match = SEQ.search(msg.payload)
            key = match[1].decode() if match else str(json.loads(msg.payload)["seq"])
            self.arrivals.append((self.name, "call", key, now))
        else:
            self.arrivals.append((self.name, "echo", msg.payload.decode(), now))

    def close(self) -> None:
        self.client.disconnect()


def run(
    port: int,
    calls_topic: str,
    echo_topic: str,
    count: int,
    index: int,
    ready: Queue[int],
    results: Queue[list[Arrival]],
    stop: Event,
) -> None:
    subscribers = [
        Subscriber(f"bench-display-{index}-{n}", port, calls_topic, echo_topic)
        for n in range(count)
    ]
    selector = selectors.DefaultSelector()
    for subscriber in subscribers:
        sock = subscriber.client.socket()
        assert sock is not None
        selector.register(sock, selectors.EVENT_READ, subscriber)
    announced = False
    last_misc = time.monotonic()
    while not stop.is_set():
        for key, _ in selector.select(0.05):
            key.data.client.loop_read(max_packets=20)
        for subscriber in subscribers:
            if subscriber.client.want_write():
                subscriber.client.loop_write()
        if time.monotonic() - last_misc > 1.0:  # keepalive pings
            last_misc = time.monotonic()
            for subscriber in subscribers:
                subscriber.client.loop_misc()
        if not announced and all(s.ready for s in subscribers):
            announced = True
            ready.put(index)
    arrivals: list[Arrival] = []
    for subscriber in subscribers:
        subscriber.close()
        arrivals.extend(subscriber.arrivals)
    results.put(arrivals)
