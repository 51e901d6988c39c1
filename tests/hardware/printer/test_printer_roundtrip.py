"""The round trip through real links: a ticket of the example hall goes through the production
connector (serial over a real pty, a device node that is a pty, TCP like a network printer), the
emulator draws it, zbarimg reads the QR code from the PNG, and the number's region has ink.
The PNGs are kept under artifacts/printer/."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from printer_helpers import names_of, ticket_of

from contract.settings.printer import PrinterConfig
from hall.config.schema import HallConfig
from hardware.emulators.printer import PrintedTicket, PrinterEmulator
from hardware.printer import PrinterState, TicketPrinter
from tests.fixtures.parts import require_program

MODES = ("raster", "native", "mixed")


def read_qr(path: Path) -> str:
    zbarimg = require_program("zbarimg", "zbar-tools")
    out = subprocess.run(
        [zbarimg, "--quiet", "--raw", str(path)], capture_output=True, text=True, timeout=30
    )
    return out.stdout.strip()


def number_region(ticket: PrintedTicket, number: str) -> tuple[int, int, int, int]:
    """Where the big number was printed: as text (native), or the tallest image that is not the
    QR code (mixed; raster, where each block of the ticket is a band of its own)."""
    for element in ticket.elements:
        if element.kind == "text" and element.text == number:
            assert element.scale[1] >= 3
            return element.box
    # A raster ticket's QR code is an image too: the only square one.
    images = [
        e
        for e in ticket.elements
        if e.kind == "image" and e.box[2] - e.box[0] > 1.5 * (e.box[3] - e.box[1])
    ]
    tallest = max(images, key=lambda e: e.box[3] - e.box[1])
    assert tallest.box[3] - tallest.box[1] >= 60, "the number is printed big"
    return tallest.box


def ink(image: Image.Image, box: tuple[int, int, int, int]) -> float:
    region = image.convert("L").crop(box)
    histogram = region.histogram()
    return sum(histogram[:128]) / max(1, region.width * region.height)


def check_printed(ticket: PrintedTicket, sent: dict[str, Any], expected_qr: str, png: Path) -> None:
    ticket.save(png)
    assert read_qr(png) == expected_qr
    box = number_region(ticket, sent["number"])
    qr_box = (
        next(e.box for e in ticket.elements if e.kind == "qr")
        if any(e.kind == "qr" for e in ticket.elements)
        else None
    )
    assert qr_box is None or box[3] <= qr_box[1], "the number is above the QR code"
    assert 0.05 < ink(ticket.image, box) < 0.8, f"the number's region is blank in {png}"


def link_config(kind: str, emulator: PrinterEmulator, **fields: Any) -> PrinterConfig:
    if kind == "serial":
        return PrinterConfig(connector="serial", target=emulator.pty_path or "", **fields)
    if kind == "node":
        return PrinterConfig(connector="file", target=emulator.pty_path or "", **fields)
    return PrinterConfig(connector="network", target=f"127.0.0.1:{emulator.tcp_port}", **fields)


@pytest.mark.parametrize("link", ["serial", "node", "tcp"])
@pytest.mark.parametrize("width", [58, 80])
def test_round_trip(link: str, width: int, hall: HallConfig, artifacts: Path) -> None:
    require_program("zbarimg", "zbar-tools")
    dots = 384 if width == 58 else 512
    with PrinterEmulator(dots=dots) as emulator:
        emulator.attach_pty() if link != "tcp" else emulator.attach_tcp()
        for i, mode in enumerate(MODES):
            config = link_config(link, emulator, mode=mode, width_mm=width, timeout_s=2.0)
            printer = TicketPrinter(config, device_id="k1")
            ticket = ticket_of(hall, service_index=i, seq=7 + i)
            lang = "en" if mode == "mixed" else "zh"
            result = printer.print_ticket(ticket, **names_of(hall, ticket, lang))
            assert result.before.state == PrinterState.READY
            assert result.after.state == PrinterState.READY
            printed = emulator.wait_for_tickets(i + 1, timeout=10)
            assert len(printed) == i + 1
            png = artifacts / f"{link}-{width}mm-{mode}.png"
            check_printed(printed[i], ticket, ticket["id"], png)


def test_round_trip_with_the_status_url(hall: HallConfig, artifacts: Path) -> None:
    require_program("zbarimg", "zbar-tools")
    site = hall.site.model_copy(update={"ticket_url": "https://hall.example.gov.cn/t"})
    hall = hall.model_copy(update={"site": site})
    ticket = ticket_of(hall)
    with PrinterEmulator(dots=512) as emulator:
        emulator.attach_tcp()
        for i, mode in enumerate(MODES):
            printer = TicketPrinter(link_config("tcp", emulator, mode=mode), device_id="k1")
            printer.print_ticket(ticket, **names_of(hall, ticket, "en"))
            printed = emulator.wait_for_tickets(i + 1, timeout=10)[i]
            url = f"https://hall.example.gov.cn/t/{ticket['id']}"
            check_printed(printed, ticket, url, artifacts / f"url-{mode}.png")
