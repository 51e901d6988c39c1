"""Property tests: the emulator survives any byte stream, however it is split, and every ticket
hallq renders from any names decodes to exactly one cut ticket with no unknown command."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from contract.settings.printer import PrinterConfig
from hardware.emulators.printer import EscposDecoder, PrintedTicket, PrinterEmulator
from hardware.printer.render import render_ticket


@settings(max_examples=40)
@given(st.binary(max_size=400), st.integers(min_value=1, max_value=50))
def test_any_bytes_any_split(data: bytes, step: int) -> None:
    emulator = PrinterEmulator(dots=384)
    for i in range(0, len(data), step):
        emulator.feed(data[i : i + step])  # never raises, never hangs
    emulator.decoder.flush_page()


names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30
)


@settings(max_examples=25)
@given(names, names, st.sampled_from(["native", "mixed", "raster"]), st.sampled_from([58, 80]))
def test_rendered_tickets_decode_cleanly(hall: str, service: str, mode: str, width: int) -> None:
    config = PrinterConfig(target="-", mode=mode, width_mm=width)  # type: ignore[arg-type]
    ticket = {"id": "20261126-A001", "number": "A001", "ahead": 1, "est_wait_min": 2}
    data = render_ticket(
        ticket, hall_name=hall, department_name="部门", service_name=service, config=config
    ).data
    tickets: list[PrintedTicket] = []
    decoder = EscposDecoder(config.line_dots, on_ticket=tickets.append)
    decoder.feed(data)
    assert len(tickets) == 1 and decoder.unknown == [] and decoder.buffer == b""
    assert all(e.box[2] <= config.line_dots for e in tickets[0].elements)
