"""The `printer` section of a kiosk in the hall config (its owner: hardware/printer; in the contract
because the kiosk reads it from its settings topic).

Pure data: the hall server validates it without importing python-escpos. Example::

    [kiosks.printer]
    connector = "serial"          # usb | serial | network | file
    target = "/dev/ttyUSB0"       # see `target` below
    width_mm = 80                 # 58 or 80
    mode = "mixed"                # raster | native | mixed
    encoding = "gb18030"          # what the printer's two-byte Chinese mode expects
"""

from __future__ import annotations

import codecs
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# The encodings a Chinese thermal printer's two-byte mode (FS &) is sold with.
Encoding = Literal["gb18030", "gbk", "gb2312", "big5"]


class PrinterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    connector: Literal["usb", "serial", "network", "file"] = "file"
    # usb: "vid:pid" in hex ("0416:5011"); serial: a device ("/dev/ttyUSB0"); network: "host" or
    # "host:port" (port 9100 by default); file: a file or device node ("/dev/usb/lp0").
    target: str = ""
    width_mm: Literal[58, 80] = 80
    mode: Literal["raster", "native", "mixed"] = "raster"
    encoding: Encoding = "gb18030"
    # python-escpos profile; empty: by the dots, POS-5890 (384), TM-T88V (512), TM-T20II (576).
    profile: str = ""
    # Printable dots per line; 0: from the width (384 at 58 mm, 512 at 80 mm).
    dots: int = Field(default=0, ge=0, le=832)
    baudrate: int = Field(default=9600, ge=1200, le=921600)  # serial only
    usb_in_ep: int = Field(default=0x82, ge=0x81, le=0x8F)
    usb_out_ep: int = Field(default=0x01, ge=0x01, le=0x0F)
    # Connect and status answers: a printer that has not answered by then is `unknown`.
    timeout_s: float = Field(default=2.0, gt=0, le=30)
    # Sending one ticket: at 9600 baud a 20 KB raster ticket takes ~20 s.
    write_timeout_s: float = Field(default=60.0, gt=0, le=600)
    # Print when the printer cannot tell its state (write-only link, no DLE EOT support). A garbled
    # answer (wrong baud rate) never prints: the ticket would be garbage too.
    print_when_unknown: bool = True
    english: bool | None = None  # add English lines; none: when the hall or visitor uses English
    footer_zh: str = "请留意叫号，过号请重新取号"
    footer_en: str = "Please wait for your number to be called"
    cut: Literal["full", "partial", "none"] = "partial"

    @field_validator("encoding", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower().replace("-", "") if isinstance(value, str) else value

    @model_validator(mode="after")
    def _target_fits_connector(self) -> PrinterConfig:
        target = self.target
        if self.connector == "usb" and not re.fullmatch(r"[0-9a-fA-F]{4}:[0-9a-fA-F]{4}", target):
            raise ValueError(
                f"target {target!r}: a USB printer is named by 'vid:pid' in hex, e.g. '0416:5011' "
                "(see `lsusb`)"
            )
        if self.connector == "network":
            host, _, port = target.partition(":")
            if not host or (port and not (port.isdigit() and 0 < int(port) < 65536)):
                raise ValueError(
                    f"target {target!r}: a network printer is 'host' or 'host:port' (port 9100 "
                    "by default)"
                )
        if self.connector in ("serial", "file") and not target:
            raise ValueError(
                f"target: a {self.connector} printer needs a path, e.g. "
                + ("'/dev/ttyUSB0'" if self.connector == "serial" else "'/dev/usb/lp0'")
            )
        codecs.lookup(self.encoding)
        return self

    @property
    def line_dots(self) -> int:
        """Printable dots per line."""
        return self.dots or (384 if self.width_mm == 58 else 512)

    @property
    def escpos_profile(self) -> str:
        if self.profile:
            return self.profile
        dots = self.line_dots
        return "POS-5890" if dots <= 384 else "TM-T88V" if dots <= 512 else "TM-T20II"
