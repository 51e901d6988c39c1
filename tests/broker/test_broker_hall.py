"""The real hall server and real device clients, each with the credentials broker-config made:
the ACL grants everything the hall and its devices actually do, over loopback and TLS."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract import topics
from contract.client import HallClient
from contract.mqtt_url import broker_address
from hardware.emulators.keypad_bus import KeypadBusEmulator
from hardware.keypad.frame import Key
from tests.broker.conftest import SecuredHall
from tests.fixtures.broker import free_port
from tests.fixtures.hall_server import WORKDAY_MORNING, wait_for

pytestmark = pytest.mark.broker


def env_of(secured: SecuredHall, device: str) -> dict[str, str]:
    text = (secured.settings.out / "env" / f"{device}.env").read_text()
    return dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
    )


def device(secured: SecuredHall, device_class: str, device_id: str) -> HallClient:
    address = broker_address(secured.config.broker, env_of(secured, device_id))
    assert address.tls  # every device comes in over the LAN listener
    return HallClient.connect(address, secured.site, device_class, device_id)


SERVER = [sys.executable, "-m", "hallq.cli", "server"]


@pytest.fixture(scope="module")
def hall_server(
    secured: SecuredHall, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    data = tmp_path_factory.mktemp("hall-data")
    config = secured.settings.out.parent / "hall.toml"
    env = {**os.environ, **env_of(secured, "hall")}
    env.pop("HALLQ_MQTT_CA", None)
    log = (data / "server.log").open("wb")
    process = subprocess.Popen(
        [*SERVER, "--config", str(config), "--data", str(data), "--clock", WORKDAY_MORNING],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    # Ready when it has said so on status/hall (retained): read it as a display would.
    with device(secured, "display", "screen-hall") as display:
        seen: queue.Queue[bytes] = queue.Queue()
        display.subscribe(topics.status(secured.site, "hall"), lambda m: seen.put(m.payload))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if seen.get(timeout=0.2) == b"online":
                    break
            except queue.Empty:
                if process.poll() is not None:
                    break
        else:
            process.kill()
            pytest.fail(f"the hall server never came online:\n{(data / 'server.log').read_text()}")
    if process.poll() is not None:
        pytest.fail(f"the hall server stopped:\n{(data / 'server.log').read_text()}")
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def test_a_ticket_issued_called_and_shown_through_the_acl(
    secured: SecuredHall, hall_server: subprocess.Popen[bytes]
) -> None:
    site = secured.site
    calls: queue.Queue[bytes] = queue.Queue()
    with (
        device(secured, "display", "screen-hall") as display,
        device(secured, "kiosk", "k01") as kiosk,
        device(secured, "window", "w001") as terminal,
    ):
        display.subscribe(topics.calls(site), lambda m: calls.put(m.payload))
        ticket = kiosk.request("issue", service="psb-hukou-move-in")["ticket"]
        assert ticket["number"].startswith("A")
        terminal.request("login", clerk="c00101")
        called = terminal.request("call_next")["ticket"]
        assert called["id"] == ticket["id"]
        payload = calls.get(timeout=10)
        assert ticket["number"].encode() in payload
        # The hall's retained state reaches a display too: the board, the queues, the window.
        retained: queue.Queue[str] = queue.Queue()
        for topic in (topics.board(site), topics.queues(site), topics.window_state(site, "w001")):
            display.subscribe(topic, lambda m: retained.put(m.topic))
        wanted = {topics.board(site), topics.queues(site), topics.window_state(site, "w001")}
        got: set[str] = set()
        while got != wanted:  # a live update may come besides the retained one: count topics
            got.add(retained.get(timeout=10))


def test_a_bridge_acts_for_its_window_with_its_own_credentials(
    secured: SecuredHall, hall_server: subprocess.Popen[bytes]
) -> None:
    address = broker_address(secured.config.broker, env_of(secured, "keypad-1"))
    with HallClient.connect(
        address, secured.site, "bridge", "keypad-1", acts_for=[("window", "w002")]
    ) as bridge:
        answer = bridge.request_answer("logout", device=("window", "w002"))
        assert "ok" in answer  # answered by the hall, whatever the window's state


def bridge_process(env_file: Path, cache: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """`hallq keypad-bridge` with nothing but its env file: no HALLQ_* variable of this process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALLQ_")}
    command = [sys.executable, "-m", "hallq", "keypad-bridge", "--env", str(env_file)]
    with log.open("ab") as out:
        return subprocess.Popen(
            [*command, "--cache", str(cache), *extra], env=env, stdout=out, stderr=out
        )


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(5)


def test_a_keypad_bridge_runs_from_its_env_file_alone_and_boots_from_its_copy(
    secured: SecuredHall, hall_server: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    site = secured.site
    section = next(b for b in secured.config.bridges if b.id == "keypad-1")
    assert section.bus is not None
    env_file = secured.settings.out / "env" / "keypad-1.env"
    cache, log = tmp_path / "cache", tmp_path / "bridge.log"
    shown: list[str] = []  # every text the bridge drew on keypad 5
    emulator = KeypadBusEmulator(section.bus.port, [5], on_display=lambda a, t: shown.append(t))
    emulator.start()
    states: queue.Queue[dict[str, Any]] = queue.Queue()
    try:
        bridge = bridge_process(env_file, cache, log)
        try:
            # Its bus came from its settings topic: it draws keypad 5's display once the port is up.
            assert wait_for(lambda: bool(shown), 30), log.read_text()
            with device(secured, "display", "screen-hall") as display:
                display.subscribe_json(
                    topics.window_state(site, "w001"), lambda t, s: states.put(s or {})
                )
                # clerk c00101's keypad code (from the bridge's settings) + confirm: a login
                keys = [Key.D0, Key.D0, Key.D1, Key.D0, Key.D1, Key.CONFIRM]
                emulator.press(5, *keys)
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    state = states.get(timeout=20)
                    if (state.get("clerk") or {}).get("id") == "c00101":
                        break
                else:
                    pytest.fail(f"no login of c00101 at w001:\n{log.read_text()}")
            assert (
                json.loads((cache / "keypad-1.settings.json").read_text())["device"] == "keypad-1"
            )
            assert (cache / f"{site}.catalog.json").exists()
        finally:
            assert stop(bridge) == 0, log.read_text()
        # The broker unreachable (its env file names a closed port): the copy on disk is used.
        dead = tmp_path / "dead.env"
        port = str(secured.settings.tls_port)
        dead.write_text(env_file.read_text().replace(f":{port}\n", f":{free_port()}\n"))
        drawn = len(shown)
        bridge = bridge_process(dead, cache, log, "--settings-wait", "1")
        try:
            assert wait_for(lambda: len(shown) > drawn, 30), log.read_text()
            assert "using the copy in" in log.read_text()
        finally:
            assert stop(bridge) == 0, log.read_text()
    finally:
        emulator.stop()
