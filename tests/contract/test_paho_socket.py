"""paho's client on a buffered socket (contract/paho_socket.py): the buffers themselves on a socket
pair, and the transport on a real Mosquitto with many messages both ways."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from contract.mqtt_url import parse_url
from contract.paho_socket import PUBACK_SUCCESS, BufferedClient, BufferedSocket, Wakeup
from contract.transport import Message, PahoTransport
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import wait_for


@pytest.fixture
def pair() -> Iterator[tuple[BufferedSocket, socket.socket]]:
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    peer.settimeout(5)
    yield BufferedSocket(ours), peer
    ours.close()
    peer.close()


def test_small_reads_come_from_one_read_of_the_socket(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    buffered, peer = pair
    peer.sendall(b"\x30\x05hello" + b"\x40\x02\x00\x01")  # a PUBLISH and a PUBACK, as paho reads
    assert wait_for(lambda: _readable(buffered), 5)
    assert buffered.recv(1) == b"\x30"
    assert buffered.pending() == 10  # the rest was read with the first byte
    assert [buffered.recv(1), buffered.recv(5)] == [b"\x05", b"hello"]
    assert [buffered.recv(1), buffered.recv(1), buffered.recv(2)] == [b"\x40", b"\x02", b"\x00\x01"]
    assert buffered.pending() == 0
    with pytest.raises(BlockingIOError):  # nothing more: paho's signal to wait in select
        buffered.recv(1)


def test_a_read_the_buffer_can_give_whole_is_not_split(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    buffered, peer = pair
    peer.sendall(b"abc")
    assert wait_for(lambda: _readable(buffered), 5)
    assert buffered.recv(100) == b"abc"
    peer.close()
    assert wait_for(lambda: _readable(buffered), 5)
    assert buffered.recv(1) == b""  # the peer closed: paho's sign of a lost connection


def test_what_paho_sends_goes_out_at_its_loops_next_pass(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    buffered, peer = pair
    assert buffered.send(b"\x30\x03abc") == 5  # taken whole, as paho expects
    assert buffered.send(memoryview(b"\xc0\x00")) == 2
    assert buffered.has_output
    peer.setblocking(False)
    with pytest.raises(BlockingIOError):
        peer.recv(100)  # not written yet
    assert buffered.pending() == 0  # paho asks at the start of each pass: the writes go out
    assert not buffered.has_output
    peer.settimeout(5)
    assert _read(peer, 7) == b"\x30\x03abc\xc0\x00"


def test_close_writes_what_paho_sent_last(pair: tuple[BufferedSocket, socket.socket]) -> None:
    buffered, peer = pair
    buffered.send(b"\xe0\x00")  # DISCONNECT: paho closes the socket right after sending it
    buffered.close()
    assert _read(peer, 2) == b"\xe0\x00"
    assert peer.recv(10) == b""


def test_what_a_full_socket_does_not_take_waits_for_it(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    buffered, peer = pair
    big = bytes(range(256)) * 16384  # 4 MB: more than the socket pair's buffers hold
    buffered.send(big)
    buffered.flush()
    assert buffered.has_output  # the rest waits; paho is told to wait for writability
    got = bytearray()
    while len(got) < len(big):
        got += peer.recv(1 << 20)
        buffered.flush()
    assert bytes(got) == big
    assert not buffered.has_output


def test_a_drain_waits_for_a_full_socket_to_take_everything(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    buffered, peer = pair
    big = b"x" * (4 << 20) + b"\xe0\x00"
    buffered.send(big)
    buffered.flush()
    assert buffered.has_output
    got = bytearray()
    reader = threading.Thread(target=lambda: got.extend(_read(peer, len(big))))
    reader.start()
    buffered.drain(5.0)
    reader.join(10)
    assert not buffered.has_output and bytes(got) == big


def test_a_clean_disconnect_reaches_a_slow_broker() -> None:
    # paho closes the socket right after it sent the DISCONNECT: behind 16 MB the socket has not
    # taken yet, the DISCONNECT must still get out, or the broker sends the client's will.
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)  # a broker that takes little
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = BufferedClient(CallbackAPIVersion.VERSION2, client_id="slow-broker-test")
    client.connect_async("127.0.0.1", server.getsockname()[1], keepalive=30)
    client.loop_start()
    try:
        server.settimeout(5)
        conn, _ = server.accept()
        conn.settimeout(5)
        conn.recv(1024)  # CONNECT
        conn.sendall(b"\x20\x02\x00\x00")  # CONNACK: accepted
        assert wait_for(client.is_connected, 5)
        client.publish("t/big", b"x" * (16 << 20), qos=0)
        time.sleep(0.3)  # the broker reads nothing: the socket fills
        client.disconnect()
        data = bytearray()
        while chunk := conn.recv(1 << 20):
            data += chunk
        assert data.endswith(b"\xe0\x00"), data[-10:]
    finally:
        client.loop_stop()
        server.close()


def test_a_write_error_reaches_paho_at_its_next_read(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    buffered, peer = pair
    peer.close()
    buffered.send(b"\x30\x03abc")
    buffered.flush()  # the link is gone: the write fails
    assert buffered.pending() >= 1  # paho reads at once rather than wait in select
    with pytest.raises(OSError):
        buffered.recv(1)
    with pytest.raises(OSError):
        buffered.send(b"x")


def test_the_transport_reads_and_writes_through_the_buffer(broker: Broker) -> None:
    # 600 QoS 1 messages each way through one client: every one arrives, in order, and is
    # acknowledged. The client's socket is the buffered one: a paho release that stopped making
    # its socket in `_create_socket` would fail here rather than lose the buffer silently.
    address = parse_url(broker.url)
    node = PahoTransport(address, "buffered-node")
    got: list[bytes] = []

    def on_message(message: Message) -> None:
        got.append(message.payload)

    node.subscribe("hallq/s/loop/#", on_message)
    node.start(wait=5)
    try:
        assert isinstance(node._client.socket(), BufferedSocket)
        sent = [node.publish(f"hallq/s/loop/{n % 7}", str(n).encode(), qos=1) for n in range(600)]
        assert wait_for(lambda: len(got) == 600, 20), len(got)
        assert got == [str(n).encode() for n in range(600)]
        assert wait_for(lambda: all(d.is_published() for d in sent), 10)
    finally:
        node.stop()


class _CountingSocket:
    """The wake-up socket under a Wakeup, counting the bytes paho really writes to it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.sent = sock, 0

    def send(self, data: bytes) -> int:
        self.sent += 1
        return self.sock.send(data)

    def __getattr__(self, name: str) -> object:
        return getattr(self.sock, name)


def _connected_client(broker: Broker, client_id: str, **options: object) -> BufferedClient:
    client = BufferedClient(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        **options,  # type: ignore[arg-type]
    )
    client.connect("127.0.0.1", parse_url(broker.url).port, keepalive=30)
    client.loop_start()
    assert wait_for(client.is_connected, 5)
    return client


def test_publishes_from_another_thread_wake_paho_once_per_pass(broker: Broker) -> None:
    # The hall's worker publishes a burst while paho's thread runs its loop: one byte on the
    # wake-up socket per pass of the loop, not one per publish, and every message still goes out.
    client = _connected_client(broker, "wakeup-burst")
    try:
        wakeup = client._sockpairW
        assert isinstance(wakeup, Wakeup)  # paho still wakes its loop through `_sockpairW`
        counting = _CountingSocket(wakeup.sock)
        wakeup.sock = counting  # type: ignore[assignment]
        rearms = 0  # want_write re-arms the wake-up: paho asks it at least once per pass
        want_write = client.want_write

        def counted_want_write() -> bool:
            nonlocal rearms
            rearms += 1
            return want_write()

        client.want_write = counted_want_write  # type: ignore[method-assign]
        sent = [client.publish(f"hallq/s/wake/{n}", b"x" * 300, qos=1) for n in range(400)]
        assert wait_for(lambda: all(info.is_published() for info in sent), 10)
        assert 1 <= counting.sent <= rearms + 1, (counting.sent, rearms)
        assert counting.sent < 100, counting.sent  # not one per publish
    finally:
        client.disconnect()
        client.loop_stop()


def test_a_lone_publish_wakes_an_idle_loop_at_once(broker: Broker) -> None:
    # paho's loop waits in select for up to a second: a wake-up written too rarely would show
    # as a publish that leaves ~1 s late.
    client = _connected_client(broker, "wakeup-lone")
    try:
        for n in range(20):
            time.sleep(0.03)  # the loop is back in select
            started = time.monotonic()
            info = client.publish(f"hallq/s/lone/{n}", b"x", qos=1)
            assert wait_for(info.is_published, 2)
            assert time.monotonic() - started < 0.5, n
    finally:
        client.disconnect()
        client.loop_stop()


@pytest.mark.parametrize("protocol", [mqtt.MQTTv311, mqtt.MQTTv5])
def test_a_puback_reaches_on_publish_as_paho_would_give_it(broker: Broker, protocol: int) -> None:
    # Under 3.1.1 the shared success code (the hall's own PUBACK path); under MQTT 5 paho's, which
    # reads the broker's reason code.
    client = _connected_client(broker, f"puback-{protocol}", protocol=protocol)
    acknowledged: list[tuple[int, mqtt.ReasonCode, object]] = []
    client.on_publish = lambda c, u, mid, code, props: acknowledged.append((mid, code, props))
    try:
        infos = [client.publish("hallq/s/ack", str(n).encode(), qos=1) for n in range(50)]
        # paho calls on_publish before it lets the message go: wait for both
        assert wait_for(
            lambda: (
                len(acknowledged) == 50
                and all(info.is_published() for info in infos)
                and not client._out_messages
            ),
            5,
        )
        assert [mid for mid, _, _ in acknowledged] == [info.mid for info in infos]
        for _, code, _ in acknowledged:
            assert not code.is_failure
            assert (code is PUBACK_SUCCESS) == (protocol == mqtt.MQTTv311)
    finally:
        client.disconnect()
        client.loop_stop()


def _readable(buffered: BufferedSocket) -> bool:
    return bool(select.select([buffered], [], [], 0.01)[0])


def _read(peer: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = peer.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data
