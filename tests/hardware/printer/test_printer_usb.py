"""The USB connector without a physical printer: python-escpos's Usb connector and pyusb run
unchanged against a fake bus whose printer is the emulator."""

from __future__ import annotations

import time

from printer_helpers import names_of, ticket_of
from printer_usb_fake import FakeUsbPrinterBackend

from contract.settings.printer import PrinterConfig
from hall.config.schema import HallConfig
from hardware.emulators.printer import PrinterEmulator
from hardware.printer import PaperOut, PrinterOffline, PrinterState, TicketPrinter

VID, PID = 0x0416, 0x5011
CONFIG = PrinterConfig(connector="usb", target="0416:5011", mode="mixed", timeout_s=0.4)


def test_usb_print_and_status(hall: HallConfig) -> None:
    with PrinterEmulator(dots=512) as emulator:
        bus = FakeUsbPrinterBackend(VID, PID, emulator.feed)
        printer = TicketPrinter(CONFIG, device_id="k1", usb_backend=bus)
        assert printer.status().state == PrinterState.READY
        ticket = ticket_of(hall)
        result = printer.print_ticket(ticket, **names_of(hall, ticket))
        assert result.after.state == PrinterState.READY
        assert len(emulator.tickets) == 1
        # One status reading, then one before and one after the print, all over the bulk pipe.
        assert bus.written.count(b"\x10\x04\x01\x10\x04\x02\x10\x04\x04") == 3
        assert ticket["id"] in next(e.text for e in emulator.tickets[0].elements if e.kind == "qr")
        emulator.set_state("paper_out")
        assert printer.status().state == PrinterState.PAPER_OUT
        try:
            printer.print_ticket(ticket, **names_of(hall, ticket))
        except PaperOut:
            pass
        else:
            raise AssertionError("printed without paper")


def test_usb_silent_printer_is_unknown_within_the_timeout() -> None:
    with PrinterEmulator(dots=512, state="silent") as emulator:
        bus = FakeUsbPrinterBackend(VID, PID, emulator.feed)
        started = time.monotonic()
        report = TicketPrinter(CONFIG, usb_backend=bus).status()
        assert report.state == PrinterState.UNKNOWN and report.cause == "silent"
        assert time.monotonic() - started < 0.4 + 0.5


def test_usb_printer_unplugged_is_offline() -> None:
    bus = FakeUsbPrinterBackend(VID, PID, lambda data: b"", present=False)
    printer = TicketPrinter(CONFIG, usb_backend=bus)
    report = printer.status()
    assert report.state == PrinterState.OFFLINE and "0416:5011" in report.detail
    try:
        printer.print_bytes(b"x")
    except PrinterOffline as exc:
        assert "检查电源" in str(exc)
    else:
        raise AssertionError("printed to an unplugged printer")
