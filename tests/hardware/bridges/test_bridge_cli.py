"""The four commands as processes: `hallq led-emulator` and `hallq led-bridge`, `hallq
keypad-emulator` and `hallq keypad-bridge`, wired through a pty and a real Mosquitto."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from bridge_rig import hall_server, write_config

from contract import topics
from contract.mqtt_url import parse_url
from contract.transport import PahoTransport
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import wait_for
from tests.fixtures.halls import SITE


def hallq(*args: str, stdin: int | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hallq", *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def lines_of(stream: IO[str]) -> queue.Queue[str]:
    out: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            out.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return out


def wait_line(lines: queue.Queue[str], needle: str, timeout: float = 10.0) -> str:
    seen = []
    while True:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line with {needle!r}; saw {seen}") from None
        seen.append(line)
        if needle in line:
            return line


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    running: list[subprocess.Popen[str]] = []
    yield running
    for process in running:
        if process.poll() is None:
            process.kill()
            process.wait(5)


def test_config_problems_exit_2(broker: Broker, tmp_path: Path) -> None:
    config = write_config(tmp_path, broker)
    for args, message in (
        (["led-bridge", "--config", str(config), "--id", "nope"], "no bridge 'nope'"),
        (["led-bridge", "--config", str(config), "--id", "keypads"], "hallq keypad-bridge"),
        (["keypad-bridge", "--config", str(tmp_path / "missing.toml"), "--id", "x"], "not found"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "hallq", *args], capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 2, done.stderr
        assert message in done.stderr
        assert "Traceback" not in done.stderr


def test_led_bridge_and_emulator_processes(
    broker: Broker, tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    config = write_config(tmp_path, broker)
    health: list[dict[str, object]] = []
    watcher = PahoTransport(parse_url(broker.url), "cli-health-watcher")
    watcher.subscribe(
        topics.device_health(SITE, "led-gb"),
        lambda m: health.append(json.loads(m.payload)) if m.payload else None,
    )
    watcher.start(wait=5)
    try:
        emulator = hallq("led-emulator", "--port", str(tmp_path / "led-gb"))
        processes.append(emulator)
        assert emulator.stdout is not None
        lines = lines_of(emulator.stdout)
        wait_line(lines, "LED bus on")
        bridge = hallq("led-bridge", "--config", str(config), "--id", "led-gb")
        processes.append(bridge)
        # no hall server yet: no retained state, so each board shows the closed-hall slogan
        assert "欢迎光临" in wait_line(lines, "board   1")
        assert wait_for(lambda: bool(health) and health[-1]["state"] == "ok", 10)
        assert health[-1]["detail"] == {"1": "unknown", "5": "unknown"}
        bridge.send_signal(signal.SIGTERM)
        assert bridge.wait(10) == 0
        assert wait_for(lambda: health[-1]["state"] == "offline", 5)
        emulator.send_signal(signal.SIGTERM)
        assert emulator.wait(10) == 0
    finally:
        watcher.stop()


def test_keypad_bridge_and_emulator_processes(
    broker: Broker, tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    config = write_config(tmp_path, broker)
    status: list[bytes] = []
    watcher = PahoTransport(parse_url(broker.url), "cli-status-watcher")
    watcher.subscribe(topics.status(SITE, "keypads"), lambda m: status.append(m.payload))
    watcher.start(wait=5)
    try:
        # the emulator takes the port and the keypads' addresses from the bridge's config
        emulator = hallq(
            "keypad-emulator", "--config", str(config), "--id", "keypads", stdin=subprocess.PIPE
        )
        processes.append(emulator)
        assert emulator.stdout is not None and emulator.stdin is not None
        lines = lines_of(emulator.stdout)
        wait_line(lines, "keypads [5, 6]")
        bridge = hallq("keypad-bridge", "--config", str(config), "--id", "keypads")
        processes.append(bridge)
        assert wait_for(lambda: status[-1:] == [b"online"], 10)
        wait_line(lines, "keypad   5 display")  # the bridge draws every display once the port is up
        emulator.stdin.write("5 12\n")
        emulator.stdin.flush()
        wait_line(lines, "keypad   5 display [    12]")
        bridge.send_signal(signal.SIGTERM)
        assert bridge.wait(10) == 0
        assert wait_for(lambda: status[-1:] == [b"offline"], 5)
        emulator.stdin.close()
        assert emulator.wait(10) == 0
    finally:
        watcher.stop()


def test_led_bridge_from_its_env_file_alone_then_from_its_copy_with_the_broker_down(
    broker: Broker, tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """No hall config on the bridge's side: its env file names the site, the broker and its id;
    its bus comes from its settings topic (a real `hallq server` publishes it), then from the copy
    on disk once the broker is down."""
    config = write_config(tmp_path, broker)
    server = hall_server(broker, config, tmp_path / "data", tmp_path / "hall.log")
    server.start()
    env_file = tmp_path / "led-gb.env"
    env_file.write_text(
        f"HALLQ_SITE={SITE}\nHALLQ_MQTT_URL={broker.url}\nHALLQ_DEVICE_ID=led-gb\n"
        "HALLQ_DEVICE_CLASS=bridge\n"
    )
    cache = tmp_path / "cache"
    try:
        emulator = hallq("led-emulator", "--port", str(tmp_path / "led-gb"))
        processes.append(emulator)
        assert emulator.stdout is not None
        lines = lines_of(emulator.stdout)
        wait_line(lines, "LED bus on")
        bridge = hallq("led-bridge", "--env", str(env_file), "--cache", str(cache))
        processes.append(bridge)
        # the hall's retained state of w01 (closed) on board 1, named from the catalog
        assert "欢迎光临" in wait_line(lines, "board   1", 20)
        assert (cache / "led-gb.settings.json").exists()
        bridge.send_signal(signal.SIGTERM)
        assert bridge.wait(10) == 0
    finally:
        server.close()
    broker.stop()
    while not lines.empty():  # what the first bridge drew
        lines.get_nowait()
    again = hallq(
        "led-bridge", "--env", str(env_file), "--cache", str(cache), "--settings-wait", "1"
    )
    processes.append(again)
    assert again.stdout is not None
    output = lines_of(again.stdout)
    wait_line(output, "using the copy in", 20)
    assert "欢迎光临" in wait_line(lines, "board   1", 20)  # the board is driven all the same
    again.send_signal(signal.SIGTERM)
    assert again.wait(10) == 0
