"""What both bridges share: their setup (from the settings topic, or from a hall config for the demo),
their bus port, connecting as a `bridge` device, health, the CLI.

A bridge is one device of the contract (class `bridge`, its own status/{id} and device/{id}/health)
that acts for the windows its settings name: it reads their retained state and sends their requests.
A bridge machine needs only its env file of `hallq broker-config` and the hall CA certificate: its bus
and windows come from its retained `device/{id}/settings`, the windows' numbers, names and prefixes
from `catalog`, each kept on disk for a boot without the broker (contract/settings/follower.py).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from contract.device_env import DeviceEnvError, device_env
from contract.mqtt_url import BrokerAddress
from contract.settings.bus import BusConfig
from contract.settings.follower import DeviceSettings, SettingsFollower, SettingsUnavailable
from hardware.errors import ConfigurationError
from hardware.serial_port import ReconnectingPort

if TYPE_CHECKING:
    from contract.client import HallClient
    from hall.config.schema import HallConfig

log = logging.getLogger(__name__)

SETTINGS_WAIT = 10.0  # seconds a bridge waits for its retained settings before using its copy


class HallLink(Protocol):
    """The part of contract.client.HallClient a bridge uses (a fake in unit tests)."""

    def subscribe_json(
        self,
        topic_filter: str,
        callback: Callable[[str, dict[str, Any] | None], None],
        wait: float | None = None,
    ) -> object: ...

    def publish_health(self, state: str, detail: Any = None) -> None: ...

    def request_answer(
        self,
        op: str,
        *,
        timeout: float = ...,
        retries: int = ...,
        request_id: str | None = ...,
        device: tuple[str, str] | None = ...,
        **fields: Any,
    ) -> dict[str, Any]: ...


class RunningBridge(Protocol):
    """What run_cli needs of a bridge (KeypadBridge, LedBridge)."""

    @property
    def health(self) -> Health: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class WindowNames:
    """What a bridge shows of a window: from `catalog` (unknown windows: their id, no number)."""

    no: int
    name: str
    prefix: str  # the ticket prefix of the window's first service's department


@dataclass(frozen=True)
class BridgeSetup:
    """Everything a bridge runs from: its settings and the names of the hall's windows."""

    site: str
    bridge_id: str
    kind: str  # "led" or "keypad"
    windows: list[str]  # the windows it acts for
    bus: BusConfig
    names: Mapping[str, WindowNames] = field(default_factory=dict)  # every window of the hall
    number_width: int = 3
    tz: str = "Asia/Shanghai"
    clerks_by_code: Mapping[str, tuple[str, bool]] = field(default_factory=dict)

    def window(self, window_id: str) -> WindowNames:
        return self.names.get(window_id) or WindowNames(0, window_id, "")

    @property
    def windows_by_no(self) -> dict[int, str]:
        return {n.no: w for w, n in self.names.items() if n.no}


def unit_addresses(bus: BusConfig, kind: str) -> list[int]:
    """The bus addresses of the units a bridge of this kind drives: LED boards or keypads."""
    return sorted(u.address for u in (bus.boards if kind == "led" else bus.keypads))


def names_from_catalog(catalog: Mapping[str, Any] | None) -> dict[str, WindowNames]:
    """Each window's number, name and prefix from a `catalog` payload (none: no names)."""
    if not catalog:
        return {}
    prefixes = {d.get("code"): str(d.get("prefix", "")) for d in catalog.get("departments") or []}
    departments = {s.get("code"): s.get("department") for s in catalog.get("services") or []}
    names = {}
    for window in catalog.get("windows") or []:
        if not isinstance(window, Mapping) or not isinstance(window.get("id"), str):
            continue
        services = window.get("services") or []
        first = departments.get(services[0]) if services else None
        names[window["id"]] = WindowNames(
            no=int(window.get("no") or 0),
            name=str(window.get("name") or window["id"]),
            prefix=prefixes.get(first, ""),
        )
    return names


def setup_from_settings(
    settings: DeviceSettings, catalog: Mapping[str, Any] | None, kind: str
) -> BridgeSetup:
    """The bridge's setup from its settings topic and `catalog`; ConfigurationError says what to fix
    in the hall config."""
    section, bridge_id = settings.settings, settings.device
    if settings.device_class != "bridge":
        raise ConfigurationError(
            f"{bridge_id!r} is a {settings.device_class} of the hall config, not a bridge"
        )
    if section.get("kind") != kind:
        raise ConfigurationError(
            f"bridge {bridge_id!r} is a {section.get('kind')} bridge: run "
            f"`hallq {section.get('kind')}-bridge`"
        )
    if not section.get("bus"):
        raise ConfigurationError(
            f"bridge {bridge_id!r} has no [bridges.bus] section in the hall config: add one"
        )
    try:
        bus = BusConfig.model_validate(section["bus"])
    except ValidationError as exc:
        raise ConfigurationError(f"bridge {bridge_id!r}: its bus settings: {exc}") from None
    what = "boards" if kind == "led" else "keypads"
    if not unit_addresses(bus, kind):
        raise ConfigurationError(f"bridge {bridge_id!r}: bus.{what} is empty: list them")
    clerks = {
        str(c["keypad_code"]): (str(c["id"]), bool(c.get("pin")))
        for c in section.get("keypad_clerks") or []
    }
    return BridgeSetup(
        site=str(settings.hall.get("site") or ""),
        bridge_id=bridge_id,
        kind=kind,
        windows=list(section.get("windows") or ()),
        bus=bus,
        names=names_from_catalog(catalog),
        number_width=int(settings.hall.get("number_width") or 3),
        tz=settings.tz,
        clerks_by_code=clerks,
    )


def setup_from_config(config: HallConfig, bridge_id: str, kind: str) -> BridgeSetup:
    """The same setup from a hall config file (the demo, tests): what the hall would publish."""
    from hall.config.device_settings import names_catalog, settings_payload

    known = [b.id for b in config.bridges]
    if bridge_id not in known:
        raise ConfigurationError(
            f"no bridge {bridge_id!r} in the config (bridges: {', '.join(known) or 'none'})"
        )
    payload = settings_payload(config, bridge_id)
    settings = DeviceSettings(bridge_id, "bridge", payload["settings"], payload["hall"], "cache")
    return setup_from_settings(settings, names_catalog(config), kind)


def bus_port(
    setup: BridgeSetup,
    *,
    on_open: Callable[[], None],
    on_close: Callable[[], None],
    on_data: Callable[[bytes], None] | None = None,
    on_idle: Callable[[], None] | None = None,
) -> ReconnectingPort:
    """The bridge's serial bus, with the line settings and reopen period of its settings."""
    bus = setup.bus
    bytesize, parity, stopbits = bus.line()
    return ReconnectingPort(
        bus.port,
        baudrate=bus.baudrate,
        bytesize=bytesize,
        parity=parity,
        stopbits=stopbits,
        reopen_seconds=bus.reopen_seconds,
        name=f"{setup.bridge_id} {bus.port}",
        on_open=on_open,
        on_close=on_close,
        on_data=on_data,
        on_idle=on_idle,
    )


class Health:
    """device/{id}/health of a bridge: `ok` / `offline` for its bus, each unit by address in
    `detail`. Published when it changes (and again after each reconnect to the broker)."""

    def __init__(self, publish: Callable[[str, Any], None]) -> None:
        self._publish = publish
        self._lock = threading.Lock()
        self._last: tuple[str, dict[str, str]] | None = None

    def update(self, state: str, detail: Mapping[str, str], force: bool = False) -> None:
        current = (state, dict(detail))
        with self._lock:
            if current == self._last and not force:
                return
            self._last = current
        log.info("health %s %s", state, current[1])
        try:
            self._publish(state, current[1])
        except Exception:  # the broker may be away: paho keeps QoS 1, and a reconnect republishes
            log.exception("could not publish health")

    def republish(self) -> None:
        with self._lock:
            last = self._last
        if last is not None:
            self.update(last[0], last[1], force=True)


MakeBridge = Callable[[BridgeSetup, HallLink], RunningBridge]


def connect(address: BrokerAddress, site: str, bridge_id: str) -> HallClient:
    """Connect in the background as the `bridge` device (a bridge starts with the broker away)."""
    from contract.client import HallClient

    return HallClient.connect(address, site=site, device_class="bridge", device_id=bridge_id,
                              wait=None)  # fmt: skip


def start_bridge(client: HallClient, setup: BridgeSetup, make: MakeBridge) -> Callable[[], None]:
    """Start the bridge `make` builds on this link, following the hall's clock (its health is
    stamped with the hall's time); return what stops it (health `offline` last, so the hall sees
    it). The client stays open."""
    client.follow_clock(ZoneInfo(setup.tz))
    running = make(setup, client)
    client.transport.add_connect_listener(running.health.republish)
    running.start()

    def stop() -> None:
        running.stop()
        units = {str(a): "unknown" for a in unit_addresses(setup.bus, setup.kind)}
        client.publish_health("offline", units)

    return stop


def run_from_env(args: argparse.Namespace, kind: str, make: MakeBridge, stopped: threading.Event) -> int:  # fmt: skip
    """Run from the env file: settings and names from the broker (or the copies on disk), the
    bridge built again when they change; SettingsUnavailable once the hall config drops it."""
    env = device_env(Path(args.env) if args.env else None, args.id)
    cache = Path(args.cache) if args.cache else env.cache_dir
    while not stopped.is_set():
        client = connect(env.address, env.site, env.device_id)
        try:
            run_generation(client, SettingsFollower(env.site, env.device_id, cache), args.settings_wait, kind, make, stopped)  # fmt: skip
        finally:
            client.close()
    return 0


def run_generation(
    client: HallClient,
    follower: SettingsFollower,
    wait: float,
    kind: str,
    make: MakeBridge,
    stopped: threading.Event,
) -> None:
    """One bridge, from the settings and names at hand, until a signal or until they change."""
    follower.subscribe(client.subscribe_json)
    settings = follower.wait(wait)
    catalog = follower.wait_catalog(wait if settings.source == "broker" else 0)
    setup = setup_from_settings(settings, catalog, kind)
    log.info("%s: settings from the %s, names from %s", setup.bridge_id, settings.source,
             "the catalog" if catalog else "nowhere yet (window ids)")  # fmt: skip
    changed, removed = threading.Event(), threading.Event()

    def on_settings(value: dict[str, Any] | None) -> None:
        if value is None:
            removed.set()
        elif value["settings"] != settings.settings or value.get("hall") != settings.hall:
            changed.set()

    def on_catalog(value: dict[str, Any] | None) -> None:
        if value is not None and names_from_catalog(value) != dict(setup.names):
            changed.set()

    follower.settings.add_listener(on_settings)
    follower.catalog.add_listener(on_catalog)
    stop = start_bridge(client, setup, make)
    while not (stopped.is_set() or changed.is_set() or removed.is_set()):
        stopped.wait(0.2)
    stop()
    if removed.is_set():
        raise SettingsUnavailable(
            f"bridge {setup.bridge_id!r} was removed from the hall config (its settings were "
            "cleared): add it back, or stop this bridge"
        )
    if changed.is_set() and not stopped.is_set():
        log.info("%s: settings or names changed: starting again with them", setup.bridge_id)


def run_from_config(args: argparse.Namespace, kind: str, make: MakeBridge, stopped: threading.Event) -> int:  # fmt: skip
    """The demo's way: the bridge's section of a hall config file, the broker of its [broker]
    (HALLQ_MQTT_URL / HALLQ_MQTT_CA override it)."""
    from contract.mqtt_url import broker_address
    from hall.config.schema import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        raise ConfigurationError(str(exc)) from None
    setup = setup_from_config(config, args.id, kind)
    client = connect(broker_address(config.broker), config.site.id, args.id)
    try:
        stop = start_bridge(client, setup, make)
        stopped.wait()
        log.info("%s: stopping", args.id)
        stop()
    finally:
        client.close()
    return 0


def run_cli(argv: list[str], kind: str, make: MakeBridge) -> int:
    """`hallq {kind}-bridge --id ID [--env FILE]`: run the bridge `make` builds until a signal."""
    parser = argparse.ArgumentParser(
        prog=f"hallq {kind}-bridge",
        description=f"the {kind} bridge: serial bus <-> hall (MQTT). It starts from its env file "
        "of `hallq broker-config` (HALLQ_SITE, HALLQ_MQTT_URL, HALLQ_MQTT_CA, from the environment "
        "or --env) and takes its bus and windows from the hall's settings topic.",
    )
    parser.add_argument("--id", help="this bridge's id (default: HALLQ_DEVICE_ID)")
    parser.add_argument("--env", help="the bridge's env file of `hallq broker-config`")
    parser.add_argument(
        "--cache", help="where to keep the last settings and catalog (default: HALLQ_CACHE_DIR)"
    )
    parser.add_argument(
        "--settings-wait",
        type=float,
        default=SETTINGS_WAIT,
        help="seconds to wait for the settings from the broker before using the copy on disk",
    )
    parser.add_argument(
        "--config", help="read the bridge's section from this hall config instead (the demo)"
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    if args.config and not args.id:
        parser.error("--config needs --id")
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    run = run_from_config if args.config else run_from_env
    try:
        return run(args, kind, make, stopped)
    except (ConfigurationError, DeviceEnvError, SettingsUnavailable) as exc:
        print(f"hallq {kind}-bridge: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # a hall config that does not load (ConfigError), a bad broker URL
        print(f"hallq {kind}-bridge: {exc}", file=sys.stderr)
        return 2
