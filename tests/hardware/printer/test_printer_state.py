"""Status bytes -> states. The bit layouts are Epson's (TM-T88III, TM-L60II technical references):
n=2 bit 2 cover open, bit 5 paper-end stop, bit 6 error; n=4 bits 2-3 (0C) near end, bits 5-6 (60)
paper out; bits 1 and 4 always on, 0 and 7 always off."""

from __future__ import annotations

import pytest

from hardware.errors import DeviceOffline, HardwareError
from hardware.printer.errors import (
    ERROR_FOR_STATE,
    CoverOpen,
    PaperOut,
    PrinterError,
    PrinterOffline,
)
from hardware.printer.state import (
    ERROR_STATES,
    MESSAGES,
    PrinterState,
    decode_status,
    is_status_byte,
    message,
)


@pytest.mark.parametrize(
    ("answer", "state"),
    [
        ("12 12 12", PrinterState.READY),
        ("12 12 1E", PrinterState.PAPER_NEAR_END),
        ("1A 32 7E", PrinterState.PAPER_OUT),
        ("12 12 72", PrinterState.PAPER_OUT),  # the end sensor alone
        ("1A 16 12", PrinterState.COVER_OPEN),
        ("1A 36 7E", PrinterState.COVER_OPEN),  # cover open wins: close it first
        ("1A 52 12", PrinterState.ERROR),
        ("1A 12 12", PrinterState.OFFLINE),
        ("1A 1A 12", PrinterState.OFFLINE),  # fed by the button: offline while it feeds
    ],
)
def test_decode(answer: str, state: PrinterState) -> None:
    report = decode_status(bytes.fromhex(answer))
    assert report.state == state
    assert report.detail == MESSAGES[state][1]


@pytest.mark.parametrize("answer", ["", "12", "12 12"])
def test_no_answer_is_unknown_never_paper_ok_nor_out(answer: str) -> None:
    report = decode_status(bytes.fromhex(answer))
    assert report.state == PrinterState.UNKNOWN
    assert report.cause == "silent"
    assert report.ok_to_print  # unknown is not an error state: the kiosk's config decides


@pytest.mark.parametrize("answer", ["A5 5A A5", "00 00 00", "FF 12 12", "12 12 12 12"])
def test_garbage_is_unknown_and_says_so(answer: str) -> None:
    report = decode_status(bytes.fromhex(answer))
    assert report.state == PrinterState.UNKNOWN
    assert report.cause == "garbled"
    assert "baud rate" in report.detail


def test_status_byte_pattern() -> None:
    assert is_status_byte(0x12) and is_status_byte(0x7E) and is_status_byte(0x1A)
    assert not is_status_byte(0x00) and not is_status_byte(0x13) and not is_status_byte(0x92)


def test_error_states_are_the_ones_that_stop_a_print() -> None:
    assert {
        PrinterState.PAPER_OUT,
        PrinterState.COVER_OPEN,
        PrinterState.OFFLINE,
        PrinterState.ERROR,
    } == ERROR_STATES
    assert set(ERROR_FOR_STATE) >= ERROR_STATES


def test_states_are_the_contracts_health_words() -> None:
    assert {s.value for s in PrinterState} == {
        "ready",
        "paper_near_end",
        "paper_out",
        "cover_open",
        "offline",
        "error",
        "unknown",
    }


def test_messages_tell_staff_what_to_do() -> None:
    assert "装入新纸卷" in message(PrinterState.PAPER_OUT)
    assert message(PrinterState.COVER_OPEN, "en") == "Printer cover open: close the paper cover"
    error = PaperOut("before printing", device="k1")
    assert isinstance(error, PrinterError) and isinstance(error, HardwareError)
    assert error.state == PrinterState.PAPER_OUT and error.device == "k1"
    assert "load a new roll" in str(error) and "before printing" in str(error)
    assert isinstance(PrinterOffline(), DeviceOffline)
    assert CoverOpen().recoverable
