"""The printer's state, as the contract's `device/{id}/health` names it, read from `DLE EOT`.

Real-time status (`DLE EOT n`, bytes `10 04 n`) is answered even while the printer is offline. Each
answer byte carries a fixed pattern (bits 1 and 4 on, bits 0 and 7 off: Epson's "identification of
send status"), which is how a garbled answer is told from a real one. The bits used:
n=1 printer: bit 3 offline. n=2 offline cause: bit 2 cover open, bit 5 stopped at paper end,
bit 6 error. n=4 roll sensor: bits 2-3 paper near end, bits 5-6 paper out.
No answer is `unknown`: never "paper ok", never "paper out".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PrinterState(StrEnum):
    READY = "ready"
    PAPER_NEAR_END = "paper_near_end"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    ERROR = "error"
    UNKNOWN = "unknown"


# States in which a ticket cannot be printed (OctoPrint style: predicates are built on the sets).
ERROR_STATES = frozenset(
    {PrinterState.PAPER_OUT, PrinterState.COVER_OPEN, PrinterState.OFFLINE, PrinterState.ERROR}
)
# States that still print but need staff soon.
WARNING_STATES = frozenset({PrinterState.PAPER_NEAR_END})

STATUS_QUERIES = (1, 2, 4)  # printer, offline cause, roll paper sensor

# What a hall's staff should do, in Chinese and English.
MESSAGES: dict[PrinterState, tuple[str, str]] = {
    PrinterState.READY: ("打印机正常", "Printer ready"),
    PrinterState.PAPER_NEAR_END: (
        "打印纸即将用完：请准备更换纸卷",
        "Paper nearly used up: have a new roll ready",
    ),
    PrinterState.PAPER_OUT: (
        "打印机缺纸：请打开纸仓盖装入新纸卷",
        "Printer out of paper: open the cover and load a new roll",
    ),
    PrinterState.COVER_OPEN: (
        "打印机纸仓盖未关好：请合上纸仓盖",
        "Printer cover open: close the paper cover",
    ),
    PrinterState.OFFLINE: (
        "打印机离线：请检查电源和数据线",
        "Printer offline: check its power and cable",
    ),
    PrinterState.ERROR: (
        "打印机故障（卡纸或切刀错误）：请清除卡纸后关开机",
        "Printer error (paper jam or cutter): clear the jam and power-cycle the printer",
    ),
    PrinterState.UNKNOWN: (
        "无法读取打印机状态：请检查数据线和打印机设置",
        "Printer state unknown: check the cable and the printer's settings",
    ),
}


def message(state: PrinterState, lang: str = "zh") -> str:
    zh, en = MESSAGES[state]
    return en if lang == "en" else f"{zh} ({en})"


def is_status_byte(value: int) -> bool:
    """Bits 1 and 4 fixed on, 0 and 7 fixed off: anything else is not a status answer."""
    return value & 0x93 == 0x12


@dataclass(frozen=True)
class StatusReport:
    """One reading: the state, a line for the health topic's `detail`, and the raw answer."""

    state: PrinterState
    detail: str
    raw: bytes = b""
    # Why the state is unknown: "silent", "garbled", "write_only"; or why offline: "unreachable".
    cause: str = ""

    @property
    def ok_to_print(self) -> bool:
        return self.state not in ERROR_STATES


def decode_status(answer: bytes) -> StatusReport:
    """The state from the answers to DLE EOT 1, 2 and 4, sent in that order."""
    if len(answer) < len(STATUS_QUERIES):
        got = f"{len(answer)} of {len(STATUS_QUERIES)} answers"
        return StatusReport(
            PrinterState.UNKNOWN, f"no status answer ({got})", answer, cause="silent"
        )
    printer, cause, paper = answer[: len(STATUS_QUERIES)]
    if not all(is_status_byte(b) for b in (printer, cause, paper)) or len(answer) > 3:
        return StatusReport(
            PrinterState.UNKNOWN,
            f"garbled status answer {answer.hex(' ')}: check the baud rate and cable",
            answer,
            cause="garbled",
        )
    if cause & 0x04:
        state = PrinterState.COVER_OPEN
    elif cause & 0x20 or paper & 0x60:
        state = PrinterState.PAPER_OUT
    elif cause & 0x40:
        state = PrinterState.ERROR
    elif printer & 0x08:
        state = PrinterState.OFFLINE
    elif paper & 0x0C:
        state = PrinterState.PAPER_NEAR_END
    else:
        state = PrinterState.READY
    return StatusReport(state, MESSAGES[state][1], answer)
