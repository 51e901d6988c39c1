"""The processes bench/latency.py starts and stops around its measurements: a Mosquitto on a free
loopback port, the floor's echo service (_latency_echo.py), a real `hallq server` on the example
hall, and the display subscriber processes (_latency_display.py).

Imported by latency.py, which puts the repository's root on sys.path first. The free-port and
wait-for-port helpers repeat tests/fixtures/broker.py's on purpose: a bench does not import tests.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import _latency_display

from contract import topics
from contract.client import HallClient
from contract.mqtt_url import parse_url
from hall.config.schema import HallConfig, strip_rate_limits

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
HALL = ROOT / "deploy" / "examples" / "prefecture-hall.toml"
CLOCK = "2026-11-26T09:00+08:00"  # a Thursday morning, in opening hours, at real speed
# The echo service's own topics: not the hall's (nothing of hallq listens there).
ECHO_PREFIX = "bench-latency/echo"
DISPLAY_PROCESSES = 4
DISPLAYS_PER_PROCESS = 5


def hall_run_args(parser: argparse.ArgumentParser) -> None:
    """The options every bench that starts a hall server takes: where files go, keep them, profile."""
    parser.add_argument("--dir", type=Path, default=ROOT / "artifacts", help="where files go")
    parser.add_argument("--keep", action="store_true", help="keep the data folder and logs")
    parser.add_argument("--profile-hall", type=Path, help="write the hall server's cProfile here")


def bench_logging() -> None:
    """Warnings only, unless BENCH_LOG_LEVEL says otherwise."""
    logging.basicConfig(
        level=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        format="%(levelname)s %(name)s: %(message)s",
    )


def cpu_seconds(pid: int) -> float | None:
    """The process's CPU time so far (user + system), or None where /proc cannot say."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@contextmanager
def mosquitto(folder: Path) -> Iterator[int]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    for attempt in range(3):  # a free port can be taken before mosquitto binds it: try another
        port = free_port()
        conf = folder / "mosquitto.conf"
        conf.write_text(
            "\n".join(
                [
                    "per_listener_settings false",
                    "allow_anonymous true",
                    f"listener {port} 127.0.0.1",
                    "set_tcp_nodelay true",
                    "max_inflight_messages 100",  # as broker_config's production mosquitto.conf
                    "max_queued_messages 5000",
                    "persistence false",
                    "user root" if os.geteuid() == 0 else "",
                    "log_dest stdout",
                    "log_type error",
                    "",
                ]
            )
        )
        with (folder / "mosquitto.log").open("ab") as out:
            process = subprocess.Popen(
                [binary, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT
            )
        try:
            wait_for_port(port)
            time.sleep(0.1)
            if process.poll() is not None:  # it could not bind: someone else listens there
                raise TimeoutError(f"mosquitto exited: see {folder / 'mosquitto.log'}")
        except TimeoutError:
            stop(process)
            if attempt == 2:
                raise
            continue
        try:
            yield port
        finally:
            stop(process)
        return


@contextmanager
def screen(size: str, offscreen: bool = False) -> Iterator[dict[str, str]]:
    """The environment of a Kivy app under bench: a fresh Xvfb of `size` (WIDTHxHEIGHT) if installed
    (what the tests use), else (or asked) SDL's offscreen driver (real frames through EGL on
    llvmpipe, no X server between the app and its frames)."""
    binary = shutil.which("Xvfb")
    if binary is None or offscreen:
        yield {k: v for k, v in os.environ.items() if k != "DISPLAY"}
        return
    number = next(n for n in range(90, 400) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    process = subprocess.Popen(
        [binary, f":{number}", "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{number}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        yield {**os.environ, "DISPLAY": f":{number}"}
    finally:
        stop(process)


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextmanager
def echo_service(port: int, folder: Path, *options: str) -> Iterator[None]:
    """The floor's echo service; `options` go to _latency_echo.py (--batch, --event-when)."""
    process = subprocess.Popen(
        [
            *(sys.executable, str(BENCH / "_latency_echo.py"), "--port", str(port)),
            *("--db", str(folder / "echo.sqlite"), "--topic-prefix", ECHO_PREFIX),
            *options,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"the echo service did not start: {line!r}")
        yield
    finally:
        stop(process)


@contextmanager
def hall_server(
    port: int,
    folder: Path,
    config: HallConfig,
    profile: Path | None = None,
    config_file: Path = HALL,
) -> Iterator[subprocess.Popen[bytes]]:
    """A `hallq server` on `config_file` (the example hall by default); yields its process."""
    env = {**os.environ, "HALLQ_MQTT_URL": f"mqtt://127.0.0.1:{port}"}
    env.setdefault("HALLQ_LOG_LEVEL", "WARNING")
    args = [sys.executable, *(("-m", "cProfile", "-o", str(profile)) if profile else ())]
    # The hall's config without its kiosks' rate limits (the bench issues faster than visitors).
    hall_config = folder / "hall.toml"
    hall_config.write_text(strip_rate_limits(config_file.read_text("utf-8")), "utf-8")
    args += ["-m", "hallq", "server", "--config", str(hall_config)]
    args += ["--data", str(folder / "data"), "--clock", CLOCK]
    online = threading.Event()
    with (folder / "hall.log").open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    watcher = HallClient.connect(
        parse_url(f"mqtt://127.0.0.1:{port}"), config.site.id, "display", "bench-watch"
    )
    try:
        watcher.subscribe(
            topics.status(config.site.id, "hall"),
            lambda m: online.set() if m.payload == b"online" else None,
        )
        if not online.wait(30):
            raise RuntimeError(f"the hall server did not come online: see {folder / 'hall.log'}")
        yield process
    finally:
        watcher.close()
        stop(process)


def with_metrics(folder: Path) -> tuple[Path, int]:
    """A copy of the example hall with `[metrics]` on a free loopback port: (its path, the port)."""
    port = free_port()
    path = folder / "hall-metrics.toml"
    text = HALL.read_text(encoding="utf-8")
    path.write_text(text + f'\n[metrics]\naddress = "127.0.0.1:{port}"\n', encoding="utf-8")
    return path, port


@contextmanager
def scraper(port: int, interval: float) -> Iterator[list[int]]:
    """Scrape http://127.0.0.1:PORT/metrics every `interval` s, as Prometheus would; yields the
    list of the scrapes' sizes in bytes (one entry per scrape)."""
    import urllib.request

    sizes: list[int] = []
    done = threading.Event()

    def run() -> None:
        while not done.wait(interval):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    sizes.append(len(r.read()))
            except OSError:
                sizes.append(0)

    thread = threading.Thread(target=run, name="bench-scraper", daemon=True)
    thread.start()
    try:
        yield sizes
    finally:
        done.set()
        thread.join(10)


@contextmanager
def displays(port: int, site: str) -> Iterator[tuple[Any, Any]]:
    """The subscriber processes; yields (stop event, results queue)."""
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Queue()
    results = ctx.Queue()
    stop_event = ctx.Event()
    processes = [
        ctx.Process(
            target=_latency_display.run,
            args=(
                port,
                topics.calls(site),
                f"{ECHO_PREFIX}/event",
                DISPLAYS_PER_PROCESS,
                index,
                ready,
                results,
                stop_event,
            ),
            daemon=True,
        )
        for index in range(DISPLAY_PROCESSES)
    ]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            ready.get(timeout=30)
        yield stop_event, results
    finally:
        stop_event.set()
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
