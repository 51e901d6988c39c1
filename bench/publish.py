"""What a burst of QoS 1 publishes costs through the hall's transport, against a bare encoder.

    .venv/bin/python bench/publish.py [--messages 400] [--rounds 5]

A burst of 100 calls has the hall publish ~400 QoS 1 messages (100 answers, 100 calls, 100 window
states, 100 ratings) and read their ~400 acknowledgements; that is most of the hall server's CPU
for the burst (issue 12). On a Mosquitto of its own (a free loopback port), each round:

1. transport: contract.transport.PahoTransport (paho's client, buffered socket) publishes the
   messages from this thread, as the hall's worker does, and paho's network thread sends them and
   reads the acknowledgements: the time until every one is acknowledged, and the process's CPU.
2. floor: the same messages encoded by hand (MQTT 3.1.1 PUBLISH, QoS 1) and written with one
   sendall on a raw socket, the acknowledgements read back: the least a publisher can do.

Prints the median over the rounds of both and their ratios. No goal: it says how much a leaner
publish path could save the hall.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from _latency_display import connect_packet, publish_packet  # noqa: E402
from _latency_procs import mosquitto  # noqa: E402

from contract.mqtt_url import parse_url  # noqa: E402
from contract.transport import PahoTransport  # noqa: E402

# A `calls` message of the prefecture hall is ~300 bytes.
PAYLOAD = b'{"v":1,"seq":1,"ticket":"20261126-A001","number":"A001","window":"w001"}' * 4
TIMEOUT = 30.0


def transport_round(transport: PahoTransport, messages: int) -> tuple[float, float]:
    """(ms until all acknowledged, ms of this process's CPU)."""
    cpu, started = time.process_time(), time.perf_counter()
    sent = [transport.publish(f"bench/pub/{n}", PAYLOAD, qos=1) for n in range(messages)]
    deadline = started + TIMEOUT
    while not all(d.is_published() for d in sent):
        if time.perf_counter() > deadline:
            raise TimeoutError("the broker did not acknowledge every publish")
        time.sleep(0.0002)
    return (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000


def floor_round(sock: socket.socket, messages: int) -> tuple[float, float]:
    cpu, started = time.process_time(), time.perf_counter()
    data = b"".join(
        publish_packet(f"bench/pub/{n}", PAYLOAD, n % 65535 + 1) for n in range(messages)
    )
    sock.sendall(data)
    acknowledged = 0
    while acknowledged < messages * 4:  # each PUBACK is 4 bytes
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the broker closed the connection")
        acknowledged += len(chunk)
    return (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=400, help="QoS 1 publishes per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="bench-publish-") as folder,
        mosquitto(Path(folder)) as port,
    ):
        transport = PahoTransport(parse_url(f"mqtt://127.0.0.1:{port}"), "bench-transport")
        transport.start(wait=10)
        sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(connect_packet("bench-floor"))
        if sock.recv(4)[:1] != b"\x20":
            raise ConnectionError("no CONNACK for the floor's socket")
        try:
            ours, floor = [], []
            for _ in range(args.rounds):  # alternating: both see the same machine
                ours.append(transport_round(transport, args.messages))
                time.sleep(0.2)
                floor.append(floor_round(sock, args.messages))
                time.sleep(0.2)
        finally:
            transport.stop()
            sock.close()
    ours_ms, ours_cpu = (statistics.median(x) for x in zip(*ours, strict=True))
    floor_ms, floor_cpu = (statistics.median(x) for x in zip(*floor, strict=True))
    print(f"{args.messages} QoS 1 publishes of {len(PAYLOAD)} bytes, median of {args.rounds}:")
    print(f"  transport (paho): all acknowledged after {ours_ms:.1f} ms, CPU {ours_cpu:.1f} ms")
    print(f"  floor (one write): all acknowledged after {floor_ms:.1f} ms, CPU {floor_cpu:.1f} ms")
    print(f"ratios transport/floor: time {ours_ms / floor_ms:.1f}, CPU {ours_cpu / floor_cpu:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
