"""One hall server per site: the retained owner record, and the check a starting server makes.

Two servers of one site on one broker split the hall (each answers half the tickets, numbers repeat)
and, connecting as the same account under `use_username_as_clientid`, knock each other off the
broker. So:

- the serving hall writes `owner(site)` (retained): `{"v":1,"host","data","pid","since"}`;
- a starting server reads it (and `status/hall`) BEFORE it connects as `hall`, through the read-only
  account `hall-check` (`HALLQ_CHECK_URL`, written by `hallq broker-config` into the hall's env
  file). On a broker without accounts (tests, a demo) it reads it as the hall's own (anonymous)
  user on another client id. If another server (another host or data folder) is online, it exits 2
  and names it;
- if two start at once and both pass the check, each writes its record once it is connected; the
  record that arrives last holds the site, and a server that sees another's record arrive after its
  own (or after a reconnect) stops with exit status 2 without saying `offline`.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from contract import topics
from contract.mqtt_url import BrokerAddress
from contract.transport import ONLINE, Message, Transport

log = logging.getLogger(__name__)

CHECK_ENV = "HALLQ_CHECK_URL"
# s after a (re)connect: the retained record (delivered right after the SUBACK, before the connect
# listeners run) comes first, then we write ours. Short: two servers on one client id knock each
# other off every ~0.2 s (the reconnect backoff), and a claim that waits longer is never written.
CLAIM_DELAY = 0.05


@dataclass(frozen=True)
class Owner:
    host: str
    data: str
    pid: int
    since: str

    @classmethod
    def me(cls, data: str | Path) -> Owner:
        since = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        return cls(socket.gethostname(), str(Path(data).resolve()), os.getpid(), since)

    def same_server(self, other: Owner) -> bool:
        """The same hall (host and data folder): a restart of ours, not another server."""
        return (self.host, self.data) == (other.host, other.data)

    def payload(self) -> bytes:
        body = {"v": 1, "host": self.host, "data": self.data, "pid": self.pid, "since": self.since}
        return json.dumps(body, ensure_ascii=False).encode("utf-8")

    @classmethod
    def parse(cls, payload: bytes) -> Owner | None:
        try:
            body = json.loads(payload)
            return cls(str(body["host"]), str(body["data"]), int(body["pid"]), str(body["since"]))
        except (ValueError, KeyError, TypeError):
            return None

    def describe(self) -> str:
        return (
            f"host {self.host}, data folder {self.data}, pid {self.pid}, serving since {self.since}"
        )


@dataclass(frozen=True)
class Seen:
    """What a starting server found: the owner record and whether status/hall says online."""

    record: Owner | None
    online: bool


class CheckRefused(Exception):
    """The broker refused the check account (its password or ACL is missing)."""


def check_address(hall: BrokerAddress, env: dict[str, str]) -> BrokerAddress | None:
    """Where to read the owner record: the check account, else (a broker without accounts) the
    hall's own address; None when the hall has an account but there is no check account (an env
    file written before `hall-check` existed): connecting as `hall` would take the serving hall's
    session."""
    from contract.mqtt_url import parse_url

    url = env.get(CHECK_ENV, "").strip()
    if url:
        ca = hall.ca if url.startswith("mqtts") else None
        return parse_url(url, ca=ca, source=CHECK_ENV)
    return hall if hall.username is None else None


def read_owner(address: BrokerAddress, site: str, timeout: float = 5.0) -> Seen:
    """Connect (never as `hall`'s session), read the retained owner record and status/hall."""
    found: dict[str, bytes] = {}
    connected, acked = threading.Event(), threading.Event()
    refused: list[str] = []
    marker: list[int] = []

    def on_connect(client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        if rc.is_failure:
            refused.append(str(rc))
        connected.set()

    def on_subscribe(client: mqtt.Client, userdata: Any, mid: int, rcs: Any, props: Any) -> None:
        if marker and mid == marker[0]:
            acked.set()

    def on_message(client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        found[msg.topic] = bytes(msg.payload)

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"hall-check-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv311,
        reconnect_on_failure=False,
    )
    if address.username is not None:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        import ssl

        client.tls_set_context(ssl.create_default_context(cafile=address.ca))
    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    owner_topic, status_topic = topics.owner(site), topics.status(site, topics.HALL_CLIENT_ID)
    try:
        client.connect(address.host, address.port, keepalive=30)
    except OSError as exc:
        raise ConnectionError(f"cannot reach the broker {address.redacted()}: {exc}") from exc
    client.loop_start()
    try:
        if not connected.wait(timeout):
            raise ConnectionError(f"no answer from the broker {address.redacted()}")
        if refused:
            raise CheckRefused(
                f"the broker refused {address.username or 'an anonymous'}: {refused[0]}"
            )
        client.subscribe([(owner_topic, 1), (status_topic, 1)])
        # The retained messages of that subscription come before the SUBACK of the next one.
        _, mid = client.subscribe(owner_topic, qos=1)
        marker.append(mid if mid is not None else -1)
        if not acked.wait(timeout):
            raise ConnectionError(f"the broker {address.redacted()} did not answer a subscription")
    finally:
        client.disconnect()
        client.loop_stop()
    record = Owner.parse(found[owner_topic]) if found.get(owner_topic) else None
    return Seen(record, found.get(status_topic) == ONLINE)


def refusal(me: Owner, seen: Seen) -> str | None:
    """Why this server must not start, or None."""
    if not seen.online or seen.record is None or seen.record.same_server(me):
        return None
    return (
        f"another hall server serves this site: {seen.record.describe()}. Stop it first "
        "(two servers would both issue tickets and knock each other off the broker). If it no "
        "longer runs, clear its record: mosquitto_pub -r -n -t "
        f"'{topics.ROOT}/SITE/owner' (as the hall account)"
    )


class OwnerGuard:
    """Writes this server's owner record once connected, and calls `on_lost` with the other server
    when another one takes the site (its record arrives after ours, or is there at a reconnect)."""

    def __init__(
        self,
        transport: Transport,
        site: str,
        me: Owner,
        at_check: Owner | None,
        checked: bool,
        on_lost: Callable[[Owner], None],
    ) -> None:
        self.transport, self.site, self.me = transport, site, me
        self.at_check = at_check  # the record seen by the check (its server was offline)
        self.checked = checked  # False: no check was made, the first record found is the last owner
        self.on_lost = on_lost
        self.topic = topics.owner(site)
        self._lock = threading.Lock()
        self._connection = 0
        self._heard: set[int] = set()  # connections on which a record arrived
        self._written = False
        self._holding = False  # our own record came back from the broker
        self._lost = False

    def install(self) -> None:
        self.transport.subscribe(self.topic, self._on_record, qos=1)
        self.transport.add_connect_listener(self._on_connect)

    @property
    def holding(self) -> bool:
        return self._holding

    def _on_connect(self) -> None:
        with self._lock:
            self._connection += 1
            connection = self._connection
        timer = threading.Timer(CLAIM_DELAY, self._claim, args=(connection,))
        timer.daemon = True
        timer.start()

    def _claim(self, connection: int) -> None:
        with self._lock:
            if self._lost or connection != self._connection:
                return
            if self._written and connection in self._heard:
                return  # the retained record was ours: nothing to write again
            self._written = True
        self.transport.publish(self.topic, self.me.payload(), qos=1, retain=True)

    def _on_record(self, message: Message) -> None:
        other = Owner.parse(message.payload) if message.payload else None
        with self._lock:
            self._heard.add(self._connection)
            if self._lost or other is None:
                return
            if other == self.me:
                self._holding = True
                return
            if self._holding or (
                not self._written
                and self.checked
                and other != self.at_check
                and not other.same_server(self.me)
            ):
                self._lost = True
            elif not self._written and other.same_server(self.me):
                return  # our own earlier run: ours replaces it
            else:
                return  # earlier than ours (ours is on its way), or the one the check saw
        log.error("hall %s: another hall server took the site: %s", self.site, other.describe())
        self.on_lost(other)
