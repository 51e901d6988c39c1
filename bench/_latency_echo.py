"""The floor of bench/latency.py: a bare echo service in its own process.

    python bench/_latency_echo.py --port PORT --db FILE --topic-prefix PREFIX

It receives a request on PREFIX/req/+ (QoS 1), commits one row to SQLite with the hall's durability
(WAL, synchronous=FULL: one fsync per commit), then publishes an event on PREFIX/event (QoS 1) and
an answer on PREFIX/resp/{who}. Everything happens in paho's network thread: no queue hop, no
engine, no JSON of any size: the least a service that commits before it publishes can do. It says
"ready" on stdout once subscribed, and stops on SIGTERM.
"""

from __future__ import annotations

import argparse
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
    args = parser.parse_args()
    prefix = args.topic_prefix

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

    def on_message(client: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
        db.execute("BEGIN")
        db.execute("INSERT INTO requests (body) VALUES (?)", (bytes(msg.payload),))
        db.execute("COMMIT")  # on disk before anything is published
        who = msg.topic.rsplit("/", 1)[1]
        client.publish(f"{prefix}/event", msg.payload, qos=1)
        client.publish(f"{prefix}/resp/{who}", msg.payload, qos=1)

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-echo")
    client.on_connect = on_connect
    client.on_message = on_message
    client.on_subscribe = lambda *a: subscribed.set()
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", args.port, keepalive=30)
    client.loop_start()
    signal.signal(signal.SIGTERM, lambda s, f: stop.set())
    if not subscribed.wait(10):
        print("no SUBACK", flush=True)
        return 1
    print("ready", flush=True)
    stop.wait()
    client.disconnect()
    client.loop_stop()
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
