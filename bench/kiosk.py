"""The kiosk's speed, each figure beside a bare baseline measured in the same run.

    python bench/kiosk.py [--tickets 200]

- tap to print: from a simulated tap on a service in the real kiosk app (a Kivy window on Xvfb) to
  the first byte of that ticket at the printer emulator, over `--tickets` tickets, while
  `hallq simulate` plays the example prefecture hall at 10x against the same hall server. Baseline:
  the same ticket without the app: a bare client's `issue` and the same printer code, from the
  request to the first byte. Goal: p99 under 250 ms.
- cold start: from starting the kiosk's process to its first frame drawn; baseline: a bare Kivy app
  with one label. Goal: under 3 s.
- resident memory (peak) of the kiosk; baseline: the bare Kivy app (a window of the kiosk's size, the
  kiosk's Kivy settings). Goal: under 250 MB.
- a search keystroke over the 243 services (pinyin initials, names, English); baseline: a bare
  substring filter over the names. Goal: under 16 ms (a frame).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
# This file's name is the kiosk package's: the package (at the root) must win over it, so bench/
# goes last on the path, only for its helpers.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(ROOT))
sys.path.append(str(BENCH))

from _latency_procs import mosquitto, screen, stop  # noqa: E402

from contract.client import HallClient  # noqa: E402
from contract.mqtt_url import parse_url  # noqa: E402
from hardware.emulators.printer import PrinterEmulator  # noqa: E402

HALL = ROOT / "deploy" / "examples" / "prefecture-hall.toml"
DRIVER = ROOT / "tests" / "kiosk" / "kiosk_driver.py"
CLOCK = "2026-11-26T09:00+08:00x10"  # a Thursday morning, ten times real time
STATUS_QUERIES = (b"\x10\x04\x01", b"\x10\x04\x02", b"\x10\x04\x04")
# The bare app runs in a window of the kiosk's size with the kiosk's Kivy settings: the window's
# buffers are most of a Kivy app's memory on llvmpipe (an 800x600 window takes 60 MB less).
BARE_KIVY = """
import sys, time
t0 = float(sys.argv[1])
sys.path.insert(0, sys.argv[2])
from screens.kivy_setup import kivy_environment
kivy_environment(windowed=True, size=(1080, 1920))
from kivy.app import App
from kivy.core.window import Window
from kivy.uix.label import Label
seen = []
def flip(*_):
    if not seen:
        seen.append(time.time())
        peak = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
        print(seen[0] - t0, int(peak) / 1024, flush=True)
        App.get_running_app().stop()
class Bare(App):
    def load_kv(self, filename=None):
        return None
    def build(self):
        Window.bind(on_flip=flip)
        return Label(text="A012", font_size=200)
Bare().run()
"""


class TimedPrinter(PrinterEmulator):
    """The printer emulator, noting when each write that is more than status queries arrives."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.byte_times: list[float] = []

    def feed(self, data: bytes) -> bytes:
        rest = data
        for query in STATUS_QUERIES:
            rest = rest.replace(query, b"")
        if rest:
            self.byte_times.append(time.time())
        return super().feed(data)


def first_after(times: list[float], since: float) -> float | None:
    later = [t for t in times if t > since]
    return min(later) if later else None


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


def row(name: str, value: tuple[float, float], base: tuple[float, float], unit: str) -> str:
    ratio = value[1] / base[1] if base[1] else float("inf")
    return (
        f"{name:<22} p50 {value[0]:8.1f} {unit}  p99 {value[1]:8.1f} {unit}   "
        f"bare p50 {base[0]:8.1f}  p99 {base[1]:8.1f}   p99 ratio {ratio:5.2f}"
    )


def write_config(folder: Path, port: int, pty: str) -> tuple[Path, str]:
    """The example prefecture hall with a kiosk (one without the green channel: every tap gives a
    ticket at once) printing to the emulator."""
    from hallq.demo_toml import dumps

    data = tomllib.loads(HALL.read_text(encoding="utf-8"))
    data["broker"] = {"url": f"mqtt://127.0.0.1:{port}"}
    kiosk = next(k for k in data["kiosks"] if not k.get("allow_priority"))
    kiosk["printer"] = {"connector": "serial", "target": pty, "mode": "mixed"}
    kiosk.pop("rate_limit_per_min", None)
    path = folder / "hall.toml"
    path.write_text(dumps(data), encoding="utf-8")
    return path, str(kiosk["id"])


@contextmanager
def hall_under_load(config: Path, port: int, folder: Path) -> Iterator[None]:
    env = {**os.environ, "HALLQ_MQTT_URL": f"mqtt://127.0.0.1:{port}", "HALLQ_LOG_LEVEL": "WARNING"}
    serve = [sys.executable, "-m", "hallq", "server", "--config", str(config)]
    serve += ["--data", str(folder / "data"), "--clock", CLOCK]
    server = subprocess.Popen(
        serve,
        stdout=(folder / "hall.log").open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    time.sleep(3.0)
    simulate = [sys.executable, "-m", "hallq", "simulate", "--config", str(config), "--quiet"]
    simulate += ["--speed-from-hall", "--seed", "7"]
    simulator = subprocess.Popen(
        simulate,
        stdout=(folder / "simulate.log").open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        time.sleep(3.0)
        yield
    finally:
        stop(simulator)
        stop(server)


def bench_app(config: Path, kiosk: str, tickets: int, folder: Path) -> dict[str, Any]:
    department, service = "州公安局", "户口迁入"
    body = [
        ["tap", department],
        ["tap", service],
        ["until_screen", "ticket", 20],
        ["tap", "首页"],
    ]
    steps = [["until_online", 30], ["repeat", tickets, body]]
    script = folder / "steps.json"
    script.write_text(json.dumps(steps, ensure_ascii=False), encoding="utf-8")
    out = folder / "app"
    command = [sys.executable, str(DRIVER), "--script", str(script), "--out", str(out)]
    command += ["--config", str(config), "--id", kiosk]
    with screen("1080x1920") as display:
        env = {**display, "KIVY_HOME": str(folder / "kivy"), "PYTHONPATH": str(ROOT)}
        launched = time.time()
        app = subprocess.Popen(command, env=env)
        samples = sample_resident(app)
        try:
            app.wait(timeout=60 + tickets * 10)
        finally:
            stop(app)
    result: dict[str, Any] = json.loads((out / "result.json").read_text(encoding="utf-8"))
    result["launched"] = launched
    result["resident_samples"] = samples
    return result


def sample_resident(app: subprocess.Popen[bytes], every: float = 0.01) -> list[tuple[float, int]]:
    """(time, VmRSS in kB) of `app` every `every` seconds until it ends, from a thread: where the
    peak falls (which ticket, which screen) is what says what caused it."""
    samples: list[tuple[float, int]] = []

    def run() -> None:
        status = Path(f"/proc/{app.pid}/status")
        while app.poll() is None:
            try:
                lines = status.read_text().splitlines()
                line = next(x for x in lines if x.startswith("VmRSS:"))
            except (OSError, StopIteration):  # ending
                break
            samples.append((time.time(), int(line.split()[1])))
            time.sleep(every)

    threading.Thread(target=run, daemon=True).start()
    return samples


def peak_place(result: dict[str, Any]) -> str:
    """Where the sampled peak fell: the ticket and the tap before it, and what the kiosk holds
    (the median of each ticket's lowest)."""
    samples: list[tuple[float, int]] = result.get("resident_samples", [])
    taps = list(zip(result["tap_times"], result["taps"], strict=True))
    if not samples or not taps:
        return "no samples"
    at, peak = max(samples, key=lambda s: s[1])
    before = [(i, t, name) for i, (t, name) in enumerate(taps) if t <= at]
    where = "before the first tap"
    if before:
        i, t, name = before[-1]
        where = f"ticket {i // 3 + 1}, {at - t:.2f} s after the tap on {name}"
    lows = []
    for n in range(0, len(taps) - 2, 3):
        inside = [kb for ts, kb in samples if taps[n][0] <= ts < taps[n + 2][0]]
        if inside:
            lows.append(min(inside))
    held = statistics.median(lows) / 1024 if lows else 0.0
    return f"sampled peak {peak / 1024:.0f} MB at {where}; held ~{held:.0f} MB"


def bench_bare(
    config: Path, kiosk: str, port: int, printer: TimedPrinter, tickets: int
) -> list[float]:
    from hall.config.schema import load_config
    from hardware.printer.catalog import names_from_catalog
    from hardware.printer.printer import TicketPrinter

    hall = load_config(config)
    section = next(k for k in hall.kiosks if k.id == kiosk)
    assert section.printer is not None
    bare = TicketPrinter(section.printer, device_id=kiosk)
    catalog: dict[str, Any] = {}
    got = threading.Event()

    def on_catalog(_topic: str, value: dict[str, Any] | None) -> None:
        catalog.update(value or {})
        got.set()

    delays = []
    with HallClient.connect(
        parse_url(f"mqtt://127.0.0.1:{port}"), hall.site.id, "kiosk", kiosk
    ) as client:
        client.subscribe_json(f"hallq/{hall.site.id}/catalog", on_catalog)
        got.wait(10)
        for _ in range(tickets):
            started = time.time()
            ticket = client.request("issue", service="psb-hukou-move-in")["ticket"]
            bare.print_ticket(ticket, **names_from_catalog(catalog, ticket))
            first = first_after(printer.byte_times, started)
            if first is not None:
                delays.append((first - started) * 1000)
    return delays


def bench_start() -> tuple[float, float]:
    with screen("1080x1920") as display:
        env = {**display, "KIVY_HOME": tempfile.mkdtemp()}
        done = subprocess.run(
            [sys.executable, "-c", BARE_KIVY, repr(time.time()), str(ROOT)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    if done.returncode != 0 or len(done.stdout.split()) < 2:
        raise RuntimeError(f"the bare Kivy app failed: {done.stderr[-2000:]}")
    seconds, peak = done.stdout.split()[-2:]
    return float(seconds), float(peak)


def bench_search() -> tuple[list[float], list[float]]:
    import csv

    from kiosk.search import ServiceIndex

    rows = list(csv.DictReader((ROOT / "deploy/examples/data/services.csv").open(encoding="utf-8")))
    index = ServiceIndex.build(rows)
    names = [r["name_zh"] for r in rows]
    queries = [entry.initials[: n + 1] for entry in index.entries for n in range(3)]
    queries += [name[: n + 1] for name in names for n in range(2)]
    ours, bare = [], []
    for query in queries:
        started = time.perf_counter()
        index.search(query)
        ours.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        _ = [n for n in names if query in n]
        bare.append((time.perf_counter() - started) * 1000)
    return ours, bare


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=200)
    args = parser.parse_args()
    if shutil.which("Xvfb") is None:
        print("bench/kiosk.py needs Xvfb (make setup installs it)", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="bench-kiosk-"))
    printer = TimedPrinter(dots=512, save_dir=None)
    with printer, mosquitto(folder) as port:
        pty = printer.attach_pty()
        config, kiosk = write_config(folder, port, pty)
        with hall_under_load(config, port, folder):
            result = bench_app(config, kiosk, args.tickets, folder)
            printer.byte_times.sort()
            taps = result["tap_times"][1::3]  # the service taps (department, service, home)
            app_delays = [
                (first - tap) * 1000
                for tap in taps
                if (first := first_after(printer.byte_times, tap)) is not None
            ]
            bare_delays = bench_bare(config, kiosk, port, printer, args.tickets)
    start_bare, rss_bare = bench_start()
    search, search_bare = bench_search()
    start = result.get("first_frame", result["launched"]) - result["launched"]
    print(
        f"kiosk bench: {len(app_delays)} tickets tapped and printed, hall under `hallq simulate` at 10x"
    )
    print(row("tap to first byte", percentiles(app_delays), percentiles(bare_delays), "ms"))
    print(row("search keystroke", percentiles(search), percentiles(search_bare), "ms"))
    print(
        f"{'cold start':<22} {start:8.2f} s   bare Kivy app {start_bare:6.2f} s   ratio {start / start_bare:5.2f}"
    )
    print(
        f"{'resident memory':<22} {result.get('rss_mb', 0):8.0f} MB  bare Kivy app {rss_bare:6.0f} MB   ratio {result.get('rss_mb', 0) / rss_bare:5.2f}"
    )
    print(f"{'':<22} {peak_place(result)}")
    p99 = percentiles(app_delays)[1]
    print(
        f"goals: tap to print p99 {p99:.0f} ms (< 250), start {start:.2f} s (< 3), "
        f"memory {result.get('rss_mb', 0):.0f} MB (< 250), keystroke p99 "
        f"{percentiles(search)[1]:.2f} ms (< 16)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
