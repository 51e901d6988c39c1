"""Each device's settings topic: what the hall publishes (its own section, no secrets), when (at
start, again at each connect), and that a removed device's settings are cleared; and the `catalog`
carries the names devices show, never a keypad code or PIN hash."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract import topics
from contract.protocol import dumps
from contract.transport import LoopbackBroker, LoopbackTransport, Message
from hall.config.device_settings import settings_payload
from hall.config.schema import HallConfig, parse_config
from hall.service.service import HallService
from hall.store.clock import FixedClock
from hall.store.core import HallCore
from tests.fixtures.hall_server import wait_for
from tests.fixtures.halls import SITE, small_hall_data
from tests.hall.service.test_service import START


def hall_with_devices() -> HallConfig:
    data = small_hall_data()
    data["kiosks"][0]["printer"] = {"connector": "file", "target": "/dev/usb/lp0", "width_mm": 58}
    data["bridges"] = [
        {
            "id": "keypads",
            "kind": "keypad",
            "windows": ["w01", "w03"],
            "bus": {"port": "/dev/ttyUSB1", "keypads": [{"address": 5, "window": "w01"}]},
        },
        {
            "id": "led",
            "kind": "led",
            "windows": ["w01"],
            "bus": {"port": "/dev/ttyUSB0", "boards": [{"address": 1, "window": "w01"}]},
        },
    ]
    data["clerks"][2]["keypad_code"] = "0301"  # c0301, on w03's roster
    data["clerks"][3]["keypad_code"] = "0401"  # c0401: not on the keypad bridge's windows
    return parse_config(data, "test")


def every_payload(config: HallConfig) -> dict[str, dict[str, Any]]:
    return {
        device: settings_payload(config, device)
        for ids in config.devices().values()
        for device in ids
    }


def test_each_device_gets_its_own_section_and_the_halls_part() -> None:
    config = hall_with_devices()
    payloads = every_payload(config)
    kiosk = payloads["k1"]
    assert (kiosk["v"], kiosk["device"], kiosk["class"]) == (1, "k1", "kiosk")
    assert kiosk["settings"] == config.kiosks[0].model_dump(mode="json")
    assert kiosk["settings"]["printer"]["width_mm"] == 58
    assert kiosk["hall"] == {
        "site": SITE,
        "name": "测试大厅",
        "name_en": "Test hall",
        "tz": config.site.tz,
        "language": "zh",
        "ticket_url": None,
        "number_width": 3,
    }
    assert payloads["w03"]["class"] == "window" and payloads["w03"]["settings"]["no"] == 3
    assert payloads["led"]["settings"]["bus"]["boards"] == [{"address": 1, "window": "w01"}]
    assert {p["class"] for p in payloads.values()} == {
        "kiosk", "window", "evaluator", "display", "bridge", "operator"
    }  # fmt: skip


def test_no_pin_hash_anywhere_and_keypad_codes_only_to_the_keypad_bridge() -> None:
    config = hall_with_devices()
    for device, payload in every_payload(config).items():
        text = json.dumps(payload)
        assert "pin_hash" not in text and "pbkdf2" not in text, device
        if device != "keypads":
            assert "keypad_code" not in text and '"0101"' not in text, device
    clerks = settings_payload(config, "keypads")["settings"]["keypad_clerks"]
    # the clerks on the rosters of its windows (w01: c0101, c0201; w03: c0301) that have a code
    assert clerks == [
        {"id": "c0101", "keypad_code": "0101", "pin": True},
        {"id": "c0301", "keypad_code": "0301", "pin": False},
    ]


def test_a_windows_settings_say_which_clerks_of_its_roster_need_a_pin() -> None:
    config = hall_with_devices()
    # w01's roster: c0101 (with a PIN), c0201 (without); the terminal asks only c0101 for one.
    roster = settings_payload(config, "w01")["settings"]["roster"]
    assert roster == [{"id": "c0101", "pin": True}, {"id": "c0201", "pin": False}]


@pytest.fixture
def broker() -> LoopbackBroker:
    return LoopbackBroker()


@pytest.fixture
def service(broker: LoopbackBroker, tmp_path: Path) -> Iterator[HallService]:
    # settings left on the broker by an earlier config that had a kiosk `k9`
    gone = topics.device_settings(SITE, "k9")
    broker.publish(Message(gone, dumps({"v": 1, "device": "k9"}), True))
    config = hall_with_devices()
    core = HallCore(config, tmp_path / "data", FixedClock(START))
    transport = LoopbackTransport(broker, "hall", topics.status(SITE, "hall"))
    running = HallService(core, transport)
    running.start()
    yield running
    running.stop()
    core.close()


def test_published_retained_at_start_and_a_removed_devices_cleared(
    broker: LoopbackBroker, service: HallService
) -> None:
    config = service.config
    for ids in config.devices().values():
        for device in ids:
            topic = topics.device_settings(SITE, device)
            assert wait_for(lambda t=topic: t in broker.retained), device  # type: ignore[misc]
            assert json.loads(broker.retained[topic]) == settings_payload(config, device)
    assert topics.device_settings(SITE, "k9") not in broker.retained
    cleared = [m for m in broker.log if m.topic == topics.device_settings(SITE, "k9")]
    assert cleared[-1].payload == b"" and cleared[-1].retain


def test_published_again_after_a_reconnect(broker: LoopbackBroker, service: HallService) -> None:
    topic = topics.device_settings(SITE, "keypads")
    assert wait_for(lambda: topic in broker.retained)
    before = sum(m.topic == topic for m in broker.log)
    service.transport.stop()
    service.transport.start()
    assert wait_for(lambda: sum(m.topic == topic for m in broker.log) > before)


def test_catalog_has_the_names_and_no_secrets(broker: LoopbackBroker, service: HallService) -> None:
    assert wait_for(lambda: topics.catalog(SITE) in broker.retained)
    raw = broker.retained[topics.catalog(SITE)].decode()
    assert "keypad_code" not in raw and "pin_hash" not in raw and "pbkdf2" not in raw
    assert '"0101"' not in raw  # the keypad code (the clerk id is c0101)
    catalog = json.loads(raw)
    assert catalog["departments"][0] == {
        "code": "psb", "name_zh": "公安局", "name_en": "Public Security", "prefix": "A"
    }  # fmt: skip
    assert {s["code"]: s["name_zh"] for s in catalog["services"]}["tax-invoice"] == "发票领用"
    w01 = next(w for w in catalog["windows"] if w["id"] == "w01")
    assert (w01["no"], w01["name"], w01["services"][0]) == (1, "1号窗口", "psb-id-card")
    assert w01["roster"] == [{"id": "c0101", "name": "张伟"}, {"id": "c0201", "name": "王芳"}]
