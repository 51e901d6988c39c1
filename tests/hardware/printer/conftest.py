"""Fixtures of the printer tests: a hall to print from, emulators, the artifacts folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from printer_helpers import ARTIFACTS, FONT, example_hall

from hall.config.schema import HallConfig
from tests.fixtures.parts import missing


@pytest.fixture(scope="session")
def hall() -> HallConfig:
    return example_hall()


@pytest.fixture(autouse=True)
def _font() -> None:
    if not os.path.exists(FONT):
        missing("the CJK font wqy-microhei", "install the Debian package 'fonts-wqy-microhei'")


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def emulator() -> Iterator[Any]:
    from hardware.emulators.printer import PrinterEmulator

    with PrinterEmulator(dots=512) as emu:
        yield emu
