"""What a device machine starts from: its env file of `hallq broker-config`, nothing of the hall config.

    HALLQ_SITE=hall-1                      # the hall's site id: the topics' second level
    HALLQ_DEVICE_ID=led-1f                 # this device's id (its MQTT user name)
    HALLQ_DEVICE_CLASS=bridge              # kiosk, window, evaluator, display, bridge, operator
    HALLQ_MQTT_URL=mqtts://led-1f:…@hall-server:8883
    HALLQ_MQTT_CA=/etc/hallq/ca.crt        # the hall CA certificate, copied to the device

Everything else (its bus, printer, windows, the hall's names) the device gets from the hall: its
retained `device/{id}/settings` and `catalog`, kept on disk for a boot without the broker
(contract/settings/follower.py). The file is also the EnvironmentFile= of the device's systemd unit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from contract import topics
from contract.mqtt_url import CA_ENV, URL_ENV, BrokerAddress, parse_url

SITE_ENV = "HALLQ_SITE"
DEVICE_ID_ENV = "HALLQ_DEVICE_ID"
DEVICE_CLASS_ENV = "HALLQ_DEVICE_CLASS"
CACHE_ENV = "HALLQ_CACHE_DIR"  # where the device keeps its last settings and catalog
KEEPALIVE = 30


class DeviceEnvError(ValueError):
    """An env file or environment a device cannot start from; the message says what to do."""


def read_env_file(path: Path) -> dict[str, str]:
    """The KEY=VALUE lines of an env file `hallq broker-config` wrote (comments and blank lines
    skipped)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


@dataclass(frozen=True)
class DeviceEnv:
    site: str
    device_id: str
    device_class: str
    address: BrokerAddress
    cache_dir: Path


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    if environ.get(CACHE_ENV):
        return Path(environ[CACHE_ENV])
    state = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "hallq"


def device_env(
    env_file: Path | None = None,
    device_id: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> DeviceEnv:
    """The device's start-up values: from `env_file` if given, over the process environment."""
    values = dict(os.environ if environ is None else environ)
    where = "the environment"
    if env_file is not None:
        try:
            values.update(read_env_file(env_file))
        except OSError as exc:
            raise DeviceEnvError(
                f"{env_file}: cannot read the env file ({exc.strerror}): copy this device's "
                "env/<id>.env of `hallq broker-config` here"
            ) from None
        where = str(env_file)
    hint = "this device's env file of `hallq broker-config` sets these (--env FILE)"
    missing = [k for k in (SITE_ENV, URL_ENV) if not values.get(k)]
    if missing:
        raise DeviceEnvError(f"{where}: {' and '.join(missing)} not set: {hint}")
    site = values[SITE_ENV]
    named = values.get(DEVICE_ID_ENV)
    if device_id is not None and named and named != device_id:
        raise DeviceEnvError(
            f"{where}: {DEVICE_ID_ENV}={named} but --id {device_id}: use the env file of {device_id}"
        )
    device = device_id or named
    if not device:
        raise DeviceEnvError(f"{where}: {DEVICE_ID_ENV} not set and no --id given: {hint}")
    for value, what in ((site, SITE_ENV), (device, "the device id")):
        if not topics.ID_RE.match(value):
            raise DeviceEnvError(f"{where}: {what} {value!r} must match [a-z0-9][a-z0-9-]{{0,31}}")
    source = f"{URL_ENV} in {where}"
    address = parse_url(
        values[URL_ENV], ca=values.get(CA_ENV) or None, keepalive=KEEPALIVE, source=source
    )
    return DeviceEnv(
        site=site,
        device_id=device,
        device_class=values.get(DEVICE_CLASS_ENV, ""),
        address=address,
        cache_dir=default_cache_dir(values),
    )
