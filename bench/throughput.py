"""The throughput bench of the hall (issue #10): many clerks calling at once, against its floor.

    .venv/bin/python bench/throughput.py [--seconds 30] [--dir FOLDER] [--profile-hall FILE]

It starts everything itself, as bench/latency.py does (bench/_latency_procs.py): a Mosquitto on a
free loopback port, a real `hallq server` on the prefecture example with a fresh data folder, and
the floor: a bare echo service on the same broker (bench/_latency_echo.py --batch) that commits
whatever arrived together in one durable SQLite transaction (WAL, synchronous=FULL, as hall/store/store.py)
before it answers, and publishes one event per call_next.

20 clerks in 4 processes of 5 (bench/_throughput_clerks.py), each logged in at its own window, with
enough tickets issued beforehand that no call_next finds its queue empty. For --seconds each:

1. Floor: every clerk loops three echo requests (the first stands for call_next and gets an event).
2. Hall: every clerk loops call_next, start, finish, each request waiting for its answer.

calls/s = successful call_next (or their echoes) per second; p50/p99 of call_next, request to
answer. Goals: the hall's calls/s at least half the floor's; its call_next p99 at most twice the
floor's. The last line gives both ratios and the hall's p99.
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import _throughput_clerks  # noqa: E402
from _latency_procs import (  # noqa: E402
    HALL,
    bench_logging,
    cpu_seconds,
    echo_service,
    hall_run_args,
    hall_server,
    mosquitto,
)
from latency import issue_tickets, percentile  # noqa: E402

from hall.config.schema import Window, load_config, without_rate_limits  # noqa: E402

PROCESSES = 4
CLERKS_PER_PROCESS = 5
CALLS_PER_CLERK_SECOND = 40  # tickets per window and second of the run: up to 800 calls/s

log = logging.getLogger("bench.throughput")


def played_windows(windows: list[Window], capped: set[str], count: int) -> list[Window]:
    """The first `count` windows whose first tier has no daily cap (a cap would empty a queue)."""
    free = [w for w in windows if w.clerks and not capped.intersection(w.tiers[0])]
    return free[:count]


@contextmanager
def py_spy(pid: int, seconds: float, out: Path) -> Iterator[None]:
    """py-spy record of the process's threads for `seconds` (active samples, raw folded stacks)."""
    binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    command = [binary, "record", "-p", str(pid), "-d", str(max(1, int(seconds) - 1))]
    command += [
        "-r",
        "250",
        "-f",
        "raw",
        "--threads",
        "-o",
        str(out),
        *os.environ.get("BENCH_PY_SPY", "").split(),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        process.wait(seconds + 30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    hall_run_args(parser)
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="FILE",
        help="sample the hall server's threads with py-spy during the hall phase (raw stacks)",
    )
    args = parser.parse_args(argv)
    bench_logging()
    run_started = time.monotonic()
    config = without_rate_limits(load_config(HALL))  # its kiosks issue far faster than visitors
    capped = {s.code for s in config.services if s.cap is not None}
    clerks = PROCESSES * CLERKS_PER_PROCESS
    played = played_windows(list(config.windows), capped, clerks)
    if len(played) < clerks:
        print(f"the hall has {len(played)} uncapped windows: {clerks} are needed", file=sys.stderr)
        return 2
    per_window = math.ceil(args.seconds * CALLS_PER_CLERK_SECOND) + 10
    args.dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-throughput-", dir=args.dir))
    ctx = multiprocessing.get_context("spawn")
    ready, results = ctx.Queue(), ctx.Queue()
    orders = [ctx.Queue() for _ in range(PROCESSES)]
    outcome: dict[str, list[_throughput_clerks.Result]] = {"floor": [], "hall": []}
    hall_cpu: float | None = None
    try:
        with ExitStack() as stack:
            port = stack.enter_context(mosquitto(folder))
            event_when = ("--event-when", _throughput_clerks.CALL_NEXT)
            stack.enter_context(echo_service(port, folder, "--batch", *event_when))
            hall = stack.enter_context(hall_server(port, folder, config, args.profile_hall))
            issued = issue_tickets(port, config, played, per_window)
            processes = [
                ctx.Process(
                    target=_throughput_clerks.run,
                    args=(
                        port,
                        [
                            w.id
                            for w in played[n * CLERKS_PER_PROCESS : (n + 1) * CLERKS_PER_PROCESS]
                        ],
                        ready,
                        orders[n],
                        results,
                    ),
                    daemon=True,
                )
                for n in range(PROCESSES)
            ]
            for process in processes:
                process.start()
                stack.callback(process.join, 10)
                stack.callback(orders[processes.index(process)].put, None)
            for _ in processes:
                ready.get(timeout=60)
            set_up = time.monotonic() - run_started
            for phase in ("floor", "hall"):
                for queue in orders:
                    queue.put((phase, args.seconds))
                if phase == "hall" and args.py_spy:
                    stack.enter_context(py_spy(hall.pid, args.seconds, args.py_spy))
                cpu_before = cpu_seconds(hall.pid)
                for _ in processes:
                    outcome[phase].append(results.get(timeout=args.seconds + 60))
                cpu_after = cpu_seconds(hall.pid)
                if phase == "hall" and cpu_before is not None and cpu_after is not None:
                    hall_cpu = cpu_after - cpu_before
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    figures = {}
    for phase, parts in outcome.items():
        latencies = [ms for part in parts for ms in part.latencies_ms]
        calls = sum(part.calls for part in parts)
        for part in parts:
            for failure in part.failed:
                print(f"{phase}: {failure}", file=sys.stderr)
        if not latencies:
            print(f"{phase}: no call succeeded", file=sys.stderr)
            return 1
        figures[phase] = (
            calls / args.seconds,
            percentile(latencies, 0.5),
            percentile(latencies, 0.99),
        )
    refused: dict[str, int] = {}
    for part in outcome["hall"]:
        for code, count in part.refused.items():
            refused[code] = refused.get(code, 0) + count
    hall_rate, hall_p50, hall_p99 = figures["hall"]
    floor_rate, floor_p50, floor_p99 = figures["floor"]
    rate_ratio, p99_ratio = hall_rate / floor_rate, hall_p99 / floor_p99
    print(
        f"hall: {HALL.name}, {clerks} clerks in {PROCESSES} processes, {args.seconds:g} s each; "
        f"{issued} tickets issued; set-up {set_up:.1f} s"
    )
    for phase, (rate, p50, p99) in figures.items():
        print(f"{phase:5} call_next: {rate:7.1f} calls/s, p50 {p50:6.2f} ms, p99 {p99:6.2f} ms")
    if hall_cpu is not None:
        calls = hall_rate * args.seconds
        print(
            f"hall server CPU in its phase: {hall_cpu:.1f} s ({100 * hall_cpu / args.seconds:.0f}% "
            f"of a core), {1000 * hall_cpu / calls:.2f} ms per call_next, start and finish"
        )
    if refused:
        print(f"hall call_next refused: {refused}", file=sys.stderr)
    print(
        f"ratios hall/floor: calls/s {rate_ratio:.2f} (goal >= 0.5), "
        f"p50 {hall_p50 / floor_p50:.2f}, p99 {p99_ratio:.2f} (goal <= 2)"
    )
    goals = {
        "calls/s >= floor/2": rate_ratio >= 0.5,
        "p99 <= 2x floor": p99_ratio <= 2.0,
        "no queue ran empty": not refused,
    }
    print("goals: " + ", ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in goals.items()))
    print(f"whole run: {time.monotonic() - run_started:.1f} s")
    print(
        f"calls/s ratio {rate_ratio:.2f}, p99 ratio {p99_ratio:.2f}, hall call_next p99 "
        f"{hall_p99:.2f} ms"
    )
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
