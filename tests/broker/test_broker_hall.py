"""The real hall server and real device clients, each with the credentials broker-config made:
the ACL grants everything the hall and its devices actually do, over loopback and TLS."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from contract import topics
from contract.client import HallClient
from contract.mqtt_url import broker_address
from tests.broker.conftest import SecuredHall
from tests.fixtures.hall_server import WORKDAY_MORNING

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
