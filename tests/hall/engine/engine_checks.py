"""What the engine's tests share."""

from __future__ import annotations

from datetime import datetime

import pytest

from hall.engine.engine import Engine
from hall.engine.errors import HallError
from hall.engine.model import Command
from tests.fixtures.halls import MORNING


def refused(engine: Engine, command: Command, now: datetime = MORNING) -> str:
    """The error code `command` is refused with; a refusal must leave the state untouched."""
    before = engine.snapshot()
    with pytest.raises(HallError) as caught:
        engine.handle(command, now)
    assert engine.snapshot() == before, "a refused command must leave the state untouched"
    return caught.value.code
