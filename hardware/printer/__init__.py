"""Ticket printing on ESC/POS thermal printers (python-escpos): layout, render modes, links, status.

The kiosk uses `TicketPrinter` (status + print) and `render_ticket` (bytes only); see
docs/printing.md.
"""

from hardware.printer.catalog import names_from_catalog
from hardware.printer.errors import (
    CoverOpen,
    PaperOut,
    PrinterError,
    PrinterFault,
    PrinterGarbled,
    PrinterOffline,
    PrinterSilent,
    PrintTimeout,
)
from hardware.printer.printer import PrintResult, TicketPrinter, read_status
from hardware.printer.render import RenderedTicket, render_ticket
from hardware.printer.state import ERROR_STATES, PrinterState, StatusReport

__all__ = [
    "ERROR_STATES",
    "CoverOpen",
    "PaperOut",
    "PrintResult",
    "PrintTimeout",
    "PrinterError",
    "PrinterFault",
    "PrinterGarbled",
    "PrinterOffline",
    "PrinterSilent",
    "PrinterState",
    "RenderedTicket",
    "StatusReport",
    "TicketPrinter",
    "names_from_catalog",
    "read_status",
    "render_ticket",
]
