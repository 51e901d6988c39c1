"""The client library kiosks, window terminals, evaluators, displays, bridges and tools use.

    with HallClient.connect(address, site="demo", device_class="kiosk", device_id="k1") as hall:
        ticket = hall.request("issue", service="psb-id-card")["ticket"]
        hall.subscribe(topics.board("demo"), on_board)   # retained state arrives at once

A request goes out on the device's `req` topic with a fresh id; until the answer with that id arrives
it is sent again under the SAME id (the hall answers a repeat with the stored answer and does the work
once). A refusal raises `RequestRefused` with the contract's error code; no answer after the retries
raises `RequestTimeout`. A bridge acts for its windows: `request(..., device=("window", "w05"))`.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from types import TracebackType
from typing import Any

from contract import topics
from contract.hall_clock import HallClock
from contract.mqtt_url import BrokerAddress
from contract.protocol import VERSION, dumps, iso
from contract.transport import Message, MessageCallback, PahoTransport, Transport

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 2.0  # seconds per attempt
DEFAULT_RETRIES = 2  # extra attempts under the same id


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
    """No answer with the request's id after every attempt (the hall or the broker is away)."""

    def __init__(self, op: str, request_id: str, attempts: int, timeout: float):
        super().__init__(
            f"{op} (id {request_id}): no answer from the hall after {attempts} attempts "
            f"of {timeout:g} s: is the hall server running and the broker reachable?"
        )
        self.op = op
        self.request_id = request_id
        self.code = "timeout"


class _Pending:
    __slots__ = ("done", "raw")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.raw = b""


class HallClient:
    """One device's connection to the hall: requests with retries, subscriptions, its own health."""

    def __init__(
        self,
        transport: Transport,
        site: str,
        device_class: str,
        device_id: str,
        acts_for: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.transport = transport
        self.site = site
        self.device_class = device_class
        self.device_id = device_id
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str, str], _Pending] = {}
        self._listening: set[tuple[str, str]] = set()
        self.hall_clock: HallClock | None = None  # set by follow_clock(): health in the hall's time
        targets = list(acts_for)
        if device_class in topics.REQUEST_CLASSES:
            targets.insert(0, (device_class, device_id))
        for target in targets:
            self._listen(target, wait=None)

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
    ) -> HallClient:
        """Connect to the broker as this device (credentials from `address`), with a last will
        `offline` on status/{device_id} and TCP_NODELAY; waits until ready unless wait is None."""
        transport = PahoTransport(
            address, client_id or device_id, topics.status(site, device_id), max_inflight=100
        )
        client = cls(transport, site, device_class, device_id, acts_for)
        transport.start(wait=wait)
        return client

    def close(self) -> None:
        self.transport.stop()

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

    # -- requests
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
        answer = self.request_answer(
            op, timeout=timeout, retries=retries, request_id=request_id, device=device, **fields
        )
        if answer.get("ok") is True:
            result = answer.get("result")
            return result if isinstance(result, dict) else {}
        error = answer.get("error") if isinstance(answer.get("error"), dict) else {}
        assert isinstance(error, dict)
        raise RequestRefused(
            op,
            str(answer.get("id")),
            str(error.get("code", "")),
            str(error.get("message", "")),
            answer,
        )

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
        body: dict[str, Any] = {"v": VERSION, "id": request_id or uuid.uuid4().hex, "op": op}
        body.update(fields)
        raw = self.request_raw(
            dumps(body), str(body["id"]), op, timeout=timeout, retries=retries, device=device
        )
        parsed = json.loads(raw)
        if not isinstance(parsed, dict):
            raise RequestError(f"{op}: the hall answered something that is not a JSON object")
        return parsed

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
        target = device or (self.device_class, self.device_id)
        self._listen(target, wait=timeout)
        key = (target[0], target[1], request_id)
        pending = _Pending()
        with self._lock:
            self._pending[key] = pending
        topic = topics.request(self.site, *target)
        attempts = 0
        try:
            for attempt in range(1 + max(0, retries)):
                attempts = attempt + 1
                if attempt:
                    log.info(
                        "%s: no answer to %s id %s yet: retry %d",
                        self.device_id,
                        op,
                        request_id,
                        attempt,
                    )
                self.transport.publish(topic, payload, qos=1)
                if pending.done.wait(timeout):
                    return pending.raw
        finally:
            with self._lock:
                self._pending.pop(key, None)
        log.warning(
            "%s: %s id %s: no answer after %d attempts", self.device_id, op, request_id, attempts
        )
        raise RequestTimeout(op, request_id, attempts, timeout)

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
            pending = self._pending.get((device_class, device_id, answer["id"]))
        if pending is not None and not pending.done.is_set():
            pending.raw = message.payload
            pending.done.set()

    # -- subscriptions and own state
    def subscribe(
        self, topic_filter: str, callback: MessageCallback, wait: float | None = None
    ) -> None:
        """Deliver every message on `topic_filter` to `callback` (in the network thread: be quick),
        retained state first; resubscribed after every reconnect."""
        self.transport.subscribe(topic_filter, callback, qos=1, wait=wait)

    def subscribe_json(
        self,
        topic_filter: str,
        callback: Callable[[str, dict[str, Any] | None], None],
        wait: float | None = None,
    ) -> None:
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

        self.subscribe(topic_filter, decode, wait=wait)

    def follow_clock(self, tz: tzinfo) -> HallClock:
        """Follow the hall's retained `clock` (once): publish_health then stamps the hall's time."""
        if self.hall_clock is None:
            self.hall_clock = HallClock(tz)
            self.subscribe_json(topics.clock(self.site), self.hall_clock.on_clock)
        return self.hall_clock

    def publish_health(self, state: str, detail: Any = None, at: datetime | None = None) -> None:
        """device/{id}/health, retained: what this device knows of its own hardware, stamped with
        the hall's time when this client follows its clock (and has heard it), else its own."""
        clock = self.hall_clock
        if at is not None:
            when = at
        elif clock is not None and clock.received:
            when = clock.now()
        else:
            when = datetime.now().astimezone()
        body: dict[str, Any] = {"v": VERSION, "state": state, "detail": detail, "at": iso(when)}
        self.transport.publish(
            topics.device_health(self.site, self.device_id), dumps(body), qos=1, retain=True
        )
