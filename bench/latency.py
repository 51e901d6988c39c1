"""The latency bench of the hall on MQTT (issue #3): call to screen, against the floor for that work.

    .venv/bin/python bench/latency.py [--rounds 5] [--dir FOLDER]

It starts everything itself: a Mosquitto on a free loopback port (set_tcp_nodelay true), a real
`hallq server` process on the prefecture example (105 windows; 100 are played) with a fresh data
folder, 20 display subscribers in 4 processes of their own (a lean raw-socket MQTT 3.1.1 client at
QoS 1, bench/_latency_display.py, so the instrument is not what is measured), and the floor: a bare
echo service in its own process (bench/_latency_echo.py) that receives a request, commits one row to
SQLite with the hall's durability (WAL, synchronous=FULL) and publishes an event.

1. fsync: the disk's fsync time in the data folder (4 KB written and fsynced, 200 times).
2. Steady: the 100 window terminals (HallClient, one connection each) call one after another, each
   call followed by one echo request from the same terminal: p50/p99 from the terminal's request to
   the event reaching a display, over every (call, display) pair, for the hall and for the floor,
   and the ratio of the p99s; also request-to-answer times.
3. Burst: the 100 windows call at the same instant (the hall opening), sent by one thread over 100
   connections without network threads (written to the sockets at once): the time until the last
   of the 100 calls reached the last display, and the median display; the hall server's CPU for
   it. Then the floor's burst: 100 echo requests at once, to the echo service restarted with
   --batch (one commit for what arrived together, as the hall does), whose 100 events reach the
   same 20 displays: the broker's fan-out and the displays' reading, which the hall's burst needs
   too, with the least a service can add; the ratio of the two.

Goals: steady p99 at most 2x the floor's and under 10 ms; the burst within 100 ms. (On the 2-core
machines of 2026-12 the floor's own burst took 65-136 ms: the absolute goal depends on the machine,
the ratio says what the hall adds.)
The data folder defaults to artifacts/ (a real disk: on a tmpfs fsync is free).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import _latency_display  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402
from _latency_procs import (  # noqa: E402
    DISPLAY_PROCESSES,
    DISPLAYS_PER_PROCESS,
    ECHO_PREFIX,
    HALL,
    bench_logging,
    cpu_seconds,
    displays,
    echo_service,
    hall_run_args,
    hall_server,
    mosquitto,
    scraper,
    with_metrics,
)
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from contract import topics  # noqa: E402
from contract.client import HallClient  # noqa: E402
from contract.mqtt_url import parse_url  # noqa: E402
from contract.transport import Message  # noqa: E402
from hall.config.schema import HallConfig, Window, load_config, without_rate_limits  # noqa: E402

WINDOWS = 100
TIMEOUT = 5.0

log = logging.getLogger("bench.latency")


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def measure_fsync(folder: Path, count: int = 200) -> tuple[float, float]:
    """p50 and p99 in ms of writing 4 KB and fsyncing it, in `folder`."""
    path = folder / "fsync-probe"
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for _ in range(count):
            os.write(fd, b"x" * 4096)
            started = time.perf_counter()
            os.fsync(fd)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    return percentile(times, 0.5), percentile(times, 0.99)


class Terminal:
    """A window terminal: the hall's client for its window, plus the echo request/answer topics."""

    def __init__(self, port: int, site: str, window: Window) -> None:
        self.window = window
        self.client = HallClient.connect(
            parse_url(f"mqtt://127.0.0.1:{port}"), site, "window", window.id, wait=None
        )
        self._echo = threading.Event()
        self.client.subscribe(f"{ECHO_PREFIX}/resp/{window.id}", self._on_echo)

    def _on_echo(self, message: Message) -> None:
        self._echo.set()

    def echo(self, key: str) -> None:
        self._echo.clear()
        self.client.transport.publish(f"{ECHO_PREFIX}/req/{self.window.id}", key.encode(), qos=1)
        if not self._echo.wait(TIMEOUT):
            raise TimeoutError(f"{self.window.id}: the echo service did not answer {key}")


def issue_tickets(
    port: int, config: HallConfig, windows: Sequence[Window], per_window: int, window: int = 1000
) -> int:
    """Enough waiting tickets that every played window finds one at each call: `per_window` for
    each, of its first tier's services, sent pipelined from all kiosks (no wait per ticket), at
    most `window` unanswered at a time (the broker queues at most 5000 for the hall)."""
    site = config.site.id
    kiosks = [k.id for k in config.kiosks]
    answers = threading.Semaphore(0)
    clients = [
        HallClient.connect(parse_url(f"mqtt://127.0.0.1:{port}"), site, "kiosk", k) for k in kiosks
    ]
    try:
        for client in clients:
            client.subscribe(
                topics.response(site, "kiosk", client.device_id),
                lambda m: answers.release(),
                wait=5,
            )
        sent = answered = 0
        for n in range(per_window):
            for index, played in enumerate(windows):
                service = played.tiers[0][(n + index) % len(played.tiers[0])]
                if sent - answered >= window:
                    if not answers.acquire(timeout=30):
                        raise TimeoutError("the hall did not answer every issue")
                    answered += 1
                client = clients[sent % len(clients)]
                body = {"v": 1, "id": f"t{sent}", "op": "issue", "service": service}
                client.transport.publish(
                    topics.request(site, "kiosk", client.device_id),
                    json.dumps(body).encode(),
                    qos=1,
                )
                sent += 1
        for _ in range(sent - answered):
            if not answers.acquire(timeout=30):
                raise TimeoutError("the hall did not answer every issue")
        return sent
    finally:
        for client in clients:
            client.close()


def steady(
    terminals: Sequence[Terminal], rounds: int, gap: float
) -> tuple[dict[str, float], dict[str, float], list[float], list[float]]:
    """Calls one after another, each followed by an echo from the same terminal. Returns the send
    times by call seq and by echo key, and the request-to-answer times of both (ms)."""
    call_sent: dict[str, float] = {}
    echo_sent: dict[str, float] = {}
    call_answer: list[float] = []
    echo_answer: list[float] = []
    seq = 0
    for round_no in range(rounds):
        for terminal in terminals:
            started = time.monotonic()
            answer = terminal.client.request_answer("call_next", timeout=TIMEOUT)
            answered = time.monotonic()
            if answer.get("ok"):
                seq += 1
                call_sent[str(seq)] = started
                call_answer.append((answered - started) * 1000)
            else:
                log.warning("%s call_next: %s", terminal.window.id, answer.get("error"))
            time.sleep(gap)
            key = f"e{round_no}-{terminal.window.id}"
            started = time.monotonic()
            terminal.echo(key)
            echo_answer.append((time.monotonic() - started) * 1000)
            echo_sent[key] = started
            time.sleep(gap)
    return call_sent, echo_sent, call_answer, echo_answer


class BurstTerminal:
    """A window terminal for the burst: paho without a network thread, so a publish is written to
    the socket at once by the caller; 100 of them send their call_next within a few ms from one
    thread (100 threads of a Python process, each waking its own network thread, take ~100 ms)."""

    def __init__(self, port: int, site: str, window: Window, floor: bool = False) -> None:
        if floor:  # the floor's burst: an echo request, whose event goes to the same displays
            self.topic, self.payload = f"{ECHO_PREFIX}/req/{window.id}", burst_key(window).encode()
        else:
            self.topic = topics.request(site, "window", window.id)
            body = {"v": 1, "id": burst_key(window), "op": "call_next"}
            self.payload = json.dumps(body).encode()
        name = f"burst-{'floor-' if floor else ''}{window.id}"
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name)
        self.client.connect("127.0.0.1", port, keepalive=30)
        sock = self.client.socket()
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        deadline = time.monotonic() + TIMEOUT
        while not self.client.is_connected() and time.monotonic() < deadline:
            self.client.loop(0.05)
        if not self.client.is_connected():
            raise RuntimeError(f"burst terminal {window.id}: no connection")

    def send(self) -> None:
        self.client.publish(self.topic, self.payload, qos=1)

    def close(self) -> None:
        self.client.disconnect()


def burst_key(window: Window) -> str:
    """A window's burst request: the hall's request id, the floor's echo key."""
    return f"burst-{window.id}"


def burst(
    port: int, site: str, windows: Sequence[Window], floor: bool = False
) -> tuple[float, float]:
    """Every window calls at the same instant (with `floor`, sends the echo service a request);
    returns the release time and how long sending the 100 requests took (ms)."""
    terminals = [BurstTerminal(port, site, w, floor) for w in windows]
    try:
        released = time.monotonic()
        wall = time.time()
        for terminal in terminals:
            terminal.send()
        log.info(
            "burst%s released at %s",
            " (floor)" if floor else "",
            time.strftime("%H:%M:%S", time.localtime(wall)) + f"{wall % 1:.3f}"[1:],
        )
        spread = (time.monotonic() - released) * 1000
        time.sleep(1.0)  # the calls reach the displays (measured there)
        for terminal in terminals:
            terminal.client.loop(0.01)  # read the acknowledgements
        return released, spread
    finally:
        for terminal in terminals:
            terminal.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="steady calls per window")
    parser.add_argument("--gap-ms", type=float, default=5.0, help="pause after each request")
    hall_run_args(parser)
    parser.add_argument(
        "--metrics",
        type=float,
        metavar="SECONDS",
        help="serve the hall's [metrics] and scrape them every SECONDS (bench/metrics.py)",
    )
    args = parser.parse_args(argv)
    bench_logging()
    run_started = time.monotonic()
    config = without_rate_limits(load_config(HALL))  # its kiosks issue far faster than visitors
    played = config.windows[:WINDOWS]
    if len(played) < WINDOWS:
        print(f"the hall has {len(played)} windows: {WINDOWS} are needed", file=sys.stderr)
        return 2
    site = config.site.id
    args.dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-latency-", dir=args.dir))
    try:
        fsync_p50, fsync_p99 = measure_fsync(folder)
        with ExitStack() as stack:
            port = stack.enter_context(mosquitto(folder))
            stop_displays, results = stack.enter_context(displays(port, site))
            steady_echo = stack.enter_context(ExitStack())
            steady_echo.enter_context(echo_service(port, folder))
            config_file = HALL
            if args.metrics:
                config_file, metrics_port = with_metrics(folder)
            hall = stack.enter_context(
                hall_server(port, folder, config, args.profile_hall, config_file)
            )
            if args.metrics:
                stack.enter_context(scraper(metrics_port, args.metrics))
            terminals = [Terminal(port, site, w) for w in played]
            for terminal in terminals:
                stack.callback(terminal.client.close)
                if not terminal.client.transport.wait_ready(15):
                    raise RuntimeError(f"{terminal.window.id}: no connection")
            for terminal in terminals:
                terminal.client.request("login", clerk=terminal.window.clerks[0], timeout=TIMEOUT)
            issued = issue_tickets(port, config, played, 3 * (args.rounds + 1))
            set_up = time.monotonic() - run_started
            call_sent, echo_sent, call_answer, echo_answer = steady(
                terminals, args.rounds, args.gap_ms / 1000
            )
            last_steady_seq = len(call_sent)
            # The steady terminals go: their network threads would only take CPU from the
            # displays (the burst answers are not waited for; the displays measure).
            for terminal in terminals:
                terminal.client.close()
            # The hall's board and queues settle, and the hall takes in the 100 terminals'
            # `offline` (device states, alarms): 40-60 ms of its CPU in these 0.5 s, work of the
            # bench's own that overlapped the burst when the burst followed the close at once.
            time.sleep(0.5)
            cpu_before = cpu_seconds(hall.pid)
            released, spread = burst(port, site, played)
            cpu_after = cpu_seconds(hall.pid)
            # The floor of a burst commits what arrived together at once, as the hall does.
            steady_echo.close()
            stack.enter_context(echo_service(port, folder, "--batch"))
            floor_released, _ = burst(port, site, played, floor=True)
            stop_displays.set()
            arrivals: list[_latency_display.Arrival] = []
            for _ in range(DISPLAY_PROCESSES):
                arrivals.extend(results.get(timeout=30))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    hall_ms = [
        (at - call_sent[key]) * 1000
        for _, kind, key, at in arrivals
        if kind == "call" and key in call_sent
    ]
    floor_ms = [
        (at - echo_sent[key]) * 1000
        for _, kind, key, at in arrivals
        if kind == "echo" and key in echo_sent
    ]
    burst_seqs = {
        key for _, kind, key, _ in arrivals if kind == "call" and int(key) > last_steady_seq
    }
    burst_calls = len(burst_seqs)
    burst_at = [at for _, kind, key, at in arrivals if kind == "call" and key in burst_seqs]
    per_display_last: dict[str, float] = {}
    for name, kind, key, at in arrivals:
        if kind == "call" and key in burst_seqs:
            per_display_last[name] = max(per_display_last.get(name, 0.0), at)
    subscribers = DISPLAY_PROCESSES * DISPLAYS_PER_PROCESS
    expected = len(call_sent) * subscribers
    if not hall_ms or not floor_ms:
        print("no measurement arrived", file=sys.stderr)
        return 1
    hall_p50, hall_p99 = percentile(hall_ms, 0.5), percentile(hall_ms, 0.99)
    floor_p50, floor_p99 = percentile(floor_ms, 0.5), percentile(floor_ms, 0.99)
    ratio = hall_p99 / floor_p99
    burst_ms = (max(burst_at) - released) * 1000 if burst_at else float("inf")
    floor_keys = {burst_key(w) for w in played}
    floor_at = [at for _, kind, key, at in arrivals if kind == "echo" and key in floor_keys]
    floor_burst_ms = (max(floor_at) - floor_released) * 1000 if floor_at else float("inf")
    if burst_at:
        log.warning(
            "burst: first call at a display after %.1f ms", (min(burst_at) - released) * 1000
        )
    median_display_ms = (
        (statistics.median(per_display_last.values()) - released) * 1000
        if per_display_last
        else float("inf")
    )
    total = time.monotonic() - run_started
    print(
        f"hall: {HALL.name}, {len(played)} windows, {subscribers} displays in "
        f"{DISPLAY_PROCESSES} processes; {issued} tickets issued; set-up {set_up:.1f} s"
    )
    print(f"fsync (4 KB, data folder's disk): p50 {fsync_p50:.2f} ms, p99 {fsync_p99:.2f} ms")
    print(
        f"steady, hall  call_next -> display: p50 {hall_p50:.2f} ms, p99 {hall_p99:.2f} ms "
        f"({len(call_sent)} calls, {len(hall_ms)}/{expected} deliveries; answer p50 "
        f"{percentile(call_answer, 0.5):.2f} ms, p99 {percentile(call_answer, 0.99):.2f} ms)"
    )
    print(
        f"steady, floor echo      -> display: p50 {floor_p50:.2f} ms, p99 {floor_p99:.2f} ms "
        f"({len(echo_sent)} requests, {len(floor_ms)} deliveries; answer p50 "
        f"{percentile(echo_answer, 0.5):.2f} ms, p99 {percentile(echo_answer, 0.99):.2f} ms)"
    )
    print(f"p99 ratio hall/floor: {ratio:.2f} (goal <= 2)")
    print(
        f"burst: {burst_calls} calls at once (sent within {spread:.1f} ms): the last reached the "
        f"displays after {burst_ms:.1f} ms (the median display had all after "
        f"{median_display_ms:.1f} ms)"
    )
    burst_cpu = (
        f"{(cpu_after - cpu_before) * 1000:.0f} ms"
        if cpu_before is not None and cpu_after is not None
        else "unknown"
    )
    print(f"burst: the hall server's CPU from the release to 1 s after: {burst_cpu}")
    print(
        f"burst, floor: 100 echo requests at once ({len(floor_at)}/{len(played) * subscribers} "
        f"events arrived): the last reached the displays after {floor_burst_ms:.1f} ms; "
        f"hall/floor {burst_ms / floor_burst_ms:.2f}"
    )
    goals = {
        "steady p99 <= 2x floor": ratio <= 2.0,
        "steady p99 < 10 ms": hall_p99 < 10.0,
        "burst <= 100 ms": burst_ms <= 100.0 and burst_calls == len(played),
    }
    print("goals: " + ", ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in goals.items()))
    print(f"whole run: {total:.1f} s")
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
