"""The client library kiosks, window terminals, evaluators, displays, bridges and tools use.

    hall = HallClient.connect(address, "demo", "kiosk", "k1", dispatcher=on_ui_thread,
                              journal=Path("/var/lib/hallq/k1-pending"))
    hall.add_state_listener(show_connection)          # connecting / connected / disconnected, hall
    hall.subscribe_json(topics.board("demo"), on_board)   # its retained value arrives at once
    hall.submit("issue", service="psb-id-card").add_done_callback(on_ticket)   # never blocks

Everything reaches device code through ONE dispatcher the device supplies: `dispatcher(fn)` must run
`fn()` soon, in the thread the device wants (a Kivy app: `Clock.schedule_once(lambda dt: fn())`;
tests: `inline`). Without one, the client runs them in order on a worker thread of its own. No device
callback runs in paho's network thread, so a callback may make a request.

A request goes out on the device's `req` topic under a fresh id and stays pending until the answer
with that id arrives: it is sent again under the SAME id after every reconnect, when the hall comes
back online, and every `retry_every` seconds (the hall answers a repeat with the stored answer and
does the work once). An `issue` carries a `deadline` on the hall's clock; the hall refuses it
`expired` after that, so a kiosk that gave up is never contradicted by a ticket issued later. With a
journal, a kiosk's pending `issue` is on disk before it is first sent; a kiosk restarted mid-request
sends it again at start, and the answer goes to `on_resumed_answer`.

`request()` is the blocking form for tools, the simulator and bridges: `submit(...).result()`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import paho.mqtt.client as mqtt

from contract import topics
from contract.hall_clock import HallClock as ClockFollower
from contract.hall_clock import parse_clock
from contract.journal import Entry, Journal
from contract.mqtt_url import BrokerAddress
from contract.protocol import VERSION, dumps, iso
from contract.transport import ONLINE, Message, MessageCallback, PahoTransport, Transport

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 2.0  # seconds per attempt of the blocking request()
DEFAULT_RETRIES = 2  # extra attempts under the same id
SUBMIT_TIMEOUT = 30.0  # seconds a submitted request stays pending (an issue's deadline)
RETRY_EVERY = 2.0  # seconds between copies while connected and unanswered
RESUMED_RETRY_EVERY = 10.0  # a journalled request the device stopped waiting for
ANSWER_GRACE = 3.0  # seconds after an issue's deadline for the answer to arrive
JOURNALLED_OPS = frozenset({"issue"})

Dispatcher = Callable[[Callable[[], None]], None]


def inline(fn: Callable[[], None]) -> None:
    """The dispatcher of tests and tools: run it now, in the calling thread."""
    fn()


class ThreadDispatcher:
    """Runs what it is given in order, on one worker thread of its own (the default dispatcher)."""

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def __call__(self, fn: Callable[[], None]) -> None:
        self._queue.put(fn)

    def close(self) -> None:
        self._queue.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(5.0)

    def _run(self) -> None:
        while (fn := self._queue.get()) is not None:
            try:
                fn()
            except Exception:
                log.exception("a device callback failed")


class HallClock(Protocol):
    def now(self) -> datetime: ...


class RequestError(Exception):
    """A request that did not succeed."""


class RequestRefused(RequestError):
    """The hall answered ok:false: `code` is the contract's error code."""

    def __init__(self, op: str, request_id: str, code: str, message: str, answer: dict[str, Any]):
        super().__init__(f"{op} refused: {code}: {message}")
        self.op = op
        self.request_id = request_id
        self.code = code
        self.message = message
        self.answer = answer


class RequestTimeout(RequestError):
    """No answer with the request's id in time (the hall or the broker is away)."""

    def __init__(self, op: str, request_id: str, attempts: int, timeout: float):
        super().__init__(
            f"{op} (id {request_id}): no answer from the hall after {attempts} attempts "
            f"in {timeout:g} s: is the hall server running and the broker reachable?"
        )
        self.op = op
        self.request_id = request_id
        self.code = "timeout"


class RequestFuture:
    """The outcome of one request: an answer (ok or refused) or a timeout, set once."""

    def __init__(self, op: str, request_id: str, dispatch: Dispatcher) -> None:
        self.op = op
        self.request_id = request_id
        self.attempts = 0  # copies sent so far
        self._dispatch = dispatch
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._raw = b""
        self._answer: dict[str, Any] = {}
        self._error: RequestError | None = None
        self._callbacks: list[Callable[[RequestFuture], None]] = []

    def done(self) -> bool:
        return self._done.is_set()

    def add_done_callback(self, callback: Callable[[RequestFuture], None]) -> None:
        """`callback(future)` through the dispatcher once the outcome is known (at once if it is)."""
        with self._lock:
            if not self._done.is_set():
                self._callbacks.append(callback)
                return
        self._dispatch(lambda: callback(self))

    def raw(self, timeout: float | None = None) -> bytes:
        """The answer's bytes; raises RequestTimeout."""
        self._wait(timeout)
        return self._raw

    def answer(self, timeout: float | None = None) -> dict[str, Any]:
        """The whole answer object (ok true or false); raises RequestTimeout."""
        self._wait(timeout)
        return self._answer

    def result(self, timeout: float | None = None) -> dict[str, Any]:
        """The answer's `result`; raises RequestRefused (ok:false) or RequestTimeout."""
        answer = self.answer(timeout)
        if answer.get("ok") is True:
            result = answer.get("result")
            return result if isinstance(result, dict) else {}
        error = answer.get("error")
        error = error if isinstance(error, dict) else {}
        raise RequestRefused(
            self.op,
            str(answer.get("id")),
            str(error.get("code", "")),
            str(error.get("message", "")),
            answer,
        )

    def _wait(self, timeout: float | None) -> None:
        if not self._done.wait(timeout):
            raise RequestTimeout(self.op, self.request_id, self.attempts, timeout or 0.0)
        if self._error is not None:
            raise self._error

    def _settle(self, raw: bytes, answer: dict[str, Any], error: RequestError | None) -> bool:
        with self._lock:
            if self._done.is_set():
                return False
            self._raw, self._answer, self._error = raw, answer, error
            self._done.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            self._dispatch(lambda cb=callback: cb(self))  # type: ignore[misc]
        return True


@dataclass
class _Pending:
    target: tuple[str, str]
    op: str
    payload: bytes
    future: RequestFuture
    retry_every: float
    give_up_at: float  # time.monotonic(): the future fails with RequestTimeout then
    lifetime: float
    next_send: float
    max_copies: float  # the blocking request()'s 1 + retries (sent even while away, as paho
    # queues them, and it ends `retry_every` after the last); inf: until give_up_at
    journalled: bool


class Subscription:
    """What subscribe() returns: the handle for unsubscribe()."""

    __slots__ = ("active", "callback", "internal", "topic_filter")

    def __init__(self, topic_filter: str, callback: MessageCallback, internal: bool = False):
        self.topic_filter = topic_filter
        self.callback = callback
        self.internal = internal
        self.active = True


@dataclass(frozen=True)
class ConnectionState:
    """What a device shows of its link: `link` is connecting (never connected yet), connected or
    disconnected (lost; reconnecting), with the last reason; `hall` is the hall's `status/hall`
    (online, offline, or unknown until it is heard)."""

    link: str
    reason: str
    hall: str

    @property
    def ready(self) -> bool:
        return self.link == "connected" and self.hall == "online"


StateListener = Callable[[ConnectionState], None]


class HallClient:
    """One device's connection to the hall: requests that stay pending until answered,
    subscriptions with retained state for every subscriber, the connection state, its own health."""

    def __init__(
        self,
        transport: Transport,
        site: str,
        device_class: str,
        device_id: str,
        acts_for: Iterable[tuple[str, str]] = (),
        *,
        dispatcher: Dispatcher | None = None,
        journal: Path | None = None,
        on_resumed_answer: Callable[[RequestFuture], None] | None = None,
        hall_clock: HallClock | None = None,
    ) -> None:
        self.transport = transport
        self.site = site
        self.device_class = device_class
        self.device_id = device_id
        self.hall_clock = hall_clock
        self._own_dispatcher = (
            ThreadDispatcher(f"hallq-{device_id}") if dispatcher is None else None
        )
        self._dispatch: Dispatcher = dispatcher or self._own_dispatcher  # type: ignore[assignment]
        self._in_network = threading.local()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._closed = False
        self._pending: dict[tuple[str, str, str], _Pending] = {}
        self._listening: set[tuple[str, str]] = set()
        self._route_lock = threading.RLock()
        self._subs: dict[str, list[Subscription]] = {}
        self._routers: dict[str, MessageCallback] = {}
        self._cache: dict[str, Message] = {}  # retained topics' latest values
        self._state_lock = threading.RLock()  # its listeners are called in order, under it
        self._state = ConnectionState("connecting", "starting", "unknown")
        self._state_listeners: list[StateListener] = []
        self._resumed_handler = on_resumed_answer
        self._resumed_waiting: list[RequestFuture] = []
        self.journal = Journal(journal) if journal is not None else None
        transport.add_connect_listener(self._on_connected)
        transport.add_disconnect_listener(self._on_disconnected)
        targets = list(acts_for)
        if device_class in topics.REQUEST_CLASSES:
            targets.insert(0, (device_class, device_id))
        for target in targets:
            self._listen(target, wait=None)
        self._subscribe(
            topics.status(site, topics.HALL_CLIENT_ID), self._on_hall_status, internal=True
        )
        self._follower: ClockFollower | None = None
        if hall_clock is None and device_class == "kiosk":  # an issue's deadline is in hall time
            self._follower = ClockFollower(datetime.now().astimezone().tzinfo or UTC)
            self._subscribe(topics.clock(site), self._on_clock, internal=True)
        if self.journal is not None:
            self._resume(self.journal.entries())
        self._ticker = threading.Thread(
            target=self._tick, name=f"hallq-{device_id}-resend", daemon=True
        )
        self._ticker.start()

    @classmethod
    def connect(
        cls,
        address: BrokerAddress,
        site: str,
        device_class: str,
        device_id: str,
        acts_for: Iterable[tuple[str, str]] = (),
        client_id: str | None = None,
        wait: float | None = 10.0,
        *,
        dispatcher: Dispatcher | None = None,
        journal: Path | None = None,
        on_resumed_answer: Callable[[RequestFuture], None] | None = None,
        hall_clock: HallClock | None = None,
    ) -> HallClient:
        """Connect to the broker as this device (credentials from `address`), with a last will
        `offline` on status/{device_id} and TCP_NODELAY. Never fails because the broker is not up
        yet: it keeps trying with backoff (the state listener shows it). With `wait` (tools), block
        until ready and raise ConnectionError if that takes longer; a device passes wait=None."""
        transport = PahoTransport(
            address, client_id or device_id, topics.status(site, device_id), max_inflight=100
        )
        client = cls(
            transport,
            site,
            device_class,
            device_id,
            acts_for,
            dispatcher=dispatcher,
            journal=journal,
            on_resumed_answer=on_resumed_answer,
            hall_clock=hall_clock,
        )
        try:
            transport.start(wait=wait)
        except ConnectionError:
            client.close()
            raise
        return client

    def close(self) -> None:
        """Disconnect cleanly. Requests still waiting fail (RequestError); journalled ones stay on
        disk and are resumed by the next client on that journal."""
        with self._lock:
            self._closed = True
            self._wake.notify_all()
            left, self._pending = list(self._pending.values()), {}
        for pending in left:
            pending.future._settle(
                b"", {}, RequestError(f"{pending.op}: the client was closed before the answer")
            )
        self.transport.stop()
        if self._own_dispatcher is not None:
            self._own_dispatcher.close()

    def __enter__(self) -> HallClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return self.transport.connected

    # -- requests that do not block
    def submit(
        self,
        op: str,
        *,
        timeout: float = SUBMIT_TIMEOUT,
        retry_every: float = RETRY_EVERY,
        request_id: str | None = None,
        device: tuple[str, str] | None = None,
        journal: bool | None = None,
        **fields: Any,
    ) -> RequestFuture:
        """Send `op` with `fields` and return at once. The request stays pending, sent again under
        its id after every reconnect and every `retry_every` s, until the answer comes or `timeout`
        s passed (then the future fails with RequestTimeout). An `issue` gets `deadline` = the
        hall's time + timeout (the hall refuses it `expired` later) and is journalled when the
        client has a journal (`journal=` overrides which requests are)."""
        body: dict[str, Any] = {"v": VERSION, "id": request_id or uuid.uuid4().hex, "op": op}
        now, speed = self._hall_now()
        if op == "issue" and "deadline" not in fields:
            # `timeout` real seconds, in the hall's time (a scaled hall's clock runs faster).
            body["deadline"] = iso(now + timedelta(seconds=math.ceil(timeout * (speed or 1.0))))
        body.update(fields)
        lifetime = timeout
        if isinstance(body.get("deadline"), str):
            # Never give up before the hall would: until its deadline, plus the answer's way back.
            with contextlib.suppress(ValueError, TypeError):
                ahead = (datetime.fromisoformat(body["deadline"]) - now).total_seconds()
                lifetime = max(timeout, ahead / speed if speed > 0 else timeout) + ANSWER_GRACE
        keep = (op in JOURNALLED_OPS) if journal is None else journal
        return self._submit_raw(
            dumps(body),
            str(body["id"]),
            op,
            device=device,
            retry_every=retry_every,
            lifetime=lifetime,
            journalled=keep and self.journal is not None,
        )

    def _on_clock(self, message: Message) -> None:
        value = _json_object(message.payload)
        reading = parse_clock(value)
        if self._follower is not None and reading is not None:
            self._follower.tz = reading.at.tzinfo or self._follower.tz  # the hall's offset
            self._follower.on_clock(message.topic, value)

    def _hall_now(self) -> tuple[datetime, float]:
        """The hall's time and its speed: from the given clock, else from the hall's `clock` topic
        once heard, else this machine's clock (the hall's too, through NTP, unless it is scaled)."""
        if self.hall_clock is not None:
            return self.hall_clock.now(), float(getattr(self.hall_clock, "speed", 1.0))
        if self._follower is not None and self._follower.received:
            return self._follower.now(), self._follower.speed
        return datetime.now().astimezone(), 1.0

    def _submit_raw(
        self,
        payload: bytes,
        request_id: str,
        op: str,
        *,
        device: tuple[str, str] | None,
        retry_every: float,
        lifetime: float,
        max_copies: float = math.inf,
        journalled: bool = False,
    ) -> RequestFuture:
        target = device or (self.device_class, self.device_id)
        self._listen(target, wait=None)
        future = RequestFuture(op, request_id, self._run_dispatched)
        if journalled:
            assert self.journal is not None
            self.journal.write(Entry(request_id, op, target, payload, time.time()))
        now = time.monotonic()
        pending = _Pending(
            target,
            op,
            payload,
            future,
            retry_every,
            now + lifetime if math.isinf(max_copies) else math.inf,  # request(): by attempts
            lifetime,
            now + retry_every,
            max_copies,
            journalled,
        )
        with self._lock:
            self._pending[(*target, request_id)] = pending
            self._wake.notify_all()
        self._send(pending)
        return future

    def _send(self, pending: _Pending) -> None:
        pending.future.attempts += 1
        if pending.future.attempts > 1:
            log.info(
                "%s: no answer to %s id %s yet: retry %d",
                self.device_id,
                pending.op,
                pending.future.request_id,
                pending.future.attempts - 1,
            )
        try:
            self.transport.publish(topics.request(self.site, *pending.target), pending.payload)
        except Exception as exc:  # not connected (loopback): the reconnect sends it
            log.info("%s: %s not sent now (%s); pending", self.device_id, pending.op, exc)

    # -- the blocking form (tools, the simulator, bridges)
    def request(
        self,
        op: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        request_id: str | None = None,
        device: tuple[str, str] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Send `op` with `fields`; return the answer's `result`. Raises RequestRefused (ok:false,
        with the contract code) or RequestTimeout (no answer after 1 + retries attempts)."""
        return self._blocking(op, timeout, retries, request_id, device, fields).result()

    def request_answer(
        self,
        op: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        request_id: str | None = None,
        device: tuple[str, str] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Like request(), but return the whole answer object (ok true or false) without raising
        on a refusal."""
        return self._blocking(op, timeout, retries, request_id, device, fields).answer()

    def request_raw(
        self,
        payload: bytes,
        request_id: str,
        op: str = "?",
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        device: tuple[str, str] | None = None,
    ) -> bytes:
        """Send these exact bytes (which carry `request_id`) until the answer with that id arrives;
        return the answer's bytes."""
        self._listen(device or (self.device_class, self.device_id), wait=timeout)
        future = self._submit_raw(
            payload,
            request_id,
            op,
            device=device,
            retry_every=timeout,
            lifetime=timeout * (1 + max(0, retries)),
            max_copies=1 + max(0, retries),
        )
        return self._await(future, timeout * (1 + max(0, retries))).raw()

    def _blocking(
        self,
        op: str,
        timeout: float,
        retries: int,
        request_id: str | None,
        device: tuple[str, str] | None,
        fields: dict[str, Any],
    ) -> RequestFuture:
        self._listen(device or (self.device_class, self.device_id), wait=timeout)
        body: dict[str, Any] = {"v": VERSION, "id": request_id or uuid.uuid4().hex, "op": op}
        body.update(fields)
        future = self._submit_raw(
            dumps(body),
            str(body["id"]),
            op,
            device=device,
            retry_every=timeout,
            lifetime=timeout * (1 + max(0, retries)),
            max_copies=1 + max(0, retries),
        )
        return self._await(future, timeout * (1 + max(0, retries)))

    def _await(self, future: RequestFuture, lifetime: float) -> RequestFuture:
        if not future.done() and getattr(self._in_network, "active", False):
            raise RequestError(
                f"{future.op}: request() was called in the network thread, where its answer can "
                "never arrive (a callback run by the inline dispatcher): use submit() and "
                "add_done_callback(), or pass a dispatcher that runs callbacks in another thread"
            )
        if not future._done.wait(lifetime + 30.0):  # the resend timer gives up at `lifetime`
            future._settle(
                b"", {}, RequestTimeout(future.op, future.request_id, future.attempts, lifetime)
            )
        return future

    # -- pending requests: resent, expired, resumed
    def _tick(self) -> None:
        """The resend timer: a copy every retry_every while connected; a give-up at the end."""
        while not self._closed:
            try:
                self._tick_once()
            except Exception:  # the timer must outlive any fault, or requests would hang
                log.exception("%s: the resend timer failed", self.device_id)
                time.sleep(0.5)

    def _tick_once(self) -> None:
        while True:
            due: list[_Pending] = []
            expired: list[_Pending] = []
            with self._lock:
                if self._closed:
                    return
                now = time.monotonic()
                for key, pending in list(self._pending.items()):
                    if now >= pending.give_up_at:
                        expired.append(pending)
                        if not pending.journalled:
                            del self._pending[key]
                    elif now >= pending.next_send:
                        pending.next_send = now + pending.retry_every
                        if pending.future.attempts >= pending.max_copies:
                            # request(): every attempt had its full `timeout`: that is the end.
                            expired.append(pending)
                            del self._pending[key]
                        elif math.isfinite(pending.max_copies) or self.connected:
                            due.append(pending)
                wake = min(
                    (min(p.give_up_at, p.next_send) for p in self._pending.values()),
                    default=now + 60.0,
                )
            for pending in expired:
                self._give_up(pending)
            for pending in due:
                self._send(pending)
            with self._lock:
                if not self._closed and wake > time.monotonic():
                    self._wake.wait(max(0.0, wake - time.monotonic()))

    def _give_up(self, pending: _Pending) -> None:
        future = pending.future
        log.warning(
            "%s: %s id %s: no answer after %d attempts",
            self.device_id,
            pending.op,
            future.request_id,
            future.attempts,
        )
        timeout = RequestTimeout(pending.op, future.request_id, future.attempts, pending.lifetime)
        if future._settle(b"", {}, timeout) and pending.journalled:
            # In doubt: the hall may have issued it before the deadline. Keep asking (the hall
            # answers a repeat with what it stored: the ticket, or `expired`); the answer goes to
            # on_resumed_answer.
            with self._lock:
                pending.future = RequestFuture(pending.op, future.request_id, self._run_dispatched)
                pending.future.attempts = future.attempts
                pending.retry_every = RESUMED_RETRY_EVERY
                pending.give_up_at = math.inf
                pending.next_send = time.monotonic() + RESUMED_RETRY_EVERY
            pending.future.add_done_callback(self._deliver_resumed)

    def _resume(self, entries: list[Entry]) -> None:
        for entry in entries:
            log.info(
                "%s: resuming %s id %s from the journal", self.device_id, entry.op, entry.request_id
            )
            self._listen(entry.target, wait=None)
            future = RequestFuture(entry.op, entry.request_id, self._run_dispatched)
            future.add_done_callback(self._deliver_resumed)
            now = time.monotonic()
            with self._lock:
                self._pending[(*entry.target, entry.request_id)] = _Pending(
                    entry.target,
                    entry.op,
                    entry.payload,
                    future,
                    RETRY_EVERY,
                    math.inf,
                    math.inf,
                    now,  # sent by the first tick, and again at connect
                    math.inf,
                    True,
                )

    def on_resumed_answer(self, handler: Callable[[RequestFuture], None]) -> None:
        """Where the answers to journalled requests go once their submitter stopped waiting (a
        kiosk restarted mid-request, or a future that timed out): `handler(future)`, done."""
        with self._lock:
            self._resumed_handler = handler
            waiting, self._resumed_waiting = self._resumed_waiting, []
        for future in waiting:
            self._dispatch(lambda f=future: handler(f))  # type: ignore[misc]

    def _deliver_resumed(self, future: RequestFuture) -> None:
        with self._lock:
            handler = self._resumed_handler
            if handler is None:
                self._resumed_waiting.append(future)
                return
        handler(future)

    def pending(self) -> list[str]:
        """The ids of the requests still waiting for their answer."""
        with self._lock:
            return [key[2] for key in self._pending]

    def _resend_all(self, why: str) -> None:
        with self._lock:
            now = time.monotonic()
            pending = list(self._pending.values())
            for entry in pending:
                entry.next_send = now + entry.retry_every
        if pending:
            log.info(
                "%s: %s: sending %d pending request(s) again", self.device_id, why, len(pending)
            )
        for entry in pending:
            self._send(entry)

    # -- answers
    def _listen(self, target: tuple[str, str], wait: float | None) -> None:
        with self._lock:
            if target in self._listening:
                return
            self._listening.add(target)
        device_class, device_id = target

        def on_answer(message: Message) -> None:
            self._on_answer(device_class, device_id, message)

        self.transport.subscribe(
            topics.response(self.site, device_class, device_id), on_answer, qos=1, wait=wait
        )

    def _on_answer(self, device_class: str, device_id: str, message: Message) -> None:
        try:
            answer = json.loads(message.payload)
        except ValueError:
            log.warning("%s: an answer on %s is not JSON", self.device_id, message.topic)
            return
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
            return  # id null: an answer to a request this library never sends
        with self._lock:
            pending = self._pending.pop((device_class, device_id, answer["id"]), None)
        if pending is None:
            log.debug("%s: an answer to %s nobody waits for", self.device_id, answer["id"])
            return
        if pending.journalled and self.journal is not None:
            self.journal.remove(answer["id"])
        pending.future._settle(message.payload, answer, None)

    # -- subscriptions
    def subscribe(
        self, topic_filter: str, callback: MessageCallback, wait: float | None = None
    ) -> Subscription:
        """Deliver every message on `topic_filter` to `callback` through the dispatcher, the
        latest value of every retained topic first (also to a second subscriber of a filter);
        resubscribed after every reconnect. Returns the handle for unsubscribe()."""
        return self._subscribe(topic_filter, callback, wait)

    def _subscribe(
        self,
        topic_filter: str,
        callback: MessageCallback,
        wait: float | None = None,
        internal: bool = False,
    ) -> Subscription:
        """`internal`: the client's own (status/hall, clock), run at once in the network thread,
        so they work before the device's dispatcher runs anything."""
        subscription = Subscription(topic_filter, callback, internal)
        with self._route_lock:
            subscribers = self._subs.setdefault(topic_filter, [])
            first = not subscribers
            subscribers.append(subscription)
            if first:
                router = self._router(topic_filter)
                self._routers[topic_filter] = router
            else:  # the broker sends retained values only for a new filter: replay ours
                for message in list(self._cache.values()):
                    if _matches(topic_filter, message.topic):
                        self._deliver(subscription, message)
        if first:
            self.transport.subscribe(topic_filter, router, qos=1, wait=wait)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop delivering to this subscription (nothing more reaches its callback after this
        returns, in the dispatcher's thread); the filter's last one unsubscribes at the broker."""
        subscription.active = False
        with self._route_lock:
            subscribers = self._subs.get(subscription.topic_filter, [])
            if subscription in subscribers:
                subscribers.remove(subscription)
            if subscribers or subscription.topic_filter not in self._subs:
                return
            del self._subs[subscription.topic_filter]
            router = self._routers.pop(subscription.topic_filter)
            for topic in list(self._cache):
                if not any(_matches(f, topic) for f in self._subs):
                    del self._cache[topic]
        self.transport.unsubscribe(subscription.topic_filter, router)

    def _router(self, topic_filter: str) -> MessageCallback:
        def route(message: Message) -> None:
            with self._route_lock:
                if (
                    message.retain
                    or message.topic in self._cache
                    or topics.is_retained(self.site, message.topic)
                ):
                    if message.payload:
                        self._cache[message.topic] = message
                    else:
                        self._cache.pop(message.topic, None)  # a cleared retained topic
                subscribers = list(self._subs.get(topic_filter, []))
                for subscription in subscribers:
                    if not subscription.internal:  # handed over in order, under the lock
                        self._deliver(subscription, message)
            for subscription in subscribers:
                if subscription.internal:  # the client's own, outside it (they take other locks)
                    self._deliver(subscription, message)

        return route

    def _deliver(self, subscription: Subscription, message: Message) -> None:
        def run() -> None:
            if subscription.active:
                subscription.callback(message)

        if subscription.internal:
            try:
                run()
            except Exception:
                log.exception("%s: handling %s failed", self.device_id, message.topic)
            return
        self._run_dispatched(run)

    def _run_dispatched(self, fn: Callable[[], None]) -> None:
        """Hand `fn` to the dispatcher; marks the calling thread as the network thread meanwhile,
        so that a blocking request() from an inline-dispatched callback fails clearly."""
        was = getattr(self._in_network, "active", False)
        self._in_network.active = True
        try:
            self._dispatch(fn)
        except Exception:
            log.exception("%s: the dispatcher failed", self.device_id)
        finally:
            self._in_network.active = was

    def subscribe_json(
        self,
        topic_filter: str,
        callback: Callable[[str, dict[str, Any] | None], None],
        wait: float | None = None,
    ) -> Subscription:
        """Like subscribe(), decoded: the callback gets (topic, object), or (topic, None) for an
        empty payload (a cleared retained topic); payloads that are not JSON objects are dropped."""

        def decode(message: Message) -> None:
            if not message.payload:
                callback(message.topic, None)
                return
            try:
                value = json.loads(message.payload)
            except ValueError:
                log.warning(
                    "%s: dropped a payload on %s that is not JSON", self.device_id, message.topic
                )
                return
            if isinstance(value, dict):
                callback(message.topic, value)

        return self.subscribe(topic_filter, decode, wait=wait)

    # -- the connection state and the hall's status
    @property
    def state(self) -> ConnectionState:
        with self._state_lock:
            return self._state

    def add_state_listener(self, listener: StateListener) -> Callable[[], None]:
        """`listener(ConnectionState)` through the dispatcher: the current state at once, then every
        change of the link (connecting / connected / disconnected, with the reason) or of the hall's
        status (online / offline). Returns what removes it."""
        with self._state_lock:
            self._state_listeners.append(listener)
            state = self._state
            self._dispatch(lambda: listener(state))

        def remove() -> None:
            with self._state_lock:
                if listener in self._state_listeners:
                    self._state_listeners.remove(listener)

        return remove

    def _change_state(self, **changes: str) -> tuple[ConnectionState, ConnectionState]:
        with self._state_lock:
            old = self._state
            new = ConnectionState(
                changes.get("link", old.link),
                changes.get("reason", old.reason),
                changes.get("hall", old.hall),
            )
            if new != old:
                self._state = new
                for listener in list(self._state_listeners):
                    self._run_dispatched(lambda li=listener: li(new))  # type: ignore[misc]
        return old, new

    def _on_connected(self) -> None:
        self._change_state(link="connected", reason="")
        self._resend_all("connected")

    def _on_disconnected(self, reason: str) -> None:
        with self._route_lock:
            self._cache.clear()  # the broker sends every retained value again at the resubscribe
        link = "connecting" if self.state.link == "connecting" else "disconnected"
        self._change_state(link=link, reason=reason)

    def _on_hall_status(self, message: Message) -> None:
        hall = "online" if message.payload == ONLINE else "offline"
        old, _ = self._change_state(hall=hall)
        if hall == "online" and old.hall == "offline":
            self._resend_all("the hall is back")

    # -- own state
    def follow_clock(self, tz: tzinfo) -> None:
        """Follow the hall's retained `clock` (once; a kiosk does from the start): publish_health
        then stamps the hall's time, as does an issue's deadline."""
        if self._follower is None and self.hall_clock is None:
            self._follower = ClockFollower(tz)
            self._subscribe(topics.clock(self.site), self._on_clock, internal=True)

    def publish_health(self, state: str, detail: Any = None, at: datetime | None = None) -> None:
        """device/{id}/health, retained: what this device knows of its own hardware, stamped with
        the hall's time once this client has heard the hall's clock, else its own."""
        when = at if at is not None else self._hall_now()[0]
        body: dict[str, Any] = {"v": VERSION, "state": state, "detail": detail, "at": iso(when)}
        self.transport.publish(
            topics.device_health(self.site, self.device_id), dumps(body), qos=1, retain=True
        )


def _matches(topic_filter: str, topic: str) -> bool:
    return bool(mqtt.topic_matches_sub(topic_filter, topic))


def _json_object(payload: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(payload) if payload else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
