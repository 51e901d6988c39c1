"""What both bridges share: finding their config, their bus port, connecting as a `bridge` device,
health, the CLI.

A bridge is one device of the contract (class `bridge`, its own status/{id} and device/{id}/health)
that acts for the windows in its config: it reads their retained state and sends their requests.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any, Protocol

from hall.config import Bridge, ConfigError, HallConfig, load_config
from hall.config_bus import BusConfig
from hardware.errors import ConfigurationError
from hardware.serial_port import ReconnectingPort

log = logging.getLogger(__name__)


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


def unit_addresses(bus: BusConfig, kind: str) -> list[int]:
    """The bus addresses of the units a bridge of this kind drives: LED boards or keypads."""
    return sorted(u.address for u in (bus.boards if kind == "led" else bus.keypads))


def find_bridge(config: HallConfig, bridge_id: str, kind: str) -> tuple[Bridge, BusConfig]:
    """The bridge's section and its bus, checked against what this bridge needs."""
    for bridge in config.bridges:
        if bridge.id == bridge_id:
            break
    else:
        known = ", ".join(b.id for b in config.bridges) or "none"
        raise ConfigurationError(f"no bridge {bridge_id!r} in the config (bridges: {known})")
    if bridge.kind != kind:
        raise ConfigurationError(
            f"bridge {bridge_id!r} is a {bridge.kind} bridge: run `hallq {bridge.kind}-bridge`"
        )
    if bridge.bus is None:
        raise ConfigurationError(f"bridge {bridge_id!r} has no [bridges.bus] section: add one")
    what = "boards" if kind == "led" else "keypads"
    if not unit_addresses(bridge.bus, kind):
        raise ConfigurationError(f"bridge {bridge_id!r}: bus.{what} is empty: list them")
    # That each unit's window is one of the bridge's is checked when the config loads.
    return bridge, bridge.bus


def bus_port(
    bus: BusConfig,
    bridge_id: str,
    *,
    on_open: Callable[[], None],
    on_close: Callable[[], None],
    on_data: Callable[[bytes], None] | None = None,
    on_idle: Callable[[], None] | None = None,
) -> ReconnectingPort:
    """The bridge's serial bus, with the line settings and reopen period of its config."""
    bytesize, parity, stopbits = bus.line()
    return ReconnectingPort(
        bus.port,
        baudrate=bus.baudrate,
        bytesize=bytesize,
        parity=parity,
        stopbits=stopbits,
        reopen_seconds=bus.reopen_seconds,
        name=f"{bridge_id} {bus.port}",
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


MakeBridge = Callable[[HallConfig, Bridge, BusConfig, HallLink], RunningBridge]


def connect_and_start(
    config: HallConfig, bridge: Bridge, bus: BusConfig, kind: str, make: MakeBridge
) -> Callable[[], None]:
    """Connect to the hall as the `bridge` device acting for the bridge's windows, start the bridge
    made on that link, and return what stops both (health `offline` last, so the hall sees it)."""
    from contract.client import HallClient
    from contract.mqtt_url import broker_address

    client = HallClient.connect(
        broker_address(config.broker),
        site=config.site.id,
        device_class="bridge",
        device_id=bridge.id,
        acts_for=[("window", w) for w in bridge.windows],
        wait=None,
    )
    running = make(config, bridge, bus, client)
    client.transport.add_connect_listener(running.health.republish)
    running.start()

    def stop() -> None:
        running.stop()
        client.publish_health("offline", {str(a): "unknown" for a in unit_addresses(bus, kind)})
        client.close()

    return stop


def run_cli(argv: list[str], kind: str, make: MakeBridge) -> int:
    """`hallq {kind}-bridge --config FILE --id ID`: run the bridge `make` builds until a signal."""
    parser = argparse.ArgumentParser(
        prog=f"hallq {kind}-bridge",
        description=f"the {kind} bridge: serial bus <-> hall (MQTT)",
    )
    parser.add_argument("--config", required=True, help="the hall config (TOML)")
    parser.add_argument("--id", required=True, help="this bridge's id in the config")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = load_config(args.config)
        bridge, bus = find_bridge(config, args.id, kind)
    except (ConfigError, ConfigurationError) as exc:
        print(f"hallq {kind}-bridge: {exc}", file=sys.stderr)
        return 2
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stop = connect_and_start(config, bridge, bus, kind, make)
    stopped.wait()
    log.info("%s: stopping", bridge.id)
    stop()
    return 0
