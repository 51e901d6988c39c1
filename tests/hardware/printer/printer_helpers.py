"""Helpers of the printer tests: the hall to print from, its tickets and the names a kiosk passes.

A module of its own (not conftest) so that test modules can import it by a unique name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hall.config.schema import HallConfig, load_config

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "artifacts" / "printer"
EXAMPLE_HALL = ROOT / "deploy" / "examples" / "small-hall.toml"
FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


def example_hall() -> HallConfig:
    """The example hall of deploy/examples (or the test suite's small hall where it is absent)."""
    if EXAMPLE_HALL.exists():
        return load_config(EXAMPLE_HALL)
    from tests.fixtures.halls import small_hall

    hall: HallConfig = small_hall()
    return hall


def ticket_of(hall: HallConfig, service_index: int = 0, seq: int = 12) -> dict[str, Any]:
    """A waiting ticket of the hall, as the contract's Ticket object."""
    service = hall.services[service_index]
    department = hall.department(service.department)
    assert department is not None
    number = f"{department.prefix}{seq:0{hall.limits.number_width}d}"
    return {
        "id": f"20261126-{number}",
        "number": number,
        "service": service.code,
        "department": department.code,
        "priority": "normal",
        "issued_at": "2026-11-26T09:03:12+08:00",
        "status": "waiting",
        "ahead": 5,
        "est_wait_min": 12,
        "window": None,
        "recalls": 0,
    }


def names_of(hall: HallConfig, ticket: dict[str, Any], lang: str = "zh") -> dict[str, Any]:
    """The keywords the kiosk passes to render_ticket / print_ticket, from the hall's catalog."""
    service = hall.service(ticket["service"])
    department = hall.department(ticket["department"])
    assert service is not None and department is not None
    return {
        "hall_name": hall.site.name,
        "hall_name_en": hall.site.name_en,
        "department_name": department.name_zh,
        "department_name_en": department.name_en,
        "service_name": service.name_zh,
        "service_name_en": service.name_en,
        "lang": lang,
        "ticket_url": hall.site.ticket_url,
    }
