"""Where the broker is: `mqtt://user:password@host:port` or `mqtts://...`, from the config or the environment.

`HALLQ_MQTT_URL` overrides the config's `[broker] url`, `HALLQ_MQTT_CA` its `ca`. Every error says what
is wrong and what to write instead; a password never appears in a message or a log line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

URL_ENV = "HALLQ_MQTT_URL"
CA_ENV = "HALLQ_MQTT_CA"
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
EXAMPLE = "mqtt://user:password@127.0.0.1:1883"


class BrokerSettings(Protocol):
    """Where a config names the broker (the hall config's `[broker]` section has these fields)."""

    @property
    def url(self) -> str: ...

    @property
    def ca(self) -> str | None: ...

    @property
    def keepalive(self) -> int: ...


class BrokerUrlError(ValueError):
    """A broker address that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None
    ca: str | None = None  # the CA file to trust (TLS); None: the system's trust store
    keepalive: int = 30

    def redacted(self) -> str:
        """The address for logs: the password is never written anywhere."""
        user = (
            f"{self.username}:***@"
            if self.password
            else (f"{self.username}@" if self.username else "")
        )
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def parse_url(
    url: str, ca: str | None = None, keepalive: int = 30, source: str = "url"
) -> BrokerAddress:
    """Parse `mqtt://[user[:password]@]host[:port]` or `mqtts://...`; `source` names where it came from."""
    text = url.strip()
    if not text:
        raise BrokerUrlError(f"{source}: empty broker URL: write one like {EXAMPLE}")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise BrokerUrlError(
            f"{source}: bad broker URL ({exc}): write one like {EXAMPLE}"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise BrokerUrlError(
            f"{source}: broker URL must start with mqtt:// or mqtts://, got {scheme or 'no scheme'!r}"
            f": write one like {EXAMPLE}"
        )
    if not parts.hostname:
        raise BrokerUrlError(f"{source}: broker URL names no host: write one like {EXAMPLE}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BrokerUrlError(
            f"{source}: broker URL must be only scheme, credentials, host and port: drop "
            f"{(parts.path + ('?' + parts.query if parts.query else '')).strip('/')!r}"
        )
    if port == 0:
        raise BrokerUrlError(f"{source}: broker port 0 is not a port: use 1883 or 8883")
    tls = scheme == "mqtts"
    if ca is not None and not tls:
        raise BrokerUrlError(
            f"{source}: a CA file is given but the URL is mqtt:// (no TLS): use mqtts:// or drop the CA"
        )
    if ca is not None and not Path(ca).is_file():
        raise BrokerUrlError(
            f"{source}: the CA file {ca!r} does not exist: give the path of a PEM file"
        )
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if username == "":
        username = None
    if password is not None and username is None:
        raise BrokerUrlError(f"{source}: broker URL has a password but no user name")
    return BrokerAddress(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[scheme],
        tls=tls,
        username=username,
        password=password,
        ca=ca,
        keepalive=keepalive,
    )


def broker_address(
    broker: BrokerSettings, environ: Mapping[str, str] | None = None
) -> BrokerAddress:
    """The broker to use: the config's `[broker]`, with HALLQ_MQTT_URL / HALLQ_MQTT_CA overriding it."""
    env = os.environ if environ is None else environ
    url = env.get(URL_ENV) or broker.url
    source = URL_ENV if env.get(URL_ENV) else "[broker] url"
    ca = env.get(CA_ENV) or broker.ca
    if env.get(CA_ENV):
        source = f"{source} with {CA_ENV}"
    return parse_url(url, ca=ca, keepalive=broker.keepalive, source=source)
