"""Printer faults: the HardwareError family, one class per state that stops a print.

Each message tells a hall's staff what to do (Chinese, then English). `state` is what the kiosk
publishes on `device/{id}/health`.
"""

from __future__ import annotations

from hardware.errors import DeviceOffline, DeviceTimeout, HardwareError, ProtocolError
from hardware.printer.state import PrinterState, message


class PrinterError(HardwareError):
    """The ticket was not printed (or not completely). `state` says why."""

    state = PrinterState.ERROR

    def __init__(self, detail: str = "", *, device: str | None = None) -> None:
        text = message(self.state)
        super().__init__(f"{text}: {detail}" if detail else text, device=device)
        self.detail = detail


class PaperOut(PrinterError):
    state = PrinterState.PAPER_OUT


class CoverOpen(PrinterError):
    state = PrinterState.COVER_OPEN


class PrinterFault(PrinterError):
    """The printer reports an error of its own (jam, cutter, head too hot)."""

    state = PrinterState.ERROR


class PrinterOffline(PrinterError, DeviceOffline):
    """The printer says it is offline, or its port cannot be opened."""

    state = PrinterState.OFFLINE


class PrinterSilent(PrinterError, DeviceTimeout):
    """No status answer in time: the state is unknown (never assumed to be paper ok or out)."""

    state = PrinterState.UNKNOWN


class PrinterGarbled(PrinterError, ProtocolError):
    """The printer answered with bytes that are no status: wrong baud rate or protocol."""

    state = PrinterState.UNKNOWN


class PrintTimeout(PrinterError, DeviceTimeout):
    """The ticket's bytes could not be sent in time (flow control held, link stalled)."""

    state = PrinterState.UNKNOWN


ERROR_FOR_STATE: dict[PrinterState, type[PrinterError]] = {
    PrinterState.PAPER_OUT: PaperOut,
    PrinterState.COVER_OPEN: CoverOpen,
    PrinterState.OFFLINE: PrinterOffline,
    PrinterState.ERROR: PrinterFault,
    PrinterState.UNKNOWN: PrinterSilent,
}
