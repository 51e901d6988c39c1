"""Faults over real links: each printer state gives the right state and message, a fault stops
the print before any byte of the ticket is sent, and nothing waits past its configured timeout."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from printer_helpers import names_of, ticket_of

from contract.settings.printer import PrinterConfig
from hall.config.schema import HallConfig
from hardware.emulators.printer import PrinterEmulator
from hardware.printer import (
    CoverOpen,
    PaperOut,
    PrinterError,
    PrinterFault,
    PrinterGarbled,
    PrinterOffline,
    PrinterSilent,
    PrinterState,
    PrintTimeout,
    TicketPrinter,
)
from hardware.printer.state import MESSAGES

TIMEOUT = 0.4  # the configured status timeout of these tests
SLACK = 0.5  # what a loaded 2-core CI machine may add

FAULTS: list[tuple[str, PrinterState, type[PrinterError], str]] = [
    ("paper_out", PrinterState.PAPER_OUT, PaperOut, "装入新纸卷"),
    ("cover_open", PrinterState.COVER_OPEN, CoverOpen, "合上纸仓盖"),
    ("offline", PrinterState.OFFLINE, PrinterOffline, "检查电源"),
    ("error", PrinterState.ERROR, PrinterFault, "卡纸"),
]


@pytest.fixture(params=["serial", "tcp"])
def rig(request: pytest.FixtureRequest) -> Iterator[tuple[PrinterEmulator, PrinterConfig]]:
    with PrinterEmulator(dots=512) as emulator:
        if request.param == "serial":
            target = emulator.attach_pty()
            config = PrinterConfig(connector="serial", target=target, timeout_s=TIMEOUT)
        else:
            port = emulator.attach_tcp()
            config = PrinterConfig(
                connector="network", target=f"127.0.0.1:{port}", timeout_s=TIMEOUT
            )
        yield emulator, config


def names(hall: HallConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    ticket = ticket_of(hall)
    return ticket, names_of(hall, ticket)


@pytest.mark.parametrize(("state", "expected", "error", "words"), FAULTS)
def test_fault_states(
    rig: tuple[PrinterEmulator, PrinterConfig],
    hall: HallConfig,
    state: str,
    expected: PrinterState,
    error: type[PrinterError],
    words: str,
) -> None:
    emulator, config = rig
    printer = TicketPrinter(config, device_id="k1")
    emulator.set_state(state)
    started = time.monotonic()
    report = printer.status()
    assert time.monotonic() - started < TIMEOUT + SLACK
    assert report.state == expected
    assert report.detail == MESSAGES[expected][1]
    assert printer.health()["state"] == expected.value
    ticket, kw = names(hall)
    started = time.monotonic()
    with pytest.raises(error) as caught:
        printer.print_ticket(ticket, **kw)
    assert time.monotonic() - started < TIMEOUT + SLACK
    assert caught.value.state == expected
    assert words in str(caught.value) and caught.value.device == "k1"
    time.sleep(0.1)
    assert emulator.decoder.raw == b"" and emulator.tickets == []  # not one byte of the ticket
    emulator.set_state("ready")  # the staff fixed it: the next ticket prints
    assert printer.print_ticket(ticket, **kw).after.state == PrinterState.READY
    assert len(emulator.wait_for_tickets(1, timeout=5)) == 1


def test_paper_near_end_still_prints(
    rig: tuple[PrinterEmulator, PrinterConfig], hall: HallConfig
) -> None:
    emulator, config = rig
    emulator.set_state("paper_near_end")
    printer = TicketPrinter(config)
    ticket, kw = names(hall)
    result = printer.print_ticket(ticket, **kw)
    assert result.before.state == result.after.state == PrinterState.PAPER_NEAR_END
    assert "new roll" in result.after.detail
    assert len(emulator.wait_for_tickets(1, timeout=5)) == 1


@pytest.mark.parametrize(
    ("state", "cause", "error"),
    [("silent", "silent", PrinterSilent), ("garbage", "garbled", PrinterGarbled)],
)
def test_silent_and_garbage_are_unknown_within_the_timeout(
    rig: tuple[PrinterEmulator, PrinterConfig],
    hall: HallConfig,
    state: str,
    cause: str,
    error: type[PrinterError],
) -> None:
    emulator, config = rig
    emulator.set_state(state)
    printer = TicketPrinter(config)
    started = time.monotonic()
    report = printer.status()
    assert time.monotonic() - started < TIMEOUT + SLACK
    assert report.state == PrinterState.UNKNOWN and report.cause == cause
    # A kiosk that must not print blind refuses, again within the timeout.
    strict = TicketPrinter(config.model_copy(update={"print_when_unknown": False}))
    ticket, kw = names(hall)
    started = time.monotonic()
    with pytest.raises(error) as caught:
        strict.print_ticket(ticket, **kw)
    assert time.monotonic() - started < TIMEOUT + SLACK
    assert caught.value.state == PrinterState.UNKNOWN
    assert "无法读取打印机状态" in str(caught.value)
    if state == "silent":
        # The default prints anyway (many printers never answer) and says the state is unknown.
        result = printer.print_ticket(ticket, **kw)
        assert result.after.state == PrinterState.UNKNOWN
        assert time.monotonic() - started < 3 * TIMEOUT + 2 * SLACK
    else:
        # Garbage means a wrong line (baud rate): the ticket would be garbage too. Never sent.
        with pytest.raises(PrinterGarbled):
            printer.print_ticket(ticket, **kw)
        assert emulator.tickets == [] and emulator.decoder.raw == b""


def test_paper_running_out_during_a_print(hall: HallConfig) -> None:
    with PrinterEmulator(dots=512, paper_tickets=1) as emulator:
        port = emulator.attach_tcp()
        config = PrinterConfig(connector="network", target=f"127.0.0.1:{port}", timeout_s=TIMEOUT)
        ticket, kw = names(hall)
        with pytest.raises(PaperOut) as caught:
            TicketPrinter(config).print_ticket(ticket, **kw)
        assert "reprint" in str(caught.value)


def test_nobody_listening_is_offline_at_once() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = PrinterConfig(connector="network", target=f"127.0.0.1:{port}", timeout_s=TIMEOUT)
    printer = TicketPrinter(config, device_id="k1")
    started = time.monotonic()
    report = printer.status()
    assert report.state == PrinterState.OFFLINE and report.cause == "unreachable"
    with pytest.raises(PrinterOffline):
        printer.print_bytes(b"x")
    assert time.monotonic() - started < 2 * TIMEOUT + SLACK


@pytest.mark.parametrize("connector", ["serial", "file"])
def test_a_missing_device_is_offline(connector: str) -> None:
    config = PrinterConfig(
        connector=connector, target="/dev/hallq-no-such-printer", timeout_s=TIMEOUT
    )
    if connector == "file":  # a missing node must not be created as a plain file under /dev
        config = config.model_copy(update={"target": "/nonexistent-dir/printer"})
    report = TicketPrinter(config).status()
    assert report.state == PrinterState.OFFLINE
    assert "cannot open" in report.detail


@pytest.mark.parametrize("connector", ["serial", "file"])
def test_a_stalled_link_times_out_the_write(connector: str) -> None:
    # A pty whose far end never reads: the kernel buffer fills and the write must give up.
    master, slave = os.openpty()
    try:
        import tty

        tty.setraw(slave)
        path = os.ttyname(slave)
        config = PrinterConfig(
            connector=connector, target=path, timeout_s=TIMEOUT, write_timeout_s=0.5
        )
        printer = TicketPrinter(config)
        started = time.monotonic()
        with pytest.raises((PrintTimeout, PrinterSilent)):
            printer.print_bytes(b"\x00" * 2_000_000)
        assert time.monotonic() - started < 0.5 + TIMEOUT + SLACK
    finally:
        os.close(master)
        os.close(slave)


def test_a_write_only_file_is_unknown_and_prints(tmp_path: Any) -> None:
    target = tmp_path / "ticket.bin"
    printer = TicketPrinter(PrinterConfig(connector="file", target=str(target), mode="native"))
    assert printer.status().cause == "write_only"
    result = printer.print_bytes(b"\x1b@hello\n")
    assert result.after.state == PrinterState.UNKNOWN
    assert target.read_bytes() == b"\x1b@hello\n"


def test_a_status_poll_never_interleaves_with_a_print(
    rig: tuple[PrinterEmulator, PrinterConfig], hall: HallConfig
) -> None:
    import threading

    emulator, config = rig
    printer = TicketPrinter(config)
    ticket, kw = names(hall)
    states: list[PrinterState] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            states.append(printer.status().state)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        for _ in range(3):
            assert printer.print_ticket(ticket, **kw).after.state == PrinterState.READY
    finally:
        stop.set()
        poller.join()
    assert len(emulator.wait_for_tickets(3, timeout=5)) == 3
    assert set(states) == {PrinterState.READY}
    assert emulator.decoder.unknown == []
