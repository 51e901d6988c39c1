"""The kiosk's `printer` section: defaults and the messages of a config that cannot work."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from contract.settings.printer import PrinterConfig


def test_defaults_by_width() -> None:
    assert PrinterConfig(target="/dev/usb/lp0").line_dots == 512
    narrow = PrinterConfig(target="/dev/usb/lp0", width_mm=58)
    assert narrow.line_dots == 384 and narrow.escpos_profile == "POS-5890"
    assert PrinterConfig(target="x", dots=576).line_dots == 576


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"connector": "usb", "target": "/dev/usb/lp0"}, "vid:pid"),
        ({"connector": "network", "target": ""}, "host:port"),
        ({"connector": "network", "target": "10.0.0.5:http"}, "host:port"),
        ({"connector": "serial", "target": ""}, "/dev/ttyUSB0"),
        ({"target": "x", "encoding": "latin-1"}, "gb18030"),
        ({"target": "x", "width_mm": 76}, "58"),
        ({"target": "x", "mode": "pdf"}, "raster"),
        ({"target": "x", "colour": True}, "Extra inputs"),
    ],
)
def test_bad_configs_say_what_to_fix(fields: dict[str, object], says: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PrinterConfig.model_validate(fields)
    assert says in str(caught.value)


def test_good_targets() -> None:
    assert PrinterConfig(connector="usb", target="0416:5011").target == "0416:5011"
    assert PrinterConfig(connector="network", target="192.168.1.50").target == "192.168.1.50"
    assert PrinterConfig(connector="network", target="127.0.0.1:9100").connector == "network"
    assert PrinterConfig(target="x", encoding="GB-18030").encoding == "gb18030"


def test_the_profile_follows_the_dots() -> None:
    assert PrinterConfig(target="x", width_mm=58).escpos_profile == "POS-5890"
    assert PrinterConfig(target="x").escpos_profile == "TM-T88V"
    assert PrinterConfig(target="x", dots=576).escpos_profile == "TM-T20II"
    assert PrinterConfig(target="x", profile="TM-P80").escpos_profile == "TM-P80"


def test_a_profile_that_cannot_work_says_so() -> None:
    from hardware.errors import ConfigurationError
    from hardware.printer.render import render_ticket

    ticket = {"id": "t", "number": "A1"}
    names = {"hall_name": "h", "department_name": "d", "service_name": "s"}
    for fields, says in (
        ({"profile": "NO-SUCH-PRINTER"}, "not a python-escpos profile"),
        ({"profile": "POS-5890", "dots": 512}, "wider than the profile"),
    ):
        config = PrinterConfig(target="x", mode="raster", **fields)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match=says):
            render_ticket(ticket, config=config, **names)
    wide = PrinterConfig(target="x", mode="raster", dots=576)
    assert render_ticket(ticket, config=wide, **names).dots == 576
