"""The window terminal's bench (issue #18): from a key press to the new number drawn on the terminal
(the first frame flipped after the change), while the simulator plays the prefecture example hall's
busiest hour at 10x.

    .venv/bin/python bench/terminal.py [--rounds 150] [--dir FOLDER]

It starts everything itself: Mosquitto on a free loopback port, a real `hallq server` on the
prefecture example (105 windows) with its clock at 09:00 on a Thursday running 10x, `hallq simulate`
playing windows w001-w104 for one hall hour with visitors at the full capacity of those windows (the
busiest hour: every clerk busy, the queue growing), and the real terminal app of w105 in a real Kivy
window (Xvfb when installed, else SDL's offscreen driver) pressing F1 (bench/_terminal_app.py). The
bare baseline in the same run and window: a key whose handler puts a number on the same label with
no hall in between, timed the same way (what a frame costs). Goal: p99 under 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import _latency_procs  # noqa: E402

from contract import topics  # noqa: E402
from contract.client import HallClient  # noqa: E402
from contract.mqtt_url import parse_url  # noqa: E402
from hall.config.schema import load_config  # noqa: E402
from hall.tools.simulate_traffic import LOAD, default_visitors_per_hour  # noqa: E402

HALL = ROOT / "deploy/examples/prefecture-hall.toml"
CLOCK = "2026-11-26T09:00+08:00x10"
WINDOW = "w105"


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@contextmanager
def hall_server(port: int, folder: Path) -> Iterator[None]:
    env = {**os.environ, "HALLQ_MQTT_URL": f"mqtt://127.0.0.1:{port}", "HALLQ_LOG_LEVEL": "WARNING"}  # fmt: skip
    args = [sys.executable, "-m", "hallq", "server", "--config", str(HALL)]
    args += ["--data", str(folder / "data"), "--clock", CLOCK]
    online = threading.Event()
    with (folder / "hall.log").open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    site = load_config(HALL).site.id
    watcher = HallClient.connect(parse_url(f"mqtt://127.0.0.1:{port}"), site, "display", "bench-watch")  # fmt: skip
    try:
        watcher.subscribe(topics.status(site, "hall"), lambda m: online.set() if m.payload == b"online" else None)  # fmt: skip
        if not online.wait(30):
            raise RuntimeError(f"the hall server did not come online: see {folder / 'hall.log'}")
        yield
    finally:
        watcher.close()
        _latency_procs.stop(process)


@contextmanager
def simulator(port: int, folder: Path) -> Iterator[float]:
    config = load_config(HALL)
    played = config.windows[:-1]
    per_hour = default_visitors_per_hour(config, played) / LOAD  # full capacity: the busiest hour
    args = [sys.executable, "-m", "hallq", "simulate", "--config", str(HALL)]
    args += ["--url", f"mqtt://127.0.0.1:{port}", "--hours", "1", "--speed", "10"]
    args += ["--windows", str(len(played)), "--visitors-per-hour", f"{per_hour:.0f}", "--quiet"]
    with (folder / "simulate.log").open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        time.sleep(3)  # its clerks log in and the first visitors arrive
        yield per_hour
    finally:
        _latency_procs.stop(process)


def issue_for_window(port: int, count: int) -> None:
    """Tickets the terminal can call: its first tier's service, issued by a kiosk."""
    config = load_config(HALL)
    window = next(w for w in config.windows if w.id == WINDOW)
    kiosk = config.kiosks[-1].id
    with HallClient.connect(parse_url(f"mqtt://127.0.0.1:{port}"), config.site.id, "kiosk", kiosk) as client:  # fmt: skip
        for _ in range(count):
            client.request("issue", service=window.tiers[0][0], timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--offscreen", action="store_true", help="SDL's offscreen driver, not Xvfb")
    parser.add_argument("--dir", help="a folder for the run's files (default: a temporary one)")
    args = parser.parse_args(argv)
    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="hallq-bench-terminal-"))
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        port = stack.enter_context(_latency_procs.mosquitto(folder))
        stack.enter_context(hall_server(port, folder))
        issue_for_window(port, args.rounds + 20)
        per_hour = stack.enter_context(simulator(port, folder))
        env = stack.enter_context(_latency_procs.screen("1280x800", args.offscreen))
        env.update({"HALLQ_MQTT_URL": f"mqtt://127.0.0.1:{port}", "KIVY_HOME": str(folder / "kivy")})  # fmt: skip
        env["PYTHONPATH"] = str(ROOT)
        out = folder / "terminal.json"
        command = [sys.executable, str(BENCH / "_terminal_app.py"), "--config", str(HALL)]
        command += ["--id", WINDOW, "--rounds", str(args.rounds), "--out", str(out)]
        with (folder / "terminal.log").open("wb") as log:
            done = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=120 + 2 * args.rounds)  # fmt: skip
        if done.returncode != 0 or not out.exists():
            print(f"the terminal failed: see {folder / 'terminal.log'}", file=sys.stderr)
            return 1
    result = json.loads(out.read_text())
    hall, bare = result["hall_ms"], result["bare_ms"]
    driver = "Xvfb" if "DISPLAY" in env else "SDL offscreen"
    print(f"terminal bench: prefecture hall, busiest hour at 10x ({per_hour:.0f} visitors/h on 104 windows), {driver}")  # fmt: skip
    print(f"  key F1 -> new number drawn   n={len(hall):4d}  p50 {statistics.median(hall):6.1f} ms  p99 {percentile(hall, 0.99):6.1f} ms  max {max(hall):6.1f} ms")  # fmt: skip
    for key, what in (
        ("answer_ms", "key -> answer on the link"),
        ("ui_ms", "key -> answer on the UI loop"),
    ):
        part = result.get(key) or [0.0]
        print(f"    of which {what:28s} p50 {statistics.median(part):6.1f} ms  p99 {percentile(part, 0.99):6.1f} ms")  # fmt: skip
    print(f"  bare key -> number drawn     n={len(bare):4d}  p50 {statistics.median(bare):6.1f} ms  p99 {percentile(bare, 0.99):6.1f} ms")  # fmt: skip
    ratio = percentile(hall, 0.99) / max(percentile(bare, 0.99), 1e-6)
    print(f"  p99 ratio hall/bare: {ratio:.2f}x; calls refused (queue empty): {result['refused']}")
    goal = percentile(hall, 0.99) < 50
    print(f"  goal p99 < 50 ms: {'met' if goal else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
