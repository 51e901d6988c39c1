"""What a ticket says, as a list of blocks, from the contract's Ticket object and the names the
kiosk got from the hall's catalog. The same blocks are drawn by every render mode."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

BlockKind = Literal["text", "number", "rule", "qr", "space"]


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str = ""
    width: int = 1  # character size, as GS ! multiples of the printer's 12x24 font
    height: int = 1
    bold: bool = False


@dataclass(frozen=True)
class TicketText:
    """Every string a ticket prints; `english` adds the English lines."""

    hall: str
    department: str
    number: str
    service: str
    issued: str
    ahead: int
    est_wait_min: int
    qr: str
    footer: str
    hall_en: str = ""
    department_en: str = ""
    service_en: str = ""
    footer_en: str = ""
    english: bool = False


_CONTROLS = {c: " " for c in [*range(0x20), 0x7F]}


def printable(value: Any) -> str:
    """A string with no control characters: text from the network must never become a command
    (an ESC or GS in a name would be obeyed by the printer)."""
    return str(value).translate(_CONTROLS).strip() if value is not None else ""


def issue_time(value: Any) -> str:
    """`2026-11-26T09:03:12+08:00` as the hall reads it: `2026-11-26 09:03`."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return value
    return ""


def qr_content(ticket: dict[str, Any], ticket_url: str | None) -> str:
    """The ticket's status URL where the hall has a base URL (site.ticket_url), else its id."""
    ticket_id = str(ticket.get("id", ""))
    if ticket_url:
        return ticket_url.rstrip("/") + "/" + ticket_id
    return ticket_id


def ticket_text(
    ticket: dict[str, Any],
    *,
    hall_name: str,
    department_name: str,
    service_name: str,
    english: bool = False,
    hall_name_en: str = "",
    department_name_en: str = "",
    service_name_en: str = "",
    ticket_url: str | None = None,
    footer: str = "",
    footer_en: str = "",
) -> TicketText:
    return TicketText(
        hall=printable(hall_name),
        department=printable(department_name),
        number=printable(ticket.get("number", "")),
        service=printable(service_name),
        issued=printable(issue_time(ticket.get("issued_at"))),
        ahead=_count(ticket.get("ahead")),
        est_wait_min=_count(ticket.get("est_wait_min")),
        qr=printable(qr_content(ticket, ticket_url)),
        footer=printable(footer),
        hall_en=printable(hall_name_en),
        department_en=printable(department_name_en),
        service_en=printable(service_name_en),
        footer_en=printable(footer_en),
        english=english,
    )


def _count(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def blocks(t: TicketText) -> list[Block]:
    """The ticket from top to bottom."""

    def en(text: str, **kw: Any) -> list[Block]:
        return [Block("text", text, **kw)] if t.english and text else []

    out: list[Block] = [Block("text", t.hall, 1, 2, True), *en(t.hall_en)]
    out += [Block("text", t.department, 1, 1, True), *en(t.department_en)]
    out += [Block("rule"), Block("number", t.number, 4, 4, True), Block("space")]
    out += [Block("text", t.service, 1, 2, True), *en(t.service_en)]
    out += [Block("text", f"前面还有 {t.ahead} 人，约 {t.est_wait_min} 分钟")]
    people = "person" if t.ahead == 1 else "people"
    out += en(f"{t.ahead} {people} ahead, about {t.est_wait_min} min")
    out += [Block("text", f"取号时间 {t.issued}"), *en(f"Issued {t.issued}")]
    out += [Block("qr", t.qr)]
    if t.footer:
        out.append(Block("text", t.footer))
    out += en(t.footer_en)
    return out
