"""Display subscribers of bench/latency.py, several per process, so the measuring process is not
the bottleneck: each records when every message on the call and echo-event topics arrived.

A measuring instrument, so as lean as a subscriber can be: a minimal MQTT 3.1.1 client on a raw
socket (CONNECT, SUBSCRIBE at QoS 1, PUBLISH in, PUBACK out), all the subscribers of a process served
by one thread with a selector, each read taking every packet that has arrived and acknowledging them
in one write. paho in its place spends ~50 us and four system calls on each message in Python: with
20 subscribers receiving a 100-call burst, 2,000 of those on a 2-core machine are the burst's
slowest part, and would measure the instrument rather than the hall.

Run by latency.py through multiprocessing (spawn): `run(port, calls, echo, count, index, ready,
results, stop)`. Arrival times are time.monotonic(), one clock for every process of the machine
(CLOCK_MONOTONIC), so they compare with the send times the measuring process takes.
"""

from __future__ import annotations

import contextlib
import re
import selectors
import socket
import struct
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

SEQ = re.compile(rb'"seq":(\d+)')
KEEPALIVE = 120  # seconds: longer than a bench run, so no PINGREQ is needed
# (subscriber, topic kind, key, arrival): key is the call's seq, or the echo request's id.
Arrival = tuple[str, str, str, float]


def _length(n: int) -> bytes:
    """MQTT's variable-length 'remaining length'."""
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def connect_packet(client_id: str) -> bytes:
    body = _string("MQTT") + bytes([4, 0x02]) + struct.pack("!H", KEEPALIVE) + _string(client_id)
    return b"\x10" + _length(len(body)) + body


def publish_packet(topic: str, payload: bytes, packet_id: int) -> bytes:
    """PUBLISH at QoS 1 (bench/publish.py's floor)."""
    body = _string(topic) + struct.pack("!H", packet_id) + payload
    return b"\x32" + _length(len(body)) + body


def subscribe_packet(packet_id: int, topics: list[str]) -> bytes:
    body = struct.pack("!H", packet_id) + b"".join(_string(t) + b"\x01" for t in topics)
    return b"\x82" + _length(len(body)) + body


class Subscriber:
    def __init__(self, name: str, port: int, calls: str, echo: str) -> None:
        self.name, self.calls, self.echo = name, calls.encode(), echo.encode()
        self.arrivals: list[Arrival] = []
        self.buffer = bytearray()
        self.ready = False
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(connect_packet(name) + subscribe_packet(1, [calls, echo]))

    def on_readable(self) -> None:
        data = self.sock.recv(1 << 20)
        now = time.monotonic()
        if not data:
            raise ConnectionError(f"{self.name}: the broker closed the connection")
        self.buffer += data
        acks = bytearray()
        while True:
            packet = self._next_packet()
            if packet is None:
                break
            kind, flags, body = packet
            if kind == 3:  # PUBLISH
                (topic_len,) = struct.unpack_from("!H", body, 0)
                topic = body[2 : 2 + topic_len]
                at = 2 + topic_len
                if flags & 0x06:  # QoS 1: acknowledge it
                    acks += b"\x40\x02" + body[at : at + 2]
                    at += 2
                payload = body[at:]
                if topic == self.calls:
                    match = SEQ.search(payload)
                    if match:
                        self.arrivals.append((self.name, "call", match[1].decode(), now))
                elif topic == self.echo:
                    self.arrivals.append((self.name, "echo", payload.decode(), now))
            elif kind == 9:  # SUBACK
                self.ready = True
        if acks:
            self.sock.sendall(acks)

    def _next_packet(self) -> tuple[int, int, bytes] | None:
        buffer = self.buffer
        if len(buffer) < 2:
            return None
        length, multiplier, pos = 0, 1, 1
        while True:
            if pos >= len(buffer):
                return None
            byte = buffer[pos]
            length += (byte & 0x7F) * multiplier
            multiplier *= 128
            pos += 1
            if not byte & 0x80:
                break
        if len(buffer) < pos + length:
            return None
        header = buffer[0]
        body = bytes(buffer[pos : pos + length])
        del buffer[: pos + length]
        return header >> 4, header & 0x0F, body

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(b"\xe0\x00")  # DISCONNECT
        self.sock.close()


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
        selector.register(subscriber.sock, selectors.EVENT_READ, subscriber)
    announced = False
    while not stop.is_set():
        for key, _ in selector.select(0.05):
            key.data.on_readable()
        if not announced and all(s.ready for s in subscribers):
            announced = True
            ready.put(index)
    arrivals: list[Arrival] = []
    for subscriber in subscribers:
        subscriber.close()
        arrivals.extend(subscriber.arrivals)
    results.put(arrivals)
