"""The `printer` section of a kiosk in the hall config (its owner: hardware/printer).

Pure data: the hall server validates it without importing python-escpos.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PrinterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    connector: Literal["usb", "serial", "network", "file"] = "file"
    target: str = ""  # USB "vid:pid", serial device, "host:port", or a file / device node
    width_mm: Literal[58, 80] = 80
    mode: Literal["raster", "native", "mixed"] = "raster"
    timeout_s: float = Field(default=2.0, gt=0, le=30)
