"""The floor of bench/latency.py: a bare echo service in its own process.

    python bench/_latency_echo.py --port PORT --db FILE --topic-prefix PREFIX [--batch]
                                  [--event-when PREFIX]

It receives a request on PREFIX/req/+ (QoS 1), commits one row to SQLite with the hall's durability
(WAL, synchronous=FULL: one fsync per commit), then publishes an event on PREFIX/event (QoS 1) and
an answer on PREFIX/resp/{who}. Everything happens in paho's network thread: no queue hop, no
engine, no JSON of any size: the least a service that commits before it publishes can do. It says
"ready" on stdout once subscribed, and stops on SIGTERM.

With --batch (the floor of bench/throughput.py, many clients at once) paho's thread only queues the
requests, and one worker commits whatever arrived together in ONE transaction (as the hall does per
batch) before it publishes their events and answers. With --event-when, only a request whose
payload starts with those bytes gets an event (the clerks' call_next, not their start and finish).
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import signal
import socket
import sqlite3
import sys
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--topic-prefix", required=True)
    parser.add_argument("--batch", action="store_true", help="one commit per batch that arrived")
    parser.add_argument("--event-when", default="", help="payload prefix of requests with an event")
    args = parser.parse_args()
    prefix = args.topic_prefix
    event_when = args.event_when.encode()

    db = sqlite3.connect(args.db, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS requests (id INTEGER PRIMARY KEY, body BLOB)")

    subscribed = threading.Event()
    stop = threading.Event()

    def on_connect(client: mqtt.Client, u: Any, f: Any, rc: Any, p: Any) -> None:
        sock = client.socket()
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.subscribe(f"{prefix}/req/+", qos=1)

    inbox: queue.SimpleQueue[tuple[str, bytes] | None] = queue.SimpleQueue()

    def answer(client: mqtt.Client, topic: str, payload: bytes) -> None:
        who = topic.rsplit("/", 1)[1]
        if payload.startswith(event_when):
            client.publish(f"{prefix}/event", payload, qos=1)
        client.publish(f"{prefix}/resp/{who}", payload, qos=1)

    def on_message(client: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
        if args.batch:
            inbox.put((msg.topic, bytes(msg.payload)))
            return
        db.execute("BEGIN")
        db.execute("INSERT INTO requests (body) VALUES (?)", (bytes(msg.payload),))
        db.execute("COMMIT")  # on disk before anything is published
        answer(client, msg.topic, bytes(msg.payload))

    def work(client: mqtt.Client) -> None:
        """--batch: drain what arrived together, commit it at once, then answer all of it."""
        while True:
            first = inbox.get()
            if first is None:
                return
            batch = [first]
            with contextlib.suppress(queue.Empty):
                while True:
                    item = inbox.get_nowait()
                    if item is None:
                        return
                    batch.append(item)
            db.execute("BEGIN")
            db.executemany("INSERT INTO requests (body) VALUES (?)", [(p,) for _, p in batch])
            db.execute("COMMIT")  # on disk before anything is published
            for topic, payload in batch:
                answer(client, topic, payload)

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-echo")
    client.on_connect = on_connect
    client.on_message = on_message
    client.on_subscribe = lambda *a: subscribed.set()
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", args.port, keepalive=30)
    client.loop_start()
    worker = threading.Thread(target=work, args=(client,), name="echo-worker", daemon=True)
    if args.batch:
        worker.start()
    signal.signal(signal.SIGTERM, lambda s, f: stop.set())
    if not subscribed.wait(10):
        print("no SUBACK", flush=True)
        return 1
    print("ready", flush=True)
    stop.wait()
    inbox.put(None)
    client.disconnect()
    client.loop_stop()
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
