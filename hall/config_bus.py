"""The `bus` section of a hardware bridge in the hall config (its owner: hardware/led, hardware/keypad).

Pure data: the hall server validates it without importing pyserial.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class BusConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    port: str = Field(min_length=1)  # a serial device, or a pseudo-terminal's link
    baudrate: int = 9600
