"""How a board shows a text: the driver interface's vocabulary, shared by both LED protocols."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class DisplayMode(Enum):
    STEADY = "steady"
    FLASH = "flash"
    SCROLL = "scroll"


@dataclass(frozen=True)
class Shown:
    """What one board was told to show (text "" with mode None: cleared)."""

    address: int
    text: str
    mode: DisplayMode | None
