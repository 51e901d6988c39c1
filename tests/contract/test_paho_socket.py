"""paho's client on a buffered socket (contract/paho_socket.py): the buffers themselves on a socket
pair, and the transport on a real Mosquitto with many messages both ways."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator

import pytest

from contract.mqtt_url import parse_url
from contract.paho_socket import BufferedSocket
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


def test_a_write_error_reaches_paho_at_its_next_read(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    buffered, peer = pair
    peer.close()
    buffered.send(b"\x30\x03abc")
    buffered.flush()  # the link is gone: the write fails
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
    assert isinstance(node._client.socket(), BufferedSocket)
    sent = [node.publish(f"hallq/s/loop/{n % 7}", str(n).encode(), qos=1) for n in range(600)]
    assert wait_for(lambda: len(got) == 600, 20), len(got)
    assert got == [str(n).encode() for n in range(600)]
    assert wait_for(lambda: all(d.is_published() for d in sent), 10)
    node.stop()


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
