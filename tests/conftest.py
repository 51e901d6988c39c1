"""Shared pytest set-up: hypothesis profiles and the real-broker fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.fixtures.broker import Broker, running_broker

# `ci` keeps the suite fast on a 2-core machine; `dev` explores more; `HYPOTHESIS_PROFILE` picks.
settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Kivy and python-escpos read these at import; set them before any test imports either.
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_FILELOG", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A fresh anonymous Mosquitto on a free loopback port, for one test."""
    with running_broker(tmp_path / "broker") as running:
        yield running


@pytest.fixture(scope="module")
def module_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """One Mosquitto shared by the tests of a module."""
    with running_broker(tmp_path_factory.mktemp("broker")) as running:
        yield running
