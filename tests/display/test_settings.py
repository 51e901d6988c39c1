"""A display's settings: from the hall's retained `device/{id}/settings` (a real Mosquitto), or from
a hall config file; the same dict either way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contract import topics
from contract.mqtt_url import parse_url
from contract.transport import PahoTransport
from display.app import settings_from_hall
from display.settings import from_config_file, from_settings_message
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import to_toml
from tests.fixtures.halls import SITE, small_hall_data

SECTION = {"id": "d7", "name": "二楼屏", "kind": "hall", "areas": ["2F"], "keepalive": 5,
           "pages": {"hall_seconds": 30, "sunshine_seconds": 10}}  # fmt: skip


def test_settings_arrive_retained_from_the_hall(broker: Broker) -> None:
    hall = PahoTransport(parse_url(broker.url), "test-hall")
    hall.start(wait=10)
    payload = {"v": 1, "device": "d7", "class": "display", "settings": SECTION}
    hall.publish(topics.device_settings(SITE, "d7"), json.dumps(payload), retain=True)
    hall.stop()
    settings = settings_from_hall(parse_url(broker.url), SITE, "d7")
    assert (settings.kind, settings.areas, settings.keepalive) == ("hall", ("2F",), 5)
    assert (settings.hall_seconds, settings.sunshine_seconds) == (30, 10)


def test_settings_meant_for_another_device_or_class_are_ignored() -> None:
    assert from_settings_message("d7", {"device": "d8", "class": "display", "settings": {}}) is None
    assert from_settings_message("d7", {"device": "d7", "class": "kiosk", "settings": {}}) is None
    with pytest.raises(ValueError, match="window = ID"):
        from_settings_message("d7", {"device": "d7", "class": "display",
                                     "settings": {"kind": "window"}})  # fmt: skip


def test_the_config_file_gives_the_same_settings(tmp_path: Path) -> None:
    data = small_hall_data()
    data["displays"] = [SECTION]
    path = tmp_path / "hall.toml"
    path.write_text(to_toml(data), "utf-8")
    settings, _ = from_config_file("d7", path)
    assert (settings.kind, settings.areas, settings.sunshine_seconds) == ("hall", ("2F",), 10)
    with pytest.raises(ValueError, match="no display 'd9'"):
        from_config_file("d9", path)
