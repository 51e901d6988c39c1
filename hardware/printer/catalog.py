"""The names a ticket prints, taken from the hall's retained `catalog` payload (what a kiosk has):

    printer.print_ticket(ticket, **names_from_catalog(catalog, ticket, lang="zh"))

The catalog's `site` carries the hall's name; its English name and the ticket status URL are in
the hall config (`site.name_en`, `site.ticket_url`) and are passed in where the kiosk has them.
"""

from __future__ import annotations

from typing import Any


def names_from_catalog(
    catalog: dict[str, Any],
    ticket: dict[str, Any],
    *,
    lang: str = "zh",
    hall_name_en: str = "",
    ticket_url: str | None = None,
) -> dict[str, Any]:
    """The keywords of TicketPrinter.print_ticket / render_ticket for `ticket`. A code missing
    from the catalog prints as the code itself: a ticket is never refused for a name."""
    site = catalog.get("site") or {}
    departments = {d.get("code"): d for d in catalog.get("departments") or []}
    services = {s.get("code"): s for s in catalog.get("services") or []}
    department = departments.get(ticket.get("department")) or {}
    service = services.get(ticket.get("service")) or {}
    return {
        "hall_name": str(site.get("name") or site.get("id") or ""),
        "hall_name_en": hall_name_en or str(site.get("name_en") or ""),
        "department_name": str(department.get("name_zh") or ticket.get("department") or ""),
        "department_name_en": str(department.get("name_en") or ""),
        "service_name": str(service.get("name_zh") or ticket.get("service") or ""),
        "service_name_en": str(service.get("name_en") or ""),
        "lang": lang,
        "ticket_url": ticket_url,
    }
