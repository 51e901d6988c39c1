"""The printer emulator: what it decodes, what it answers, how it attaches."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from hardware.emulators.printer import (
    GARBAGE,
    STATES,
    STATUS_BYTES,
    EscposDecoder,
    PrintedTicket,
    PrinterEmulator,
)
from hardware.printer import commands as cmd
from tests.fixtures.parts import missing

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
STATUS = b"\x10\x04\x01\x10\x04\x02\x10\x04\x04"


@pytest.fixture(autouse=True)
def _font() -> None:
    if not os.path.exists(FONT):
        missing("the CJK font wqy-microhei", "install the Debian package 'fonts-wqy-microhei'")


def decode(data: bytes, dots: int = 512, encoding: str = "gb18030") -> list[PrintedTicket]:
    tickets: list[PrintedTicket] = []
    decoder = EscposDecoder(dots, encoding, on_ticket=tickets.append)
    decoder.feed(data)
    return tickets


def sample() -> bytes:
    image = Image.new("1", (64, 20), 0)  # a black block
    return (
        cmd.INIT
        + cmd.align("center")
        + cmd.size(1, 2)
        + cmd.bold(True)
        + cmd.CHINESE_ON
        + "政务服务中心".encode("gb18030")
        + cmd.LF
        + cmd.CHINESE_OFF
        + cmd.size(4, 4)
        + b"A012\n"
        + cmd.size(1, 1)
        + cmd.bold(False)
        + cmd.raster(image)
        + cmd.feed_dots(12)
        + cmd.qr("20261126-A012", 6)
        + cmd.feed_lines(1)
        + cmd.cut("partial", 0)
    )


def test_decodes_text_sizes_images_qr_and_cut() -> None:
    (ticket,) = decode(sample())
    kinds = [(e.kind, e.text, e.scale) for e in ticket.elements]
    assert kinds[0] == ("text", "政务服务中心", (1, 2))
    assert kinds[1] == ("text", "A012", (4, 4))
    assert kinds[2][0] == "image" and kinds[3][:2] == ("qr", "20261126-A012")
    big = ticket.elements[1].box
    assert big[2] - big[0] == 4 * 48 and big[3] - big[1] == 96  # 4 chars x 4 x 12 dots
    centred = ticket.elements[2].box
    assert centred[0] == (512 - 64) // 2 and centred[3] - centred[1] == 20
    assert ticket.image.convert("L").crop(centred).getextrema() == (0, 0)  # the block is black
    assert ticket.data.startswith(cmd.INIT)


def test_byte_by_byte_feeding_decodes_the_same() -> None:
    whole = decode(sample())[0]
    tickets: list[PrintedTicket] = []
    decoder = EscposDecoder(512, on_ticket=tickets.append)
    for byte in sample():
        decoder.feed(bytes((byte,)))
    assert [e for e in tickets[0].elements] == whole.elements
    assert tickets[0].image.tobytes() == whole.image.tobytes()


def test_bit_images_in_a_line() -> None:
    column = bytes((0xFF, 0x00, 0x0F))  # a column: top 8 dots, nothing, bottom 4 dots
    data = b"AB" + b"\x1b*\x21\x02\x00" + column * 2 + b"C" + b"\x1b*\x20\x01\x00" + column
    data += cmd.LF + cmd.cut()
    (ticket,) = decode(data)
    (text,) = (e for e in ticket.elements if e.kind == "text")
    first, second = (e for e in ticket.elements if e.kind == "glyph")
    assert text.text == "AB\ufffcC\ufffc"
    assert first.kind == second.kind == "glyph"
    assert first.box[2] - first.box[0] == 2 and second.box[2] - second.box[0] == 2  # m 32: 2x
    assert first.box[0] == text.box[0] + 24  # after "AB"
    pixels = ticket.image.load()
    assert (
        pixels[first.box[0], first.box[1]] == 0 and pixels[first.box[0], first.box[1] + 10] == 255
    )


def test_big5_printer() -> None:
    data = cmd.CHINESE_ON + "臺北".encode("big5") + cmd.LF + cmd.cut("full")
    (ticket,) = decode(data, encoding="big5")
    assert ticket.elements[0].text == "臺北"


def test_a_4_byte_gb18030_character_is_decoded_whole() -> None:
    data = cmd.CHINESE_ON + "a𠀀b".encode("gb18030") + cmd.LF + cmd.cut()
    assert decode(data)[0].elements[0].text == "a𠀀b"


def test_unknown_commands_are_skipped_and_logged() -> None:
    decoder = EscposDecoder(512)
    decoder.feed(b"\x1b\x99\x1d\x99AB\n")
    assert decoder.unknown == [b"\x1b\x99", b"\x1d\x99"]
    assert decoder.page.elements[0].text == "AB"


@pytest.mark.parametrize("state", [s for s in STATES if s in STATUS_BYTES])
def test_status_answers(state: str) -> None:
    emulator = PrinterEmulator(state=state)
    table = STATUS_BYTES[state]
    assert emulator.feed(STATUS) == bytes((table[1], table[2], table[4]))
    assert emulator.queries == [1, 2, 4]


def test_silent_and_garbage() -> None:
    assert PrinterEmulator(state="silent").feed(STATUS) == b""
    assert PrinterEmulator(state="garbage").feed(STATUS) == GARBAGE * 3
    with pytest.raises(ValueError):
        PrinterEmulator(state="on_fire")


def test_a_printer_in_fault_prints_nothing_but_answers() -> None:
    emulator = PrinterEmulator(state="cover_open")
    assert emulator.feed(sample() + STATUS) == b"\x1a\x16\x12"
    assert emulator.tickets == []


def test_the_roll_runs_out() -> None:
    emulator = PrinterEmulator(paper_tickets=2)
    emulator.feed(sample() * 3)
    assert len(emulator.tickets) == 2 and emulator.state == "paper_out"


def test_pty_attachment_carries_bytes_both_ways(tmp_path: Path) -> None:
    with PrinterEmulator(save_dir=tmp_path) as emulator:
        path = emulator.attach_pty()
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(fd, sample() + STATUS)
            answer = b""
            deadline = time.monotonic() + 5
            while len(answer) < 3 and time.monotonic() < deadline:
                if select.select([fd], [], [], 0.1)[0]:
                    answer += os.read(fd, 16)
            assert answer == b"\x12\x12\x12"
        finally:
            os.close(fd)
        assert len(emulator.wait_for_tickets(1, timeout=5)) == 1
        assert (tmp_path / "ticket-0001.png").exists()


def test_tcp_attachment_serves_one_connection_after_another() -> None:
    with PrinterEmulator() as emulator:
        port = emulator.attach_tcp()
        for n in range(2):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                conn.sendall(sample() + STATUS)
                answer = b""
                while len(answer) < 3:
                    answer += conn.recv(16)
                assert answer == b"\x12\x12\x12"
            assert len(emulator.wait_for_tickets(n + 1, timeout=5)) == n + 1


def test_cli_runs_and_prints_where_to_connect(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "hallq", "printer-emulator", "--tcp", "0", "--seconds", "0.3",
         "--out", str(tmp_path), "--link", str(tmp_path / "printer")],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "pty: /dev/pts/" in out.stdout and "tcp: 127.0.0.1:" in out.stdout
    assert (tmp_path / "printer").is_symlink()


def test_cli_changes_state_from_stdin(tmp_path: Path) -> None:
    from contract.settings.printer import PrinterConfig
    from hardware.printer import PrinterState, TicketPrinter

    process = subprocess.Popen(
        [sys.executable, "-m", "hallq", "printer-emulator", "--tcp", "0", "--no-pty",
         "--seconds", "30", "--out", str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None and process.stdin is not None
        port = None
        while port is None:
            line = process.stdout.readline()
            assert line, "the emulator ended before saying where it listens"
            if line.startswith("tcp: "):
                port = int(line.split()[1].rsplit(":", 1)[1])
        printer = TicketPrinter(
            PrinterConfig(connector="network", target=f"127.0.0.1:{port}", timeout_s=2)
        )
        assert printer.status().state == PrinterState.READY
        process.stdin.write("cover_open\n")
        process.stdin.flush()
        while "state: cover_open" not in process.stdout.readline():
            pass
        assert printer.status().state == PrinterState.COVER_OPEN
    finally:
        process.terminate()
        process.wait(timeout=10)
