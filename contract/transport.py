"""The MQTT transport everything in hallq talks through: publish, subscribe, start, stop.

`PahoTransport` is the real one (paho-mqtt 2.x); `LoopbackTransport` moves messages in memory, with
the same topic matching and retained messages, for unit tests. Connection state is honest: `connected`
is true only between an accepted CONNACK and the next disconnect. Both keep what is published while
disconnected and send it, in order, after the next (re)connect; the Delivery a publish returns says
when the broker acknowledged it, whenever that is (paho: followed by message id, from on_publish).

Callbacks run in paho's network thread: they must be quick and must not raise (a raise is caught and
logged here, so one bad handler never takes the connection down).
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from contract.mqtt_url import BrokerAddress
from contract.paho_socket import BufferedClient

log = logging.getLogger(__name__)

ONLINE = b"online"
OFFLINE = b"offline"
MID_TRIES = 8  # publish attempts while paho's next message ids are held by older messages
# paho's "no limit" on QoS 1 messages in flight. With a limit, paho walks every message in flight at
# each acknowledgement, looking for one queued behind the limit: after a burst of 100 calls the hall
# has ~400 in flight, ~80,000 steps of its network thread. Without one it never walks them (and
# never queues: what is handed over is sent, in order).
UNLIMITED_INFLIGHT = 0


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    retain: bool = False


MessageCallback = Callable[[Message], None]
ConnectListener = Callable[[], None]
DisconnectListener = Callable[[str], None]  # the reason: a lost connection or a failed attempt


class Delivery(Protocol):
    """What a publish returns: whether the broker has acknowledged it (QoS 0: once handed over).
    Never raises: a publish made while disconnected stays queued and is acknowledged after the
    reconnect, like any other."""

    def is_published(self) -> bool: ...


class Transport(Protocol):
    @property
    def connected(self) -> bool: ...

    def start(self, wait: float | None = None) -> None: ...

    def stop(self) -> None: ...

    def publish(
        self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False
    ) -> Delivery: ...

    def subscribe(
        self, topic_filter: str, callback: MessageCallback, qos: int = 1, wait: float | None = None
    ) -> None: ...

    def unsubscribe(self, topic_filter: str, callback: MessageCallback) -> None: ...

    def add_connect_listener(self, listener: ConnectListener) -> None: ...

    def add_disconnect_listener(self, listener: DisconnectListener) -> None: ...

    def wait_ready(self, timeout: float) -> bool: ...


def _as_bytes(payload: bytes | str) -> bytes:
    return payload.encode("utf-8") if isinstance(payload, str) else payload


class Publication:
    """A Delivery acknowledged by its message id, whenever the acknowledgement comes (set from
    the network thread, read from any)."""

    __slots__ = ("_acknowledged",)

    def __init__(self) -> None:
        self._acknowledged = False

    def acknowledge(self) -> None:
        self._acknowledged = True

    def is_published(self) -> bool:
        return self._acknowledged


TARGETS_KEPT = 4096  # topics whose matching callbacks a transport remembers


@dataclass
class _Subscriptions:
    """Filters and their callbacks, shared by both transports (thread-safe)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    by_filter: dict[str, list[tuple[MessageCallback, int]]] = field(default_factory=dict)
    # topic -> the callbacks of the filters it matches, until a filter comes or goes: matching a
    # topic against every filter costs the network thread more than the rest of a dispatch.
    _targets: dict[str, list[MessageCallback]] = field(default_factory=dict)

    def add(self, topic_filter: str, callback: MessageCallback, qos: int) -> bool:
        """Register; True if this filter is new (it must be subscribed at the broker)."""
        with self.lock:
            new = topic_filter not in self.by_filter
            self.by_filter.setdefault(topic_filter, []).append((callback, qos))
            self._targets.clear()
            return new

    def remove(self, topic_filter: str, callback: MessageCallback) -> bool:
        """Unregister; True if the filter has no callback left (it must be unsubscribed)."""
        with self.lock:
            callbacks = self.by_filter.get(topic_filter, [])
            # `!=`, not `is not`: each `self.method` is a new bound-method object, equal to the
            # one subscribed but never the same object.
            callbacks[:] = [(cb, q) for cb, q in callbacks if cb != callback]
            self._targets.clear()
            if callbacks or topic_filter not in self.by_filter:
                return False
            del self.by_filter[topic_filter]
            return True

    def filters(self) -> list[tuple[str, int]]:
        with self.lock:
            return [(f, max(q for _, q in cbs)) for f, cbs in self.by_filter.items()]

    def dispatch(self, message: Message) -> None:
        with self.lock:
            targets = self._targets.get(message.topic)
            if targets is None:
                targets = [
                    cb
                    for f, cbs in self.by_filter.items()
                    if mqtt.topic_matches_sub(f, message.topic)
                    for cb, _ in cbs
                ]
                if len(self._targets) >= TARGETS_KEPT:  # topics from anyone: bounded
                    self._targets.clear()
                self._targets[message.topic] = targets
        for callback in targets:
            try:
                callback(message)
            except Exception:  # a handler never raises into the network thread
                log.exception("message handler failed on %s", message.topic)


class PahoTransport:
    """paho-mqtt 2.x with TCP_NODELAY, a retained `online`/`offline` status, reconnect with backoff,
    resubscription after every reconnect, credentials and TLS."""

    def __init__(
        self,
        address: BrokerAddress,
        client_id: str,
        status_topic: str | None = None,
        *,
        mqtt5: bool = False,
        min_backoff: float = 0.2,
        max_backoff: float = 5.0,
        max_inflight: int = UNLIMITED_INFLIGHT,
    ) -> None:
        self.address = address
        self.client_id = client_id
        self.status_topic = status_topic
        self._subs = _Subscriptions()
        self._listeners: list[ConnectListener] = []
        self._disconnect_listeners: list[DisconnectListener] = []
        self._connected = threading.Event()
        self._ready = threading.Event()  # connected and the (re)subscription acknowledged
        self._ack_lock = threading.Lock()
        self._acked: set[int] = set()
        self._ack_events: dict[int, threading.Event] = {}
        self._resubscribe_mid: int | None = None
        # Publishes are followed by message id (on_publish), not by paho's MQTTMessageInfo, whose
        # is_published() raises for good once a publish was made while disconnected.
        self._mid_lock = threading.Lock()
        self._by_mid: dict[int, Publication] = {}
        self._acked_early: set[int] = set()  # acknowledged before publish() registered the mid
        # Held back while not ready: paho sends a publish made between the TCP connect and the
        # CONNACK at once, ahead of the older ones it resends after the CONNACK (out of order).
        self._send_lock = threading.Lock()
        self._backlog: list[tuple[str, bytes, int, bool, Publication]] = []
        self._stopping = False
        self._last_fail_log = -1e9
        protocol = MQTTProtocolVersion.MQTTv5 if mqtt5 else MQTTProtocolVersion.MQTTv311
        self._mqtt5 = mqtt5
        kwargs: dict[str, Any] = {"protocol": protocol}
        if not mqtt5:
            kwargs["clean_session"] = True
        self._client = BufferedClient(CallbackAPIVersion.VERSION2, client_id=client_id, **kwargs)
        if address.username is not None:
            self._client.username_pw_set(address.username, address.password)
        if address.tls:
            context = ssl.create_default_context(cafile=address.ca)
            self._client.tls_set_context(context)
        if status_topic is not None:
            self._client.will_set(status_topic, OFFLINE, qos=1, retain=True)
        self._client.reconnect_delay_set(min_delay=min_backoff, max_delay=max_backoff)  # type: ignore[arg-type]
        self._client.max_inflight_messages_set(max_inflight)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_publish = self._on_publish

    # -- the interface
    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self, wait: float | None = None) -> None:
        """Connect in the background (retrying with backoff); with `wait`, block until ready or raise."""
        self._stopping = False
        self._client.connect_async(
            self.address.host, self.address.port, keepalive=self.address.keepalive
        )
        self._client.loop_start()
        if wait is not None and not self.wait_ready(wait):
            raise ConnectionError(
                f"{self.client_id}: no connection to {self.address.redacted()} within {wait} s"
            )

    def stop(self) -> None:
        """Say `offline` (retained), disconnect cleanly (so the will is not sent) and stop the loop."""
        self._stopping = True
        if self.status_topic is not None and self.connected:
            offline = Publication()
            self._hand_over(self.status_topic, OFFLINE, 1, True, offline)
            deadline = time.monotonic() + 2.0
            while not offline.is_published() and self.connected and time.monotonic() < deadline:
                time.sleep(0.005)
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()
        self._ready.clear()

    def publish(
        self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False
    ) -> Delivery:
        """Send now if ready, else hold it (in order) until the next (re)connect is ready. The
        Delivery says when the broker acknowledged it, however many reconnects that takes."""
        publication, data = Publication(), _as_bytes(payload)
        with self._send_lock:
            if self._ready.is_set() and not self._backlog:
                self._hand_over(topic, data, qos, retain, publication)
            else:
                self._backlog.append((topic, data, qos, retain, publication))
        return publication

    def _hand_over(
        self, topic: str, data: bytes, qos: int, retain: bool, publication: Publication
    ) -> None:
        """To paho, which keeps a QoS 1 message until acknowledged and resends it after a
        reconnect; the acknowledgement comes to on_publish under the message id given here."""
        for _ in range(MID_TRIES):
            info = self._client.publish(topic, data, qos=qos, retain=retain)
            # QUEUE_SIZE with an unlimited queue: the id is still held by an older message.
            if info.rc != mqtt.MQTT_ERR_QUEUE_SIZE:
                break
        kept = info.rc == mqtt.MQTT_ERR_SUCCESS or (qos > 0 and info.rc == mqtt.MQTT_ERR_NO_CONN)
        if not kept:
            log.error(
                "%s: paho did not take a message for %s: %s",
                self.client_id,
                topic,
                mqtt.error_string(info.rc),
            )
            return
        with self._mid_lock:
            if info.mid in self._acked_early:
                self._acked_early.discard(info.mid)
                publication.acknowledge()
            else:
                self._by_mid[info.mid] = publication

    def _send_backlog_and_be_ready(self) -> None:
        """What was published while not ready, in order, after what paho resends itself (it did
        at the CONNACK, before the SUBACK that makes us ready); publishes go straight out after.
        A client with no subscription is ready at the CONNACK, before paho's resends: its held
        messages may then overtake those (the hall and every device subscribe)."""
        with self._send_lock:
            backlog, self._backlog = self._backlog, []
            for topic, data, qos, retain, publication in backlog:
                self._hand_over(topic, data, qos, retain, publication)
            self._ready.set()
        if backlog:
            log.info("%s: sent %d message(s) held while disconnected", self.client_id, len(backlog))

    def subscribe(
        self, topic_filter: str, callback: MessageCallback, qos: int = 1, wait: float | None = None
    ) -> None:
        """Register a callback; subscribes at the broker now if connected, and after every reconnect.
        With `wait`, block until the broker acknowledged it (so nothing published after is missed)."""
        new = self._subs.add(topic_filter, callback, qos)
        if not new or not self.connected:
            return
        result, mid = self._client.subscribe(topic_filter, qos=qos)
        if result != mqtt.MQTT_ERR_SUCCESS or mid is None:
            return  # not connected after all: on_connect subscribes it
        if wait is not None and not self._wait_ack(mid, wait):
            raise TimeoutError(f"{self.client_id}: no SUBACK for {topic_filter} within {wait} s")

    def unsubscribe(self, topic_filter: str, callback: MessageCallback) -> None:
        """Remove a callback; the last one of a filter unsubscribes it at the broker."""
        if self._subs.remove(topic_filter, callback) and self.connected:
            self._client.unsubscribe(topic_filter)

    def add_connect_listener(self, listener: ConnectListener) -> None:
        """Called (in the network thread) after every successful (re)connect and resubscription."""
        self._listeners.append(listener)

    def add_disconnect_listener(self, listener: DisconnectListener) -> None:
        """Called (in the network thread) with the reason when the connection is lost, and after
        every attempt that failed (paho keeps trying with backoff); not after stop()."""
        self._disconnect_listeners.append(listener)

    def _tell_disconnected(self, reason: str) -> None:
        for listener in list(self._disconnect_listeners):
            try:
                listener(reason)
            except Exception:
                log.exception("%s: disconnect listener failed", self.client_id)

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def socket(self) -> socket.socket | None:
        return self._client.raw_socket()

    # -- paho callbacks (network thread)
    def _wait_ack(self, mid: int, timeout: float) -> bool:
        with self._ack_lock:
            if mid in self._acked:
                self._acked.discard(mid)
                return True
            event = self._ack_events.setdefault(mid, threading.Event())
        done = event.wait(timeout)
        with self._ack_lock:
            self._ack_events.pop(mid, None)
            self._acked.discard(mid)
        return done

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Any,
    ) -> None:
        failed = [str(rc) for rc in reason_codes if rc.is_failure]
        if failed:
            log.warning(
                "%s: subscription %d refused by the broker: %s", self.client_id, mid, failed
            )
        if mid == self._resubscribe_mid:
            self._after_ready()
        with self._ack_lock:
            event = self._ack_events.get(mid)
            if event is not None:
                event.set()
            else:
                self._acked.add(mid)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        if reason_code.is_failure:
            # Refused (bad credentials, not authorised...): not connected, whatever paho thinks.
            log.error(
                "%s: broker %s refused the connection: %s",
                self.client_id,
                self.address.redacted(),
                reason_code,
            )
            self._connected.clear()
            self._tell_disconnected(f"refused by the broker: {reason_code}")
            return
        self._set_nodelay(client.socket())
        self._connected.set()
        self._last_fail_log = -1e9
        log.info("%s: connected to %s", self.client_id, self.address.redacted())
        if self.status_topic is not None:
            self._hand_over(self.status_topic, ONLINE, 1, True, Publication())
        filters = self._subs.filters()
        if filters:
            result, mid = client.subscribe(filters)
            if result == mqtt.MQTT_ERR_SUCCESS and mid is not None:
                self._resubscribe_mid = mid
                return  # ready when the SUBACK arrives
        self._after_ready()

    def _set_nodelay(self, sock: Any) -> None:
        """Nagle's algorithm otherwise holds small packets 40-80 ms (a round trip took 88 ms without
        it, 0.7 ms with it). `sock` is a plain socket, or under TLS an object that wraps one (it has
        setsockopt too)."""
        if sock is None or not hasattr(sock, "setsockopt"):
            return
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            log.warning("%s: could not set TCP_NODELAY: %s", self.client_id, exc)

    def _after_ready(self) -> None:
        self._resubscribe_mid = None
        self._send_backlog_and_be_ready()
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                log.exception("%s: connect listener failed", self.client_id)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        self._ready.clear()
        if self._stopping:
            log.info("%s: disconnected", self.client_id)
        elif was:
            log.warning(
                "%s: lost the broker (%s); reconnecting with backoff", self.client_id, reason_code
            )
        if not self._stopping:
            self._tell_disconnected(f"lost the broker: {reason_code}" if was else str(reason_code))

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        # Said once, then every 30 s while it lasts: an operator must see that the broker is away.
        now = time.monotonic()
        if now - self._last_fail_log >= 30.0:
            self._last_fail_log = now
            log.warning(
                "%s: cannot reach the broker %s; retrying with backoff",
                self.client_id,
                self.address.redacted(),
            )
        self._tell_disconnected(f"cannot reach the broker {self.address.redacted()}")

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason_code: ReasonCode, properties: Any
    ) -> None:
        # Called with paho's message lock held: take only our own small lock here.
        if reason_code.is_failure:  # MQTT 5: the broker refused it (under 3.1.1 it cannot say)
            log.warning("%s: the broker refused message %d: %s", self.client_id, mid, reason_code)
        with self._mid_lock:
            publication = self._by_mid.pop(mid, None)
            if publication is None:
                self._acked_early.add(mid)
        if publication is not None:
            publication.acknowledge()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self._subs.dispatch(Message(msg.topic, bytes(msg.payload), bool(msg.retain)))


# -- in memory
class LoopbackBroker:
    """An in-memory broker for unit tests: topic matching as paho does it, retained messages, wills."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._clients: list[LoopbackTransport] = []
        self.retained: dict[str, bytes] = {}
        self.log: list[Message] = []  # every message published, in order

    def attach(self, client: LoopbackTransport) -> None:
        with self._lock:
            if client not in self._clients:
                self._clients.append(client)

    def detach(self, client: LoopbackTransport) -> None:
        with self._lock:
            if client in self._clients:
                self._clients.remove(client)

    def publish(self, message: Message) -> None:
        with self._lock:
            self.log.append(message)
            if message.retain:
                if message.payload:
                    self.retained[message.topic] = message.payload
                else:
                    self.retained.pop(message.topic, None)
            clients = list(self._clients)
        # Delivered as a live message (retain flag off), as a broker does to current subscribers.
        live = Message(message.topic, message.payload, False)
        for client in clients:
            client._deliver(live)

    def retained_for(self, topic_filter: str) -> list[Message]:
        with self._lock:
            return [
                Message(t, p, True)
                for t, p in self.retained.items()
                if mqtt.topic_matches_sub(topic_filter, t)
            ]


class LoopbackTransport:
    """The Transport interface over a LoopbackBroker; delivery is synchronous, in the publisher's thread."""

    def __init__(
        self, broker: LoopbackBroker, client_id: str, status_topic: str | None = None
    ) -> None:
        self.broker = broker
        self.client_id = client_id
        self.status_topic = status_topic
        self._subs = _Subscriptions()
        self._listeners: list[ConnectListener] = []
        self._disconnect_listeners: list[DisconnectListener] = []
        self._connected = False
        # As paho: a publish while disconnected is kept, unacknowledged, and sent in order after
        # the next start(); so is one made while those are being sent.
        self._held_lock = threading.Lock()
        self._held: list[tuple[Message, Publication]] = []
        self._sending_held = False

    @property
    def connected(self) -> bool:
        return self._connected

    def start(self, wait: float | None = None) -> None:
        with self._held_lock:  # publishes wait behind the held ones from now on
            self._connected = self._sending_held = True
        self.broker.attach(self)
        if self.status_topic is not None:
            self.broker.publish(Message(self.status_topic, ONLINE, True))
        for topic_filter, _ in self._subs.filters():
            for message in self.broker.retained_for(topic_filter):
                self._subs.dispatch(message)
        self._send_held()
        for listener in list(self._listeners):
            listener()

    def _send_held(self) -> None:
        while True:
            with self._held_lock:
                held, self._held = self._held, []
                if not held or not self._connected:
                    self._held[:0] = held
                    self._sending_held = False
                    return
            for message, publication in held:
                self.broker.publish(message)
                publication.acknowledge()

    def stop(self) -> None:
        if self._connected and self.status_topic is not None:
            self.broker.publish(Message(self.status_topic, OFFLINE, True))
        self._drop()

    def kill(self) -> None:
        """An abnormal disconnect: the broker publishes the last will."""
        was = self._connected
        self._drop()
        if self.status_topic is not None:
            self.broker.publish(Message(self.status_topic, OFFLINE, True))
        if was:
            for listener in list(self._disconnect_listeners):
                listener("lost the broker")

    def _drop(self) -> None:
        self._connected = False
        self.broker.detach(self)

    def publish(
        self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False
    ) -> Delivery:
        message, publication = Message(topic, _as_bytes(payload), retain), Publication()
        with self._held_lock:
            if not self._connected or self._sending_held:
                self._held.append((message, publication))
                return publication
        self.broker.publish(message)
        publication.acknowledge()
        return publication

    def subscribe(
        self, topic_filter: str, callback: MessageCallback, qos: int = 1, wait: float | None = None
    ) -> None:
        # As PahoTransport: only a filter new to this connection is subscribed at the broker, and
        # the broker's retained messages then go to every callback whose filter matches them.
        new = self._subs.add(topic_filter, callback, qos)
        if new and self._connected:
            for message in self.broker.retained_for(topic_filter):
                self._subs.dispatch(message)

    def unsubscribe(self, topic_filter: str, callback: MessageCallback) -> None:
        self._subs.remove(topic_filter, callback)

    def add_connect_listener(self, listener: ConnectListener) -> None:
        self._listeners.append(listener)

    def add_disconnect_listener(self, listener: DisconnectListener) -> None:
        self._disconnect_listeners.append(listener)

    def wait_ready(self, timeout: float) -> bool:
        return self._connected

    def _deliver(self, message: Message) -> None:
        self._subs.dispatch(message)
