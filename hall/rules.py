"""The hall's rules for issuing tickets: where issue #4 (hours on the working calendar, caps from the
config, bookings, kiosk rate limits) slots in.

The engine asks a `Rules` object three things and nothing else, so issue #4 replaces the bodies here
(or passes its own `Rules` to `Engine(config, state, rules=...)`) without touching the engine:
- `check_issue(...)`: may this kiosk issue this ticket now? Raises HallError to refuse.
- `appointment(...)`: the booking a kiosk checks in, as an `Appointment` (code and slot time).
- `availability(...)`: for `queues`, whether the service can issue now and why not.

What the contract already fixes is enforced now: unknown kiosk, the green channel only from kiosks the
config allows, operator closures and caps, appointment-only services, the reprint limit. Bookings do
not exist yet (issue #4), so every booking code is `unknown_booking`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hall.config import HallConfig, Kiosk, Service
from hall.errors import HallError
from hall.model import HallState, IssueTicket, ServiceState, Ticket

# The `reason` values of the `queues` topic.
CLOSED = "closed"
OUTSIDE_HOURS = "outside_hours"
QUOTA_REACHED = "quota_reached"
APPOINTMENT_ONLY = "appointment_only"


@dataclass(frozen=True, slots=True)
class Appointment:
    code: str
    slot: datetime  # tz-aware: the ticket is called before walk-ins from then on


class Rules:
    """The default rules: the contract's checks, no hours, no config caps, no bookings yet."""

    def __init__(self, config: HallConfig) -> None:
        self.config = config
        self._kiosks: dict[str, Kiosk] = {k.id: k for k in config.kiosks}

    def check_issue(
        self, state: HallState, command: IssueTicket, service: Service, now: datetime
    ) -> Appointment | None:
        """Refuse (HallError) or allow an issue; returns the appointment it checks in, if any."""
        kiosk = self._kiosks.get(command.kiosk)
        if kiosk is None:
            raise HallError("unknown_device", "未知的取号机", f"unknown kiosk {command.kiosk!r}")
        if command.priority == "priority" and not kiosk.allow_priority:
            raise HallError(
                "forbidden",
                "本取号机不能发放优先号",
                "this kiosk may not issue priority tickets",
            )
        today = state.services[service.code]
        if not today.open:
            raise HallError(
                "service_closed", "该业务今日已暂停取号", "this service is closed today"
            )
        self.check_hours(service, now)
        appointment = None
        if command.appointment is not None:
            appointment = self.appointment(state, command.appointment, service, now)
        elif service.needs_appointment:
            raise HallError(
                "appointment_required",
                "该业务须先预约",
                "this service needs an appointment",
            )
        if self.cap_reached(today):
            raise HallError("quota_reached", "该业务今日号已取完", "today's tickets are all taken")
        return appointment

    def check_hours(self, service: Service, now: datetime) -> None:
        """Issue #4: opening hours on the working calendar (`outside_hours`). Open all day for now."""

    def appointment(
        self, state: HallState, code: str, service: Service, now: datetime
    ) -> Appointment:
        """Issue #4: look the booking up (`unknown_booking`, `booking_used`, `booking_wrong_day`)."""
        raise HallError("unknown_booking", "预约码无效", f"no booking {code!r}")

    def cap_reached(self, today: ServiceState) -> bool:
        return today.cap is not None and today.issued_today >= today.cap

    def check_reprint(self, ticket: Ticket) -> None:
        if ticket.reprints >= self.config.limits.reprint_limit:
            raise HallError(
                "reprint_limit",
                "该号已达补打次数上限",
                "this ticket cannot be reprinted again",
            )

    def availability(self, state: HallState, service: Service, now: datetime) -> str | None:
        """None if the service can issue now, else the `queues` reason."""
        today = state.services[service.code]
        if not today.open:
            return CLOSED
        if self.cap_reached(today):
            return QUOTA_REACHED
        if service.needs_appointment:
            return APPOINTMENT_ONLY
        return None
