"""A bridge run from its settings topic (over the in-memory broker): built from the settings and
`catalog`, built again when either changes what it uses, stopped when the hall clears its settings."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from bridge_rig import hall_data

from contract import topics
from contract.client import HallClient
from contract.protocol import dumps
from contract.settings.follower import SettingsFollower, SettingsUnavailable
from contract.transport import LoopbackBroker, LoopbackTransport, Message
from hall.config.device_settings import names_catalog, settings_payload
from hall.config.schema import parse_config
from hardware.bridges.common import (
    BridgeSetup,
    HallLink,
    Health,
    run_generation,
    setup_from_settings,
)
from hardware.errors import ConfigurationError
from tests.fixtures.hall_server import wait_for
from tests.fixtures.halls import SITE

BUILT: list[BridgeSetup] = []  # the setup of each bridge built


class FakeBridge:
    def __init__(self, setup: BridgeSetup, hall: HallLink) -> None:
        self.setup = setup
        self.health = Health(hall.publish_health)
        BUILT.append(setup)

    def start(self) -> None:
        self.health.update("ok", {})

    def stop(self) -> None:
        pass


def retain(broker: LoopbackBroker, topic: str, value: dict[str, Any] | None) -> None:
    broker.publish(Message(topic, dumps(value) if value is not None else b"", True))


def test_built_from_settings_again_on_a_change_and_stopped_when_cleared(tmp_path: Path) -> None:
    config = parse_config(hall_data(tmp_path, "mqtt://127.0.0.1:1883"), "test")
    broker = LoopbackBroker()
    settings_topic = topics.device_settings(SITE, "keypads")
    retain(broker, settings_topic, settings_payload(config, "keypads"))
    catalog = names_catalog(config)
    retain(broker, topics.catalog(SITE), catalog)
    transport = LoopbackTransport(broker, "keypads", topics.status(SITE, "keypads"))
    client = HallClient(transport, SITE, "bridge", "keypads")
    transport.start()
    BUILT.clear()
    stopped = threading.Event()
    outcome: list[BaseException | None] = []

    def generation() -> None:
        follower = SettingsFollower(SITE, "keypads", tmp_path / "cache")
        try:
            run_generation(client, follower, 1.0, "keypad", FakeBridge, stopped)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    run = threading.Thread(target=generation)
    run.start()
    assert wait_for(lambda: len(BUILT) == 1, 5)
    first = BUILT[0]
    assert first.windows == ["w01", "w02"] and first.window("w01").prefix == "A"
    assert first.clerks_by_code == {"0101": ("c0101", True)}
    # the same catalog again (a reconnect) changes nothing; a window renamed does
    retain(broker, topics.catalog(SITE), catalog)
    renamed = {**catalog, "windows": [{**w, "name": "新窗口"} for w in catalog["windows"]]}
    retain(broker, topics.catalog(SITE), renamed)
    run.join(5)
    assert outcome == [None] and not run.is_alive()

    run = threading.Thread(target=generation)
    run.start()
    assert wait_for(lambda: len(BUILT) == 2, 5)
    assert BUILT[1].window("w01").name == "新窗口"
    retain(broker, settings_topic, None)  # the bridge was removed from the hall config
    run.join(5)
    assert isinstance(outcome[-1], SettingsUnavailable)
    assert "removed from the hall config" in str(outcome[-1])
    transport.stop()


def test_a_bridge_of_the_other_kind_is_refused(tmp_path: Path) -> None:
    config = parse_config(hall_data(tmp_path, "mqtt://127.0.0.1:1883"), "test")
    payload = settings_payload(config, "keypads")
    follower = SettingsFollower(SITE, "keypads", tmp_path)
    follower.settings.on_message(topics.device_settings(SITE, "keypads"), payload)
    with pytest.raises(ConfigurationError, match="run `hallq keypad-bridge`"):
        setup_from_settings(follower.wait(0), None, "led")
