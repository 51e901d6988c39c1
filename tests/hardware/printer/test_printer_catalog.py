"""Names from the hall's catalog payload, as a kiosk has them."""

from __future__ import annotations

from printer_helpers import ticket_of

from hall.config.schema import HallConfig
from hardware.printer import names_from_catalog
from hardware.printer.render import render_ticket


def catalog_of(hall: HallConfig) -> dict[str, object]:
    """The contract's catalog fields the printer uses."""
    return {
        "v": 1,
        "site": {"id": hall.site.id, "name": hall.site.name, "tz": hall.site.tz},
        "departments": [
            {"code": d.code, "name_zh": d.name_zh, "name_en": d.name_en, "prefix": d.prefix}
            for d in hall.departments
        ],
        "services": [
            {"code": s.code, "department": s.department, "name_zh": s.name_zh, "name_en": s.name_en}
            for s in hall.services
        ],
    }


def test_names_from_the_catalog(hall: HallConfig) -> None:
    ticket = ticket_of(hall)
    names = names_from_catalog(catalog_of(hall), ticket, lang="en", hall_name_en="Hall")
    service = hall.service(ticket["service"])
    assert service is not None
    assert names["hall_name"] == hall.site.name and names["hall_name_en"] == "Hall"
    assert names["service_name"] == service.name_zh
    assert names["lang"] == "en" and names["ticket_url"] is None
    assert render_ticket(ticket, **names).data  # the keywords fit render_ticket


def test_a_code_missing_from_the_catalog_prints_as_itself() -> None:
    ticket = {"id": "t", "number": "Z001", "department": "new", "service": "new-svc"}
    names = names_from_catalog({"site": {"id": "hall-1"}}, ticket)
    assert names["hall_name"] == "hall-1"
    assert names["department_name"] == "new" and names["service_name"] == "new-svc"
