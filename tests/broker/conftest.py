"""A real Mosquitto started with the files `hallq broker-config` wrote, and MQTT probes to test it.

Under MQTT 3.1.1 a denied publish is acknowledged and dropped, so a denial is judged by what
arrives: the actor publishes the denied message and then a control message it may publish; the
broker keeps one client's messages in order, so once the observer has the control, the denied
message would have arrived before it.
"""

from __future__ import annotations

import json
import os
import queue
import ssl
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hall.config.schema import HallConfig, load_config
from hall.tools.broker_config import Settings, generate
from tests.fixtures.broker import Broker, free_port, running_broker, wait_for_port
from tests.fixtures.parts import require_program

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "deploy" / "examples" / "small-hall.toml"
MAKE_CA = ROOT / "broker_config" / "make-ca.sh"
# The small example hall plus a keypad bridge that acts for two of its six windows (its bus: a pty).
BRIDGE = """
[[bridges]]
id = "keypad-1"
kind = "keypad"
windows = ["w001", "w002"]
[bridges.bus]
port = "{port}"
keypads = [{{ address = 5, window = "w001" }}]
"""
TIMEOUT = 5.0


def make_ca(folder: Path, host: str = "localhost") -> Path:
    require_program("openssl", "openssl")
    subprocess.run(
        ["bash", str(MAKE_CA), str(folder), host], check=True, capture_output=True, text=True
    )
    return folder


@dataclass
class SecuredHall:
    config: HallConfig
    settings: Settings
    broker: Broker
    passwords: dict[str, str]

    @property
    def site(self) -> str:
        return self.config.site.id

    @property
    def ca(self) -> Path:
        return self.settings.tls_folder / "ca.crt"

    def probe(self, user: str | None, password: str | None = None, **kw: object) -> Probe:
        if user is not None and password is None:
            password = self.passwords[user]
        return Probe(user, password, self.settings.local_port, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredHall]:
    folder = tmp_path_factory.mktemp("secured")
    make_ca(folder / "tls")
    config_path = folder / "hall.toml"
    config_path.write_text(
        SMALL.read_text(encoding="utf-8") + BRIDGE.format(port=folder / "keypad-1.bus"),
        encoding="utf-8",
    )
    config = load_config(config_path)
    (folder / "data").mkdir()
    # Another test's process may take a free port before the broker binds it: try new ports.
    for attempt in range(3):
        local_port, tls_port = two_free_ports()
        settings = Settings(
            out=folder / "out",
            host="localhost",
            local_port=local_port,
            tls_port=tls_port,
            tls_dir=folder / "tls",
            device_ca=str(folder / "tls" / "ca.crt"),
            persistence=folder / "data",
            broker_user="root" if os.geteuid() == 0 else "mosquitto",
        )
        generate(config, settings)
        passwords = json.loads((settings.out / "secrets.json").read_text())["passwords"]
        conf = (settings.out / "mosquitto.conf").read_text()
        with ExitStack() as stack:
            try:
                broker = stack.enter_context(
                    running_broker(folder / f"run{attempt}", conf, port=local_port)
                )
                wait_for_port(tls_port)
            except TimeoutError:
                if attempt == 2:
                    log = (folder / f"run{attempt}" / "mosquitto.log").read_text()
                    raise AssertionError(f"mosquitto did not start: {log}") from None
                continue
            yield SecuredHall(config, settings, broker, passwords)
            return


def two_free_ports() -> tuple[int, int]:
    first = free_port()
    second = free_port()
    while second == first:
        second = free_port()
    return first, second


class Probe:
    """One MQTT 3.1.1 connection as one account, collecting what it receives."""

    def __init__(
        self,
        user: str | None,
        password: str | None,
        port: int,
        *,
        host: str = "127.0.0.1",
        ca: Path | str | None = None,
        client_id: str = "",
    ) -> None:
        self.host, self.port = host, port
        self.received: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.connack: mqtt.ReasonCode | None = None
        self.error: Exception | None = None
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"probe-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv311,
            reconnect_on_failure=False,
        )
        if user is not None:
            self.client.username_pw_set(user, password)
        if ca is not None:
            self.client.tls_set(ca_certs=str(ca))
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, m: self.received.put((m.topic, m.payload))
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_disconnect = lambda *a: self._connected.set()  # refused: stop waiting

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, rc: object, props: object) -> None:  # fmt: skip
        self.connack = rc  # type: ignore[assignment]
        self._connected.set()

    def connect(self) -> bool:
        """True if the broker accepted the connection."""
        try:
            self.client.connect(self.host, self.port, keepalive=30)
        except (OSError, ssl.SSLError) as exc:  # a TLS handshake refused, a closed port
            self.error = exc
            return False
        self.client.loop_start()
        self._connected.wait(TIMEOUT)
        return self.connack is not None and not self.connack.is_failure

    def __enter__(self) -> Probe:
        assert self.connect(), f"connection refused: {self.connack} {self.error}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def subscribe(self, topic_filter: str) -> None:
        self._subscribed.clear()
        self.client.subscribe(topic_filter, qos=1)
        assert self._subscribed.wait(TIMEOUT), f"no SUBACK for {topic_filter}"

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(TIMEOUT)
        assert info.is_published()  # acknowledged: under 3.1.1 even when the ACL dropped it

    def until(self, topic: str, payload: bytes) -> list[tuple[str, bytes]]:
        """Everything received up to and including (topic, payload); fails after TIMEOUT."""
        seen: list[tuple[str, bytes]] = []
        while True:
            try:
                item = self.received.get(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"{payload!r} never arrived on {topic}; got {seen}") from None
            seen.append(item)
            if item == (topic, payload):
                return seen


def token(label: str) -> bytes:
    return f"{label}-{uuid.uuid4().hex}".encode()
