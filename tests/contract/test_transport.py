"""The broker address (contract/mqtt_url.py) and the transports (contract/transport.py), against a real Mosquitto."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from contract.mqtt_url import BrokerAddress, BrokerUrlError, broker_address, parse_url
from contract.transport import LoopbackBroker, LoopbackTransport, Message, PahoTransport
from hall.config.schema import Broker
from tests.fixtures.broker import Broker as RunningBroker
from tests.fixtures.broker import running_broker
from tests.fixtures.hall_server import wait_for
from tests.fixtures.parts import require_program

# Started as root, mosquitto drops to its own user and then cannot read our temp files.
AS_ROOT = "user root" if os.geteuid() == 0 else ""


# -- the broker address
def test_parse_plain_url_with_credentials() -> None:
    address = parse_url("mqtt://k1:s%40cret@127.0.0.1:1884")
    assert address == BrokerAddress("127.0.0.1", 1884, False, "k1", "s@cret", None, 30)
    assert address.redacted() == "mqtt://k1:***@127.0.0.1:1884"
    assert "s@cret" not in address.redacted()


def test_default_ports_and_tls(tmp_path: Path) -> None:
    assert parse_url("mqtt://127.0.0.1").port == 1883
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    address = parse_url("mqtts://127.0.0.1", ca=str(ca))
    assert (address.port, address.tls, address.ca) == (8883, True, str(ca))


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "empty"),
        ("http://127.0.0.1:1883", "mqtt:// or mqtts://"),
        ("127.0.0.1:1883", "mqtt:// or mqtts://"),
        ("mqtt://:1883", "no host"),
        ("mqtt://127.0.0.1:99999", "bad broker URL"),
        ("mqtt://127.0.0.1:abc", "bad broker URL"),
        ("mqtt://127.0.0.1:1883/hallq", "drop"),
        ("mqtt://:pw@127.0.0.1", "no user name"),
    ],
)
def test_bad_urls_say_what_to_fix(url: str, says: str) -> None:
    with pytest.raises(BrokerUrlError, match=says):
        parse_url(url)


def test_ca_needs_tls_and_an_existing_file(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    with pytest.raises(BrokerUrlError, match="mqtts://"):
        parse_url("mqtt://127.0.0.1", ca=str(ca))
    with pytest.raises(BrokerUrlError, match="does not exist"):
        parse_url("mqtts://127.0.0.1", ca=str(tmp_path / "nope.pem"))


def test_environment_overrides_the_config(tmp_path: Path) -> None:
    config = Broker(url="mqtt://127.0.0.1:1883", keepalive=15)
    assert broker_address(config, {}).port == 1883
    assert broker_address(config, {}).keepalive == 15
    env = {"HALLQ_MQTT_URL": "mqtt://hall:pw@127.0.0.1:2883"}
    address = broker_address(config, env)
    assert (address.port, address.username, address.password, address.keepalive) == (
        2883,
        "hall",
        "pw",
        15,
    )
    with pytest.raises(BrokerUrlError, match="HALLQ_MQTT_URL"):
        broker_address(config, {"HALLQ_MQTT_URL": "tcp://x"})
    with pytest.raises(BrokerUrlError, match="HALLQ_MQTT_CA"):
        broker_address(config, {"HALLQ_MQTT_CA": str(tmp_path / "missing.pem")})


# -- loopback
def test_loopback_matches_retains_and_sends_wills() -> None:
    broker = LoopbackBroker()
    seen: list[Message] = []
    hall = LoopbackTransport(broker, "hall", "hallq/s/status/hall")
    hall.start()
    hall.publish("hallq/s/board", b"b1", retain=True)
    hall.publish("hallq/s/window/w1/state", b"w1", retain=True)
    hall.publish("hallq/s/window/w1/state", b"", retain=True)  # empty clears
    display = LoopbackTransport(broker, "d1")
    display.start()
    display.subscribe("hallq/s/+", seen.append)
    display.subscribe("hallq/s/window/+/state", seen.append)
    assert [(m.topic, m.payload, m.retain) for m in seen] == [("hallq/s/board", b"b1", True)]
    hall.publish("hallq/s/calls", b"c1")
    hall.publish("hallq/s/kiosk/k1/req", b"not for a + filter")
    assert seen[-1] == Message("hallq/s/calls", b"c1", False)
    hall.kill()
    assert broker.retained["hallq/s/status/hall"] == b"offline"


# -- paho against a real Mosquitto
def _collector() -> tuple[list[Message], Callable[[Message], None]]:
    seen: list[Message] = []
    lock = threading.Lock()

    def add(message: Message) -> None:
        with lock:
            seen.append(message)

    return seen, add


def test_paho_round_trip_status_and_nodelay(broker: RunningBroker) -> None:
    address = parse_url(broker.url)
    watcher = PahoTransport(address, "watcher")
    status, on_status = _collector()
    watcher.subscribe("hallq/s/status/+", on_status)
    watcher.start(wait=5)
    node = PahoTransport(address, "n1", "hallq/s/status/n1")
    got, on_got = _collector()
    node.subscribe("hallq/s/n1/#", on_got)
    node.start(wait=5)
    assert node.connected
    sock = node.socket()
    assert sock is not None
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    watcher.publish("hallq/s/n1/x", b"hello", qos=1)
    assert wait_for(lambda: [m.payload for m in got] == [b"hello"])
    assert wait_for(lambda: any(m.payload == b"online" for m in status))
    node.stop()
    assert not node.connected
    assert wait_for(lambda: status[-1].payload == b"offline")
    watcher.stop()


def test_paho_will_reconnect_and_resubscribe(broker: RunningBroker) -> None:
    address = parse_url(broker.url)
    status, on_status = _collector()
    watcher = PahoTransport(address, "watcher")
    watcher.subscribe("hallq/s/status/+", on_status)
    watcher.start(wait=5)
    node = PahoTransport(address, "n1", "hallq/s/status/n1", min_backoff=0.05, max_backoff=0.2)
    got, on_got = _collector()
    node.subscribe("hallq/s/in", on_got)
    reconnects: list[int] = []
    node.add_connect_listener(lambda: reconnects.append(1))
    node.start(wait=5)
    # The connection breaks without a DISCONNECT: the broker sends the will, paho reconnects.
    sock = node.socket()
    assert sock is not None
    sock.shutdown(socket.SHUT_RDWR)
    assert wait_for(lambda: any(m.payload == b"offline" for m in status))
    assert wait_for(lambda: len(reconnects) == 2 and node.connected)
    assert wait_for(lambda: status[-1].payload == b"online")
    watcher.publish("hallq/s/in", b"after reconnect")
    assert wait_for(lambda: [m.payload for m in got] == [b"after reconnect"])
    # The broker itself restarts: paho comes back, resubscribes, and sends what was queued.
    broker.restart()
    node.publish("hallq/s/status/n1-queued", b"x", qos=1)
    assert wait_for(lambda: len(reconnects) == 3, timeout=10)
    assert wait_for(lambda: watcher.connected, timeout=10)
    watcher.publish("hallq/s/in", b"after restart")
    assert wait_for(lambda: [m.payload for m in got][-1:] == [b"after restart"], timeout=10)
    node.stop()
    watcher.stop()


def test_handler_that_raises_does_not_break_the_connection(broker: RunningBroker) -> None:
    address = parse_url(broker.url)
    node = PahoTransport(address, "n1")
    got, on_got = _collector()

    def bad(message: Message) -> None:
        raise RuntimeError("boom")

    node.subscribe("t/#", bad)
    node.subscribe("t/#", on_got)
    node.start(wait=5)
    node.publish("t/1", b"a")
    node.publish("t/2", b"b")
    assert wait_for(lambda: len(got) == 2)
    assert node.connected
    node.stop()


def test_refused_credentials_are_not_connected(tmp_path: Path) -> None:
    passwd = require_program("mosquitto_passwd", "mosquitto")
    folder = tmp_path / "b"
    folder.mkdir()
    subprocess.run([passwd, "-b", "-c", str(folder / "passwd"), "hall", "right"], check=True)
    (folder / "passwd").chmod(0o600)
    conf = "\n".join(
        [
            "per_listener_settings false",
            "allow_anonymous false",
            "password_file {folder}/passwd",
            "listener {port} 127.0.0.1",
            AS_ROOT,
            "log_dest stdout",
            "",
        ]
    )
    with running_broker(folder, conf) as running:
        bad = PahoTransport(parse_url(f"mqtt://hall:wrong@127.0.0.1:{running.port}"), "x")
        bad.start()
        assert not bad.wait_ready(1.0)
        assert not bad.connected
        bad.stop()
        good = PahoTransport(parse_url(f"mqtt://hall:right@127.0.0.1:{running.port}"), "y")
        good.start(wait=5)
        assert good.connected
        good.stop()


def test_tls_with_a_ca(tmp_path: Path) -> None:
    openssl = require_program("openssl", "openssl")
    d = tmp_path
    run = lambda *a: subprocess.run([openssl, *a], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=hallq-test-ca",
        "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"))  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", str(d / "server.key"), "-out", str(d / "server.csr"))  # fmt: skip
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.pem"),
        "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "2",
        "-extfile", str(d / "ext.cnf"), "-out", str(d / "server.pem"))  # fmt: skip
    for name in ("server.key", "server.pem", "ca.pem"):
        (d / name).chmod(0o644)
    conf = "\n".join(
        [
            "per_listener_settings false",
            "allow_anonymous true",
            "listener {port} 127.0.0.1",
            f"cafile {d}/ca.pem",
            f"certfile {d}/server.pem",
            f"keyfile {d}/server.key",
            AS_ROOT,
            "log_dest stdout",
            "",
        ]
    )
    with running_broker(d / "b", conf) as running:
        address = parse_url(f"mqtts://127.0.0.1:{running.port}", ca=str(d / "ca.pem"))
        node = PahoTransport(address, "tls1")
        got, on_got = _collector()
        node.subscribe("t", on_got)
        node.start(wait=5)
        node.publish("t", b"secret")
        assert wait_for(lambda: [m.payload for m in got] == [b"secret"])
        node.stop()
        # Without the CA the broker's certificate is not trusted: never connected.
        untrusting = PahoTransport(parse_url(f"mqtts://127.0.0.1:{running.port}"), "tls2")
        untrusting.start()
        assert not untrusting.wait_ready(1.0)
        untrusting.stop()


def test_mqtt5_round_trip(broker: RunningBroker) -> None:
    address = parse_url(broker.url)
    node = PahoTransport(address, "v5", "hallq/s/status/v5", mqtt5=True)
    got, on_got = _collector()
    node.subscribe("hallq/s/v5/#", on_got)
    node.start(wait=5)
    node.publish("hallq/s/v5/x", b"five", qos=1).is_published()
    assert wait_for(lambda: [m.payload for m in got] == [b"five"])
    node.stop()


def test_an_absent_broker_is_retried_until_it_comes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.fixtures.broker import free_port

    port = free_port()
    node = PahoTransport(
        parse_url(f"mqtt://127.0.0.1:{port}"), "patient", min_backoff=0.05, max_backoff=0.2
    )
    with caplog.at_level("WARNING", logger="contract.transport"):
        node.start()
        assert not node.wait_ready(0.5)
    assert "cannot reach the broker" in caplog.text
    with running_broker(tmp_path / "late", port=port):
        assert node.wait_ready(10)
        assert node.connected
        node.stop()


def test_a_filter_added_or_removed_changes_where_a_known_topic_goes() -> None:
    # The transport remembers which callbacks a topic reaches: a new or dropped filter must count.
    broker = LoopbackBroker()
    listener = LoopbackTransport(broker, "listener")
    listener.start()
    sender = LoopbackTransport(broker, "sender")
    sender.start()
    wide: list[str] = []
    narrow: list[str] = []

    def on_wide(message: Message) -> None:
        wide.append(message.topic)

    listener.subscribe("hallq/s/#", on_wide)
    sender.publish("hallq/s/calls", b"1")
    listener.subscribe("hallq/s/calls", lambda m: narrow.append(m.topic))
    sender.publish("hallq/s/calls", b"2")
    assert (len(wide), len(narrow)) == (2, 1)
    listener.unsubscribe("hallq/s/#", on_wide)
    sender.publish("hallq/s/calls", b"3")
    assert (len(wide), len(narrow)) == (2, 2)


def test_a_bound_method_is_unsubscribed_by_another_reference_to_it() -> None:
    # `obj.method` makes a new object at each access: the hall unsubscribes `self._on_...` with
    # a reference other than the one it subscribed.
    broker = LoopbackBroker()
    listener = LoopbackTransport(broker, "listener")
    listener.start()
    sender = LoopbackTransport(broker, "sender")
    sender.start()

    class Handler:
        def __init__(self) -> None:
            self.seen: list[bytes] = []

        def on_message(self, message: Message) -> None:
            self.seen.append(message.payload)

    handler = Handler()
    listener.subscribe("hallq/s/calls", handler.on_message)
    sender.publish("hallq/s/calls", b"1")
    listener.unsubscribe("hallq/s/calls", handler.on_message)
    sender.publish("hallq/s/calls", b"2")
    assert handler.seen == [b"1"]
