"""paho's client with fewer system calls per message: reads and writes go through a buffer.

paho 2.x reads a packet a few bytes at a time (its type, each byte of its length, then the rest) and
writes each queued packet with a send of its own: three to four system calls for every message in
or out. Each call lets go of the GIL, and while the hall's worker computes, getting it back waits
up to the switch interval (0.5 ms in the hall server). A burst of 100 calls is ~100 requests in
and ~400 publishes out with their ~400 acknowledgements.

`BufferedClient` is paho's `Client` with its socket wrapped in `BufferedSocket`: a read takes all
the socket holds (up to READ_CHUNK) and paho's small reads are served from memory; what paho sends
in one pass of its loop (`loop_write`) is written with one call at the end of that pass (and again
at the start of the next, where paho asks `pending()`, its hook for TLS's own buffer). A clean
disconnect waits (up to CLOSE_DRAIN) until the DISCONNECT is out before the socket closes. Nothing
else changes: the same packets, in the same order, through the same loop, TLS included.
Measured with bench/latency.py: paho's thread in the hall server used 40-50 ms of CPU for the
burst instead of 60-70 ms.

Two more costs per message, both paid while the other thread waits for the GIL:
- Each publish from another thread (the hall's worker) writes a byte to paho's wake-up socket, a
  system call that lets go of the GIL, so 400 publishes hand it back and forth 400 times. `Wakeup`
  writes that byte once until paho's loop starts its next pass (it then writes every queued
  packet anyway).
- Under MQTT 3.1.1 a PUBACK is two bytes, its message id, but paho builds a ReasonCode and a
  Properties object for each (~14 us here). `_handle_pubackcomp` hands on shared ones instead.
bench/publish.py (400 QoS 1 publishes until acknowledged, median of 15): 34.7 ms of CPU before,
15.0 ms with both (30.6 ms with the wake-up alone, 23.9 ms with the PUBACK alone).
"""

from __future__ import annotations

import select
import socket
import ssl
import struct
import time
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

READ_CHUNK = 65536  # bytes asked of the socket at once (the broker's packets to the hall are small)
CLOSE_DRAIN = 1.0  # seconds a clean disconnect waits for a full socket to take the DISCONNECT


class BufferedSocket:
    """A connected, non-blocking socket (TCP or TLS) as paho uses it, with a read and a write buffer."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self._in = bytearray()
        self._out = bytearray()
        self._error: OSError | None = None  # the write error, raised at paho's next read or send

    # -- what paho calls
    def recv(self, size: int) -> bytes:
        if self._error is not None:
            raise self._error
        if not self._in:
            data = self.sock.recv(READ_CHUNK)  # BlockingIOError, SSLWantReadError: paho's to handle
            if len(data) <= size:
                return bytes(data)
            self._in += data
        chunk = bytes(self._in[:size])
        del self._in[:size]
        return chunk

    def send(self, data: bytes | bytearray | memoryview) -> int:
        """Taken whole: written by the next flush (paho then sees a packet sent at once)."""
        if self._error is not None:
            raise self._error
        self._out += data
        return len(data)

    def pending(self) -> int:
        """Asked by paho at the start of each pass of its loop: write what is left, then say how
        much is read and not yet taken (paho then does not wait in select). After a write error,
        at least 1: paho reads at once and learns that the link is gone."""
        self.flush()
        if self._error is not None:
            return max(1, len(self._in))
        waiting = len(self._in)
        if isinstance(self.sock, ssl.SSLSocket):
            waiting += self.sock.pending()
        return waiting

    def close(self) -> None:
        self.flush()
        self.sock.close()

    def fileno(self) -> int:  # for select(); the rest (setblocking, setsockopt...) is the socket's
        return int(self.sock.fileno())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)

    # -- the write buffer
    @property
    def has_output(self) -> bool:
        return bool(self._out)

    def flush(self) -> None:
        """Write as much as the socket takes now; keep the rest for when it is writable."""
        while self._out and self._error is None:
            try:
                sent = self.sock.send(self._out)
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                return
            except OSError as exc:  # the link is gone: paho hears of it at its next read or send
                self._error = exc
                self._out.clear()
                return
            del self._out[:sent]

    def drain(self, timeout: float) -> None:
        """Flush, waiting for the socket to take everything, for at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        self.flush()
        while self._out and self._error is None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [self.sock], [], left)[1]:
                return
            self.flush()


class Wakeup:
    """paho's wake-up socket (the write end of its socket pair), writing one byte until the loop's
    next pass: `rearm()` is called there. A publish between the two needs no byte of its own, as
    paho's loop writes every queued packet at that pass."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.armed = True  # False: a byte is written and the loop has not begun a pass since

    def send(self, data: bytes) -> int:
        if not self.armed:
            return len(data)
        self.armed = False
        return int(self.sock.send(data))

    def rearm(self) -> None:
        self.armed = True

    def __getattr__(self, name: str) -> Any:  # close, fileno...: the socket's
        return getattr(self.sock, name)


# A PUBACK under MQTT 3.1.1 carries no reason code and no properties: these stand for them, shared
# by every on_publish call, so read-only (contract/transport.py only reads `is_failure`).
PUBACK_SUCCESS = ReasonCode(PacketTypes.PUBACK)
NO_PROPERTIES = Properties(PacketTypes.PUBACK)  # type: ignore[no-untyped-call]


class BufferedClient(mqtt.Client):
    """paho's Client on a BufferedSocket. `_create_socket` is paho's own (2.x) way to the socket it
    connects; tests/contract/test_paho_socket.py fails if a paho release stops calling it."""

    def _create_socket(self) -> Any:
        return BufferedSocket(super()._create_socket())

    def loop_write(self) -> MQTTErrorCode:
        """paho's write pass, then one write of all it sent."""
        try:
            return super().loop_write()
        finally:
            sock = self.socket()
            if isinstance(sock, BufferedSocket):
                sock.flush()

    def _sock_close(self) -> None:
        # A clean disconnect: paho closes right after sending the DISCONNECT, which must reach the
        # broker or it publishes the will (`offline` over a live server's `online`). A lost link
        # is closed at once.
        sock = self.socket()
        if isinstance(sock, BufferedSocket) and self._disconnecting():
            sock.drain(CLOSE_DRAIN)
        super()._sock_close()

    def _disconnecting(self) -> bool:
        # paho keeps its state in a private enum; its name is stable across 2.x.
        return getattr(getattr(self, "_state", None), "name", "") == "MQTT_CS_DISCONNECTING"

    def want_write(self) -> bool:
        # Asked at the start of each pass of paho's loop, before it looks at its queue: from here
        # on a publish must wake the loop again (what was queued before is seen by this pass).
        wakeup = self.__dict__.get("_wakeup")
        if wakeup is not None:
            wakeup.rearm()
        # What the socket did not take at the last flush waits for it to be writable.
        sock = self.socket()
        return super().want_write() or (isinstance(sock, BufferedSocket) and sock.has_output)

    # paho keeps its wake-up socket in `_sockpairW` (2.x): setting it (loop_start, loop) wraps it;
    # tests/contract/test_paho_socket.py fails if paho stops waking its loop through it.
    @property  # type: ignore[override]
    def _sockpairW(self) -> Wakeup | None:
        wakeup: Wakeup | None = self.__dict__.get("_wakeup")
        return wakeup

    @_sockpairW.setter
    def _sockpairW(self, sock: socket.socket | None) -> None:
        self.__dict__["_wakeup"] = None if sock is None else Wakeup(sock)

    def _handle_pubackcomp(self, cmd: Literal["PUBACK", "PUBCOMP"]) -> MQTTErrorCode:
        """paho's, without two new objects per PUBACK under MQTT 3.1.1 (anything else is paho's)."""
        packet = self._in_packet["packet"]
        if cmd != "PUBACK" or self._protocol == MQTTProtocolVersion.MQTTv5 or len(packet) != 2:
            return super()._handle_pubackcomp(cmd)
        (mid,) = struct.unpack("!H", packet)
        self._easy_log(mqtt.MQTT_LOG_DEBUG, "Received %s (Mid: %d)", cmd, mid)
        with self._out_message_mutex:
            if mid in self._out_messages:  # told once, as paho does
                return self._do_on_publish(mid, PUBACK_SUCCESS, NO_PROPERTIES)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def raw_socket(self) -> socket.socket | None:
        """The connected socket itself (for socket options)."""
        sock = self.socket()
        inner = sock.sock if isinstance(sock, BufferedSocket) else sock
        return inner if isinstance(inner, socket.socket) else None
