"""The kiosk's ticket printer: status before and after each print, the ticket's bytes between.

    printer = TicketPrinter(kiosk.printer, device_id=kiosk.id)
    report = printer.status()                  # -> StatusReport(state, detail): for device/{id}/health
    result = printer.print_ticket(ticket, hall_name=..., department_name=..., service_name=...)

A state in ERROR_STATES before the print raises its PrinterError (nothing is sent); one after it
raises too (the ticket may be incomplete: reprint). Every wait is bounded by the config's
`timeout_s` (status answers, connecting) and `write_timeout_s` (sending the ticket).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contract.settings.printer import PrinterConfig
from hardware.printer import commands as cmd
from hardware.printer.connectors import Link, make_link
from hardware.printer.errors import (
    ERROR_FOR_STATE,
    PrinterError,
    PrinterGarbled,
    PrinterOffline,
    PrinterSilent,
)
from hardware.printer.render import render_ticket
from hardware.printer.state import (
    ERROR_STATES,
    STATUS_QUERIES,
    PrinterState,
    StatusReport,
    decode_status,
    is_status_byte,
    message,
)

log = logging.getLogger(__name__)

STATUS_REQUEST = b"".join(cmd.status_request(n) for n in STATUS_QUERIES)


@dataclass(frozen=True)
class PrintResult:
    before: StatusReport
    after: StatusReport
    bytes_sent: int
    seconds: float  # render, send and both status readings


def read_status(link: Link, timeout: float) -> StatusReport:
    """Ask DLE EOT 1, 2 and 4 at once and decode what comes back within `timeout` seconds."""
    if not link.can_read:
        return StatusReport(
            PrinterState.UNKNOWN, "write-only link: the printer cannot tell", cause="write_only"
        )
    deadline = time.monotonic() + timeout
    link.discard_input()  # stale bytes from an earlier answer or line noise
    link.write(STATUS_REQUEST, max(timeout, 0.05))  # 9 bytes: never the slow part
    answer = link.read(len(STATUS_QUERIES), deadline)
    if answer and not all(is_status_byte(b) for b in answer):
        # Noise: take what else is on the line so the report shows it (briefly: not past the deadline).
        answer += link.read(16, min(deadline, time.monotonic() + 0.05))
    return decode_status(answer)


class TicketPrinter:
    def __init__(
        self,
        config: PrinterConfig,
        *,
        device_id: str | None = None,
        usb_backend: object | None = None,
        link_factory: Callable[[], Link] | None = None,
    ) -> None:
        self.config = config
        self.device_id = device_id
        self._make_link = link_factory or (lambda: make_link(config, usb_backend=usb_backend))
        self.last: StatusReport = StatusReport(PrinterState.UNKNOWN, "not read yet")
        # One conversation with the printer at a time: a status poll from a timer must not
        # interleave its queries with a ticket being sent.
        self._busy = threading.Lock()

    def _open(self) -> Link:
        link = self._make_link()
        link.open()
        return link

    def status(self) -> StatusReport:
        """The printer's state now; a printer that cannot be reached is `offline`."""
        with self._busy:
            return self._status()

    def _left(self, since: float) -> float:
        """What is left of `timeout_s` (connecting and the first answer share one deadline)."""
        return max(0.0, self.config.timeout_s - (time.monotonic() - since))

    def _status(self) -> StatusReport:
        since = time.monotonic()
        try:
            link = self._open()
        except PrinterOffline as exc:
            report = StatusReport(PrinterState.OFFLINE, exc.detail, cause="unreachable")
        else:
            try:
                report = read_status(link, self._left(since))
            except PrinterError as exc:
                report = StatusReport(exc.state, exc.detail, cause="unreachable")
            finally:
                link.close()
        self._remember(report)
        return report

    def _remember(self, report: StatusReport) -> None:
        if report.state != self.last.state:
            log.info(
                "printer %s: %s -> %s (%s)",
                self.device_id,
                self.last.state.value,
                report.state.value,
                report.detail,
            )
        self.last = report

    def _refuse(self, report: StatusReport, when: str) -> PrinterError:
        if report.state == PrinterState.UNKNOWN and report.cause == "garbled":
            return PrinterGarbled(f"{when}: {report.detail}", device=self.device_id)
        if report.state == PrinterState.UNKNOWN:
            return PrinterSilent(f"{when}: {report.detail}", device=self.device_id)
        error = ERROR_FOR_STATE[report.state]
        return error(when, device=self.device_id)

    def print_ticket(
        self,
        ticket: dict[str, Any],
        *,
        hall_name: str,
        department_name: str,
        service_name: str,
        lang: str = "zh",
        hall_name_en: str = "",
        department_name_en: str = "",
        service_name_en: str = "",
        ticket_url: str | None = None,
    ) -> PrintResult:
        """Render `ticket` (the contract's Ticket object, as the hall answered it) and print it,
        with the names the kiosk has from the hall's catalog; see render_ticket."""
        rendered = render_ticket(
            ticket,
            config=self.config,
            hall_name=hall_name,
            department_name=department_name,
            service_name=service_name,
            lang=lang,
            hall_name_en=hall_name_en,
            department_name_en=department_name_en,
            service_name_en=service_name_en,
            ticket_url=ticket_url,
        )
        return self.print_bytes(rendered.data, what=str(ticket.get("id")))

    def print_bytes(self, data: bytes, *, what: str = "") -> PrintResult:
        """Send ready-made ESC/POS bytes, with the status checks around them."""
        with self._busy:
            return self._print_bytes(data, what)

    def _print_bytes(self, data: bytes, what: str) -> PrintResult:
        started = time.perf_counter()
        since = time.monotonic()
        try:
            link = self._open()
        except PrinterOffline as exc:
            self._remember(StatusReport(PrinterState.OFFLINE, exc.detail, cause="unreachable"))
            raise
        try:
            before = read_status(link, self._left(since))
            self._remember(before)
            # A garbled answer means the line itself is wrong (baud rate, protocol): what we
            # sent would print as garbage too, so it never prints. Silence is common (printers
            # without DLE EOT): the config decides.
            blocked = (
                before.state in ERROR_STATES
                or before.cause == "garbled"
                or (before.state == PrinterState.UNKNOWN and not self.config.print_when_unknown)
            )
            if blocked:
                log.info("printer %s: not printing %s: %s", self.device_id, what, before.detail)
                raise self._refuse(before, "before printing")
            link.write(data, self.config.write_timeout_s)
            after = read_status(link, self.config.timeout_s)
            self._remember(after)
        finally:
            link.close()
        seconds = time.perf_counter() - started
        log.info(
            "printer %s: printed %s, %d bytes in %.3f s, %s",
            self.device_id,
            what,
            len(data),
            seconds,
            after.state.value,
        )
        if after.state in ERROR_STATES:
            raise self._refuse(after, "while printing: the ticket may be incomplete, reprint it")
        return PrintResult(before, after, len(data), seconds)

    def health(self, report: StatusReport | None = None) -> dict[str, Any]:
        """The `state` and `detail` fields of the contract's device/{id}/health payload."""
        report = report or self.last
        return {"state": report.state.value, "detail": f"{message(report.state)}; {report.detail}"}
