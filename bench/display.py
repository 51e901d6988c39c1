"""The display bench (issue #16): from a call leaving the hall to the first frame drawn with it.

    .venv/bin/python bench/display.py [--calls 40] [--burst-seconds 5]

It starts a Mosquitto on a free loopback port and an Xvfb (or, without one, SDL's offscreen driver),
plays the hall: the retained `board` of the small test hall with four clerks at work (drawn by the
engine's own views), then `calls` messages shaped as the hall sends them, stamped with when each
left. Two screens are measured in turn, each in its own process, on the same machine in the same
run: `hallq display` (a 1920x1080 hall screen, its notice scrolling) and the floor, a bare Kivy app
that changes one label on a bare paho message (bench/_display_baseline.py).

1. Latency: `--calls` calls 300 ms apart; per call, from its publish to the first `Window.on_flip`
   after the label changed: p50 and p99.
2. Burst: 50 calls a second for `--burst-seconds`; the intervals between frames (p99 and max).
3. The renderer (GL_RENDERER) and the resident memory of the screen's process at the end.

The notice scrolls (it is wider than the screen), as in a hall; `--notice 短` measures a still one.
Goals: latency p99 under 100 ms, frame-interval p99 at most 33 ms, memory under 200 MB.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import paho.mqtt.client as mqtt  # noqa: E402
from _latency_procs import mosquitto  # noqa: E402
from _latency_procs import screen as x_screen  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from contract import topics  # noqa: E402
from contract.protocol import dumps  # noqa: E402
from hall.engine.engine import Engine  # noqa: E402
from hall.engine.model import CallNext, IssueTicket, Login, SetNotice  # noqa: E402
from tests.fixtures.hall_server import to_toml  # noqa: E402
from tests.fixtures.halls import ALWAYS_OPEN, MORNING, SITE, later, small_hall_data  # noqa: E402

GAP = 0.3  # seconds between the latency calls: each gets frames of its own
BURST_RATE = 50  # calls a second
LONG_NOTICE = "今日下午社保业务暂停办理，请提前安排。" * 3


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else float("nan")


def hall_engine(calls: int, notice: str) -> tuple[Engine, list[dict[str, Any]]]:
    """The small hall with clerks at work and `calls` call messages of its own making."""
    from hall.config.schema import parse_config

    engine = Engine(parse_config({**small_hall_data(), "calendar": ALWAYS_OPEN}, "bench"))
    for window, clerk in (("w01", "c0201"), ("w02", "c0101"), ("w03", "c0301"), ("w05", "c0501")):
        engine.handle(Login(window, clerk, "1234" if clerk == "c0101" else None), MORNING)
    engine.handle(
        SetNotice("op1", notice),
        MORNING,
    )
    messages: list[dict[str, Any]] = []
    windows = ["w01", "w02", "w03", "w05"]
    services = {
        "w01": "psb-id-card",
        "w02": "psb-id-card",
        "w03": "tax-invoice",
        "w05": "amr-license",
    }
    while len(messages) < calls:
        window = windows[len(messages) % len(windows)]
        engine.handle(IssueTicket("k1", services[window]), later(1))
        outcome = engine.handle(CallNext(window), later(1))
        messages += [
            engine.call_message(e) for e in outcome.events if type(e).__name__ == "TicketCalled"
        ]
    return engine, messages


def play(port: int, board: dict[str, Any], calls: list[dict[str, Any]], latency: int,
         burst_seconds: float, start: subprocess.Popen[bytes], ready_after: float) -> dict[int, float]:  # fmt: skip
    """Publish the board, wait for the screen, then the latency calls and the burst: {seq: sent}."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-hall")
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.publish(topics.board(SITE), dumps(board), qos=1, retain=True).wait_for_publish(5)
    time.sleep(ready_after)  # the screen starts, connects and draws its first frames
    sent: dict[int, float] = {}
    for index, call in enumerate(calls):
        if index == latency:
            time.sleep(1.0)
        sent[call["seq"]] = time.monotonic()
        client.publish(topics.calls(SITE), dumps(call), qos=1)
        if index < latency:
            time.sleep(GAP)
        else:
            target = sent[calls[latency]["seq"]] + (index - latency + 1) / BURST_RATE
            time.sleep(max(0.0, target - time.monotonic()))
    sent[-1] = time.monotonic()  # the end of the burst
    client.loop_stop()
    client.disconnect()
    return sent


def measure(name: str, args: list[str], env: dict[str, str], port: int, board: dict[str, Any],
            calls: list[dict[str, Any]], latency: int, burst_seconds: float, log: Path) -> dict[str, Any]:  # fmt: skip
    with (log.parent / f"{log.stem}.log").open("ab") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        sent = play(port, board, calls, latency, burst_seconds, process, ready_after=6.0)
        process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
    report = json.loads(log.read_text("utf-8"))
    latency_seqs = {c["seq"] for c in calls[:latency]}
    delays = [
        (flip - sent[seq]) * 1000
        for seq, _, flip in report["flips"]
        if seq in latency_seqs and seq in sent
    ]
    burst_start, burst_end = sent[calls[latency]["seq"]], sent[-1]
    frames = [f for f in report["frames"] if burst_start <= f <= burst_end]
    intervals = [(b - a) * 1000 for a, b in itertools.pairwise(frames)]
    return {
        "name": name,
        "latency_n": len(delays),
        "latency_p50": percentile(delays, 0.5),
        "latency_p99": percentile(delays, 0.99),
        "frames": len(frames),
        "interval_p99": percentile(intervals, 0.99),
        "interval_max": max(intervals) if intervals else float("nan"),
        "renderer": report["renderer"],
        "rss_mb": report["rss_mb"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--burst-seconds", type=float, default=5.0)
    parser.add_argument(
        "--notice",
        default=LONG_NOTICE,
        help="the operator's notice (the default is wider than the screen: it scrolls)",
    )
    args = parser.parse_args(argv)
    burst = int(args.burst_seconds * BURST_RATE)
    engine, calls = hall_engine(args.calls + burst, args.notice)
    board = engine.board(later(1))
    board["recent"], board["seq"] = [], 0  # the screen starts before the first of these calls
    seconds = 6.0 + args.calls * GAP + 1.0 + args.burst_seconds + 1.5
    python = sys.executable
    results = []
    with tempfile.TemporaryDirectory(prefix="hallq-bench-display-") as temp:
        folder = Path(os.environ.get("HALLQ_BENCH_DIR") or temp)
        folder.mkdir(parents=True, exist_ok=True)
        data = small_hall_data()
        data["displays"] = [{"id": "d1", "name": "大厅屏", "kind": "hall"}]
        config = folder / "hall.toml"
        with mosquitto(folder) as port:
            data["broker"] = {"url": f"mqtt://127.0.0.1:{port}"}
            config.write_text(to_toml(data), "utf-8")
            with x_screen("1920x1080") as env:
                env = {**env, "PYTHONPATH": str(ROOT), "KIVY_HOME": str(folder / "kivy")}
                env.pop("KIVY_NO_CONSOLELOG", None)  # their logs go to files in the folder
                screen_log, base_log = folder / "screen.json", folder / "baseline.json"
                screen = [python, "-m", "hallq", "display", "--id", "d1", "--config", str(config),
                          "--size", "1920x1080", "--flip-log", str(screen_log),
                          "--exit-after", str(seconds), "--log-level", "WARNING"]  # fmt: skip
                results.append(
                    measure(
                        "hallq display",
                        screen,
                        env,
                        port,
                        board,
                        calls,
                        args.calls,
                        args.burst_seconds,
                        screen_log,
                    )
                )
                baseline = [python, str(BENCH / "_display_baseline.py"), str(port),
                            topics.calls(SITE), str(base_log), str(seconds)]  # fmt: skip
                results.append(
                    measure(
                        "bare Kivy label",
                        baseline,
                        env,
                        port,
                        board,
                        calls,
                        args.calls,
                        args.burst_seconds,
                        base_log,
                    )
                )
    screen_r, base_r = results
    load = os.getloadavg()[0]
    print(f"display bench: 1920x1080, renderer {screen_r['renderer']}, load average {load:.1f} "
          f"on {os.cpu_count()} cores")  # fmt: skip
    print(f"{'':28}{'hallq display':>16}{'bare Kivy label':>18}{'ratio':>8}")
    rows = [
        ("call -> frame p50 (ms)", "latency_p50"),
        ("call -> frame p99 (ms)", "latency_p99"),
        (f"burst {BURST_RATE}/s frame p99 (ms)", "interval_p99"),
        (f"burst {BURST_RATE}/s frame max (ms)", "interval_max"),
        ("resident memory (MB)", "rss_mb"),
    ]
    for label, key in rows:
        a, b = screen_r[key], base_r[key]
        ratio = a / b if b else float("nan")
        print(f"{label:28}{a:16.1f}{b:18.1f}{ratio:8.2f}")
    print(f"calls measured: {screen_r['latency_n']} / {base_r['latency_n']}; "
          f"frames in the burst: {screen_r['frames']} / {base_r['frames']}")  # fmt: skip
    goals = (
        screen_r["latency_p99"] < 100,
        screen_r["interval_p99"] <= 33,
        screen_r["rss_mb"] < 200,
    )
    print("goals (p99 < 100 ms, frame p99 <= 33 ms, memory < 200 MB):",
          "met" if all(goals) else f"NOT met {goals}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
