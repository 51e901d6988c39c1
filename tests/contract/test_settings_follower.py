"""A device's settings follower: the live copy, kept on disk (atomically) for a boot without the
broker; with neither, an error that says what to do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contract import topics
from contract.settings.follower import SettingsFollower, SettingsUnavailable

SITE = "testhall"


def payload(**settings: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "device": "led-1",
        "class": "bridge",
        "settings": {"id": "led-1", **settings},
        "hall": {"site": SITE, "tz": "Asia/Shanghai"},
    }


def test_live_settings_are_kept_on_disk_and_used_without_the_broker(tmp_path: Path) -> None:
    follower = SettingsFollower(SITE, "led-1", tmp_path)
    topic = topics.device_settings(SITE, "led-1")
    follower.settings.on_message(topic, payload(kind="led"))
    live = follower.wait(0)
    assert (live.source, live.device_class, live.settings["kind"]) == ("broker", "bridge", "led")
    assert json.loads((tmp_path / "led-1.settings.json").read_text()) == payload(kind="led")
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temporary file, then renamed
    # next boot, no broker: the copy on disk
    booted = SettingsFollower(SITE, "led-1", tmp_path).wait(0.05)
    assert (booted.source, booted.settings, booted.tz) == ("cache", live.settings, "Asia/Shanghai")


def test_neither_broker_nor_copy_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(SettingsUnavailable, match="check that the broker is reachable"):
        SettingsFollower(SITE, "led-1", tmp_path).wait(0.05)


def test_payloads_for_another_device_or_version_are_ignored(tmp_path: Path) -> None:
    follower = SettingsFollower(SITE, "led-1", tmp_path)
    topic = topics.device_settings(SITE, "led-1")
    follower.settings.on_message(topic, {**payload(), "device": "led-2"})
    follower.settings.on_message(topic, {**payload(), "v": 2})
    assert not (tmp_path / "led-1.settings.json").exists()
    (tmp_path / "led-1.settings.json").write_text("{not json")
    with pytest.raises(SettingsUnavailable):
        follower.wait(0.05)  # a torn or foreign copy is no copy


def test_cleared_settings_remove_the_copy_and_tell_the_listener(tmp_path: Path) -> None:
    follower = SettingsFollower(SITE, "led-1", tmp_path)
    topic = topics.device_settings(SITE, "led-1")
    follower.settings.on_message(topic, payload())
    heard: list[dict[str, Any] | None] = []
    follower.settings.add_listener(heard.append)
    follower.settings.on_message(topic, payload())  # the same again (a reconnect): no news
    follower.settings.on_message(topic, None)  # the device was removed from the hall config
    assert heard == [None]
    assert not (tmp_path / "led-1.settings.json").exists()
    with pytest.raises(SettingsUnavailable):
        follower.wait(0)


def test_the_catalog_is_kept_too(tmp_path: Path) -> None:
    follower = SettingsFollower(SITE, "led-1", tmp_path)
    catalog = {"v": 1, "windows": [{"id": "w01", "no": 1, "name": "1号窗口"}]}
    follower.catalog.on_message(topics.catalog(SITE), catalog)
    assert SettingsFollower(SITE, "led-1", tmp_path).wait_catalog(0.01) == catalog
