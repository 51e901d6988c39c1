"""A kiosk machine holds only its env file: the printer and the green channel come from the hall's
settings topic, and from the copy on disk when the kiosk boots without the broker."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.app import connect
from kiosk.setup import KioskSetupError, setup_from_config
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import HallServer, to_toml
from tests.fixtures.halls import SITE, small_hall_data

pytestmark = pytest.mark.broker


@pytest.fixture
def config(broker: Broker, tmp_path: Path) -> Iterator[Path]:
    data = small_hall_data()
    data["broker"] = {"url": broker.url}
    data["kiosks"][1]["printer"] = {"connector": "file", "target": str(tmp_path / "lp0")}
    path = tmp_path / "hall.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    server = HallServer(broker.url, SITE, path, tmp_path / "data", tmp_path / "hall.log")
    server.start()
    try:
        yield path
    finally:
        server.close()


def test_settings_from_the_hall_then_from_the_copy_without_the_broker(
    config: Path, broker: Broker, tmp_path: Path
) -> None:
    env = tmp_path / "k2.env"
    env.write_text(
        f"HALLQ_SITE={SITE}\nHALLQ_DEVICE_ID=k2\nHALLQ_DEVICE_CLASS=kiosk\n"
        f"HALLQ_MQTT_URL={broker.url}\n",
        encoding="utf-8",
    )
    args = argparse.Namespace(config=None, env=str(env), id=None, cache=str(tmp_path / "cache"))
    setup, client = connect(args)
    client.close()
    assert (setup.kiosk_id, setup.site, setup.allow_priority, setup.source) == (
        "k2",
        SITE,
        True,
        "broker",
    )
    assert setup.printer is not None and setup.printer.target == str(tmp_path / "lp0")
    assert setup.languages == ("zh", "en")
    broker.stop()
    setup, client = connect(args)
    client.close()
    assert setup.source == "cache" and setup.printer is not None


def test_the_config_file_gives_the_same_setup_as_the_hall(config: Path) -> None:
    setup, _ = setup_from_config(config, "k2")
    assert setup.allow_priority and setup.printer is not None and setup.source == "config"
    with pytest.raises(KioskSetupError, match="no kiosk 'k9'"):
        setup_from_config(config, "k9")
