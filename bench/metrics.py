"""What the hall's Prometheus metrics cost (issue #20): the hall server's CPU time for one scripted
load with `[metrics]` on and off, and bench/latency.py's steady p99 both ways.

    .venv/bin/python bench/metrics.py [--runs 3] [--scrape 5] [--skip-latency]

1. CPU: a Mosquitto and a real `hallq server` on the prefecture example (each run a fresh data
   folder); 100 window terminals log in, kiosks issue 6 tickets a window, then every window calls
   and finishes 5 times. The hall's user+system CPU time (/proc) is taken from just before the load
   to its end. With metrics on, a scraper reads /metrics every --scrape seconds (default 5: three
   times as often as deploy/prometheus/prometheus.yml's 15 s). Runs alternate off/on, --runs of
   each; the medians are compared.
2. Latency: `bench/latency.py` run off, then on (`--metrics SECONDS`), --runs times, the medians
   of its steady call-to-display p99 compared.
3. Direct costs, in this process (steady against a shared machine's noise, which on 2 busy cores
   is larger than the effect in 1.): the CPU time of `HallMetrics.batch` for a batch of one
   answered call, and of one scrape of the prefecture hall (243 services, 240 devices); with the
   load's batch count they give the share the metrics add to part 1.

Goals: CPU with metrics within 5% of without; p99 within 1.1x.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from _latency_procs import HALL, hall_server, mosquitto, scraper, with_metrics  # noqa: E402
from latency import TIMEOUT, WINDOWS, Terminal, issue_tickets  # noqa: E402

from hall.config.schema import load_config  # noqa: E402

ROUNDS = 5  # calls (each with its finish) per window
TICKETS_PER_WINDOW = ROUNDS + 1


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def cpu_run(folder: Path, metrics: bool, scrape: float) -> tuple[float, int, float]:
    """The hall's CPU seconds for the scripted load, how many scrapes were made, and how long the
    load took (real seconds)."""
    config = load_config(HALL)
    site, played = config.site.id, config.windows[:WINDOWS]
    with ExitStack() as stack:
        port = stack.enter_context(mosquitto(folder))
        config_file, metrics_port = with_metrics(folder) if metrics else (HALL, 0)
        process = stack.enter_context(hall_server(port, folder, config, None, config_file))
        terminals = [Terminal(port, site, w) for w in played]
        for terminal in terminals:
            stack.callback(terminal.client.close)
            if not terminal.client.transport.wait_ready(15):
                raise RuntimeError(f"{terminal.window.id}: no connection")
        time.sleep(1.0)  # the start-up's retained state is out
        sizes = stack.enter_context(scraper(metrics_port, scrape)) if metrics else []
        before, began = cpu_seconds(process.pid), time.monotonic()
        for terminal in terminals:
            terminal.client.request("login", clerk=terminal.window.clerks[0], timeout=TIMEOUT)
        issue_tickets(port, config, played, TICKETS_PER_WINDOW)
        for _ in range(ROUNDS):
            for terminal in terminals:
                answer = terminal.client.request_answer("call_next", timeout=TIMEOUT)
                if answer.get("ok"):  # windows share services: a queue may be empty by now
                    terminal.client.request("finish", timeout=TIMEOUT)
        time.sleep(1.5)  # the coalesced `queues` and the last scrapes are in the measure
        used = cpu_seconds(process.pid) - before
        return used, len(sizes), time.monotonic() - began


P99 = re.compile(r"steady, hall\s+call_next -> display: p50 ([0-9.]+) ms, p99 ([0-9.]+) ms")


def latency_p99(metrics: float | None, folder: Path) -> tuple[float, float]:
    """bench/latency.py's steady hall p50 and p99 (ms), with or without metrics."""
    args = [sys.executable, str(BENCH / "latency.py"), "--dir", str(folder)]
    if metrics:
        args += ["--metrics", str(metrics)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=900, cwd=ROOT)
    found = P99.search(done.stdout)
    if found is None:
        raise RuntimeError(
            f"bench/latency.py printed no p99:\n{done.stdout}\n{done.stderr[-2000:]}"
        )
    return float(found.group(1)), float(found.group(2))


def direct_costs(folder: Path) -> tuple[float, float, int]:
    """CPU seconds of one HallMetrics.batch (one request, one call) and of one scrape, and the
    scrape's size in bytes, on the prefecture hall."""
    from datetime import datetime

    from prometheus_client import generate_latest

    from hall.service.metrics import HallMetrics
    from hall.store.clock import FixedClock
    from hall.store.core import HallCore, Reply

    config = load_config(HALL)
    metrics = HallMetrics(config)
    clock = FixedClock(datetime.fromisoformat("2026-11-26T09:00+08:00"))
    with HallCore(config, folder / "direct", clock) as core:
        metrics.watch(core, lambda: 0, lambda: True)
        replies = [Reply("window", "w001", "r1", b"", op="call_next", code="ok")]
        rounds = 20000
        started = time.process_time()
        for _ in range(rounds):
            metrics.batch([0.0], 0.001, replies, (), 0.002, 0.0, 0.0001, 1)
        per_batch = (time.process_time() - started) / rounds
        scrapes = 50
        started = time.process_time()
        for _ in range(scrapes):
            text = generate_latest(metrics.registry)
        per_scrape = (time.process_time() - started) / scrapes
    return per_batch, per_scrape, len(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="CPU runs each way (alternating)")
    parser.add_argument(
        "--scrape", type=float, default=5.0, help="seconds between scrapes (shipped config: 15)"
    )
    parser.add_argument("--dir", type=Path, default=ROOT / "artifacts", help="where files go")
    parser.add_argument("--skip-latency", action="store_true", help="only the CPU part")
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    cpu: dict[bool, list[float]] = {False: [], True: []}
    scrapes = 0
    took: list[float] = []
    for run in range(args.runs):
        for metrics in (False, True):
            folder = Path(tempfile.mkdtemp(prefix="bench-metrics-", dir=args.dir))
            try:
                used, made, elapsed = cpu_run(folder, metrics, args.scrape)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            cpu[metrics].append(used)
            scrapes += made
            took.append(elapsed)
            print(f"run {run + 1}, metrics {'on ' if metrics else 'off'}: hall CPU {used:.2f} s")
    off, on = statistics.median(cpu[False]), statistics.median(cpu[True])
    cpu_ratio = on / off
    calls = WINDOWS * ROUNDS
    print(
        f"scripted load ({WINDOWS} windows, {WINDOWS * TICKETS_PER_WINDOW} issues, {calls} calls "
        f"and finishes): hall CPU median off {off:.2f} s, on {on:.2f} s ({scrapes} scrapes every "
        f"{args.scrape:g} s): on/off {cpu_ratio:.3f}"
    )
    per_batch, per_scrape, size = direct_costs(args.dir)
    requests = WINDOWS * (1 + TICKETS_PER_WINDOW + 2 * ROUNDS)  # at most one batch each
    load_seconds = statistics.median(took)
    share = (requests * per_batch + load_seconds / args.scrape * per_scrape) / off
    print(
        f"direct: HallMetrics.batch {per_batch * 1e6:.1f} us a batch; a scrape {per_scrape * 1000:.1f}"
        f" ms ({size} bytes); for this load (<= {requests} batches in {load_seconds:.0f} s, a "
        f"scrape every {args.scrape:g} s) at most {share * 100:.1f}% of the hall's CPU off"
    )
    goals = {"CPU within 5%": cpu_ratio <= 1.05}
    if not args.skip_latency:
        p50s: dict[bool, list[float]] = {False: [], True: []}
        p99s: dict[bool, list[float]] = {False: [], True: []}
        for run in range(args.runs):
            for metrics in (False, True):
                p50, p99 = latency_p99(args.scrape if metrics else None, args.dir)
                p50s[metrics].append(p50)
                p99s[metrics].append(p99)
                state = "on " if metrics else "off"
                print(f"latency run {run + 1}, metrics {state}: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
        p50_off, p99_off = statistics.median(p50s[False]), statistics.median(p99s[False])
        p50_on, p99_on = statistics.median(p50s[True]), statistics.median(p99s[True])
        p99_ratio = p99_on / p99_off
        print(
            f"bench/latency.py steady call -> display, medians: off p50 {p50_off:.2f} p99 "
            f"{p99_off:.2f} ms, on p50 {p50_on:.2f} p99 {p99_on:.2f} ms: p99 on/off {p99_ratio:.2f}"
        )
        goals["p99 within 1.1x"] = p99_ratio <= 1.1
    print("goals: " + ", ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in goals.items()))
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
