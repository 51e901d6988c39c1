"""The kiosk's outside world: the hall (through the contract's client), its printer and its voice.

`KioskDevice` implements the presenter's `KioskPort`. Nothing it does blocks the UI thread: requests
go through the client's `submit` (an `issue` journalled on disk before it is sent, resent under its
id until the hall answers or its deadline passes), printing and printer checks run on one printer
thread, speech on one voice thread. A ticket the hall issued goes to the printer at once, from the
client's thread, before the screen shows it. Every result comes back to the presenter through
`dispatch`, which the Kivy app makes hop onto its main loop (tests pass one that runs inline).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Protocol

from contract import topics
from contract.client import (
    ConnectionState,
    HallClient,
    RequestError,
    RequestFuture,
    RequestRefused,
    RequestTimeout,
)
from kiosk import heap

log = logging.getLogger(__name__)

Dispatch = Callable[[Callable[[], None]], None]
PRINTER_POLL = 5.0  # seconds between printer checks while idle (paper near end shows within this)
ISSUE_TIMEOUT = 20.0  # seconds a visitor waits at most: the issue's deadline on the hall's clock


class Printer(Protocol):
    """What the kiosk needs of hardware/printer's TicketPrinter (a fake in unit tests)."""

    @property
    def print_ticket(self) -> Callable[..., Any]: ...  # (ticket, *, hall_name=..., ...)

    def status(self) -> Any: ...  # asks the printer now (DLE EOT)

    def health(self, report: Any = None) -> dict[str, Any]: ...  # of `report`, else the last


class Speaker(Protocol):
    def say(self, phrase: str, lang: str, number: str = "") -> None: ...


class Presenter(Protocol):
    def on_issue_answer(
        self, ok: bool, result: Mapping[str, Any] | None, code: str = ""
    ) -> None: ...

    def on_print_result(self, ticket_id: str, ok: bool) -> None: ...

    def on_printer(self, state: str) -> None: ...

    def on_help_answer(self, ok: bool) -> None: ...


class _Worker:
    """One daemon thread that runs jobs in order: the printer's, or the voice's."""

    def __init__(self, name: str) -> None:
        self.jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def put(self, job: Callable[[], None]) -> None:
        self.jobs.put(job)

    def stop(self) -> None:
        self.jobs.put(None)

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            try:
                job()
            except Exception:  # one failed job never stops the kiosk
                log.exception("%s: job failed", threading.current_thread().name)


class KioskDevice:
    def __init__(
        self,
        client: HallClient,
        presenter: Presenter,
        dispatch: Dispatch,
        printer: Printer | None,
        speaker: Speaker | None = None,
        ticket_url: str | None = None,
        printer_poll: float = PRINTER_POLL,
        language: str = "zh",
    ) -> None:
        self.client = client
        self.printer_poll = printer_poll
        self.language = language  # the hall's: a resumed ticket prints in it
        self.presenter = presenter
        self.dispatch = dispatch
        self.printer = printer
        self.speaker = speaker
        self.ticket_url = ticket_url
        self.catalog: dict[str, Any] = {}
        self._printer_thread = _Worker("kiosk-printer")
        self._voice_thread = _Worker("kiosk-voice")
        self._printer_state = "unknown"
        self._last_poll = 0.0
        self._printed: set[str] = set()  # tickets handed to the printer (each once; reprints apart)
        # A ticket the hall issued for a request of an earlier run of this kiosk (restarted while
        # it waited): printed and shown like any other.
        client.on_resumed_answer(self._issued)

    def stop(self) -> None:
        for worker in (self._printer_thread, self._voice_thread):
            worker.stop()

    # -- KioskPort
    def issue(
        self, service: str | None, category: str | None, appointment: str | None, lang: str
    ) -> None:
        fields: dict[str, Any] = {"lang": lang}
        if service is not None:
            fields["service"] = service
        if category is not None:
            fields["priority"], fields["category"] = "priority", category
        if appointment is not None:
            fields["appointment"] = appointment
        self.client.submit("issue", timeout=ISSUE_TIMEOUT, **fields).add_done_callback(
            partial(self._issued, lang=lang)
        )

    def _issued(self, future: RequestFuture, lang: str = "") -> None:
        """The hall's answer to an issue (the client's thread): print first, then tell the screen."""
        try:
            result = future.result(0)
        except RequestRefused as exc:
            code = exc.code
            self.dispatch(lambda: self.presenter.on_issue_answer(False, None, code))
            return
        except RequestTimeout:
            # Past its deadline (and the way back): the hall refuses it `expired` from then on,
            # so no ticket can come of it. The visitor is told so.
            self.dispatch(lambda: self.presenter.on_issue_answer(False, None, "expired"))
            return
        except RequestError as exc:
            log.warning("issue: %s", exc)
            self.dispatch(lambda: self.presenter.on_issue_answer(False, None, "expired"))
            return
        ticket = result.get("ticket")
        if isinstance(ticket, dict):
            self.print_ticket(ticket, lang or self.language)
        self.dispatch(lambda: self.presenter.on_issue_answer(True, result, ""))

    def reprint(self, ticket_id: str) -> None:
        def answered(future: RequestFuture) -> None:
            try:
                ticket = future.result(0).get("ticket")
            except RequestError as exc:
                log.warning("reprint %s: %s", ticket_id, exc)
                return
            if isinstance(ticket, dict):
                self._printed.discard(ticket_id)  # a reprint prints again
                self.print_ticket(ticket, self.language)

        self.client.submit("reprint", ticket=ticket_id).add_done_callback(answered)

    def call_help(self) -> None:
        def answered(future: RequestFuture) -> None:
            try:
                ok = future.answer(0).get("ok") is True
            except RequestError:
                ok = False
            self.dispatch(lambda: self.presenter.on_help_answer(ok))

        self.client.submit("help", timeout=10.0).add_done_callback(answered)

    def print_ticket(self, ticket: Mapping[str, Any], lang: str) -> None:
        ticket_id = str(ticket.get("id"))
        if self.printer is None or ticket_id in self._printed:
            return  # no printer, or already on its way (printed when the answer came)
        self._printed.add(ticket_id)
        printer, ticket_copy = self.printer, dict(ticket)

        def job() -> None:
            from hardware.errors import HardwareError
            from hardware.printer.catalog import names_from_catalog

            names = names_from_catalog(
                self.catalog, ticket_copy, lang=lang, ticket_url=self.ticket_url
            )
            try:
                printer.print_ticket(ticket_copy, **names)
                ok = True
            except HardwareError as exc:
                log.warning("ticket %s not printed: %s", ticket_copy.get("id"), exc)
                ok = False
            # The ticket's raster, its bytes and Pillow's scratch are freed by now: their pages go
            # back at once, not at the next screen's collection.
            heap.trim()
            self._report_printer(ask=False)  # the print read the status before and after
            self.dispatch(lambda: self.presenter.on_print_result(ticket_id, ok))

        self._printer_thread.put(job)

    def speak(self, phrase: str, lang: str, number: str = "") -> None:
        if self.speaker is not None:
            speaker = self.speaker
            self._voice_thread.put(lambda: speaker.say(phrase, lang, number))

    # -- the printer, watched while idle
    def poll_printer(self) -> None:
        """Called from the UI's timer: queue a printer check every `printer_poll` seconds."""
        now = time.monotonic()
        if self.printer is None or now - self._last_poll < self.printer_poll:
            return
        self._last_poll = now
        self._printer_thread.put(self._report_printer)

    def _report_printer(self, ask: bool = True) -> None:
        if self.printer is None:
            return
        health = self.printer.health(self.printer.status() if ask else None)
        state = str(health.get("state", "unknown"))
        if state != self._printer_state:
            self._printer_state = state
            try:
                self.client.publish_health(state, health.get("detail"))
            except Exception:  # the broker may be away: the next change reports again
                log.warning("printer health %s not published (no broker)", state)
        self.dispatch(lambda: self.presenter.on_printer(state))

    # -- the hall
    def subscribe(
        self,
        on_catalog: Callable[[dict[str, Any]], None],
        on_queues: Callable[[dict[str, Any]], None],
        on_link: Callable[[bool, bool], None],
    ) -> None:
        """The retained `catalog` and `queues`, and the state of the link and of the hall."""
        site = self.client.site

        def catalog(_topic: str, value: dict[str, Any] | None) -> None:
            if value:
                self.catalog = value
                self.dispatch(lambda: on_catalog(value))

        def queues(_topic: str, value: dict[str, Any] | None) -> None:
            if value:
                self.dispatch(lambda: on_queues(value))

        def link(state: ConnectionState) -> None:
            connected, online = state.link == "connected", state.hall == "online"
            self.dispatch(lambda: on_link(connected, online))

        self.client.subscribe_json(topics.catalog(site), catalog)
        self.client.subscribe_json(topics.queues(site), queues)
        self.client.add_state_listener(link)
