"""The hall's rules for issuing tickets (issue #4): opening hours on the working calendar, daily caps,
bookings, and the kiosks' limits. docs/rules.md says the same for operators.

The engine asks a `Rules` object these things and nothing else, so a hall with other rules passes its
own `Rules` to `Engine(config, state, rules=...)`:
- `check_issue(...)`: may this kiosk issue this ticket now? Raises HallError to refuse; returns the
  booking it checks in (an `Appointment`) if any;
- `check_reprint(ticket)`: the reprint limit;
- `availability(...)`: for `queues`, whether the service can issue now and why not;
- `cap_of(...)`: the cap in force today (an operator's cap for the day, else the config's).

The order of the checks is the order a visitor would want to be told: a kiosk that may not do it at
all, then the service closed, then the hours, then the booking, then the cap. Everything here is a pure
function of the config, the state and `now`: refusals write no event, so replay never needs the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from hall.config.calendar import Span, spans_on
from hall.config.calendar import is_open as calendar_is_open
from hall.config.schema import HallConfig, Kiosk, Service
from hall.engine.errors import HallError
from hall.engine.model import Booking, HallState, IssueTicket, ServiceState, Ticket

# The `reason` values of the `queues` topic.
CLOSED = "closed"
OUTSIDE_HOURS = "outside_hours"
QUOTA_REACHED = "quota_reached"
APPOINTMENT_ONLY = "appointment_only"

RATE_WINDOW = 60  # seconds: `rate_limit_per_min` counts a kiosk's issues in the last minute


@dataclass(frozen=True, slots=True)
class Appointment:
    code: str
    slot: datetime  # tz-aware: the ticket is called before walk-ins from then on


def normalize_code(code: str) -> str:
    """Booking codes are read as the visitor types them: spaces around and letter case do not count."""
    return code.strip().upper()


class Rules:
    """The hall's rules, from its config."""

    def __init__(self, config: HallConfig) -> None:
        self.config = config
        self.calendar = config.calendar
        self._kiosks: dict[str, Kiosk] = {k.id: k for k in config.kiosks}
        self._hours: dict[str, tuple[Span, ...]] = {
            s.code: tuple(config.hours_of(s.code)) for s in config.services
        }
        # `queues` asks for every service at once: a few distinct hour lists serve hundreds of
        # services, so each list's (from, to) pairs are worked out once per date.
        distinct: dict[tuple[Span, ...], int] = {}
        self._next_open: dict[tuple[int | None, datetime], datetime | None] = {}
        self._hours_key = {
            code: distinct.setdefault(spans, len(distinct)) for code, spans in self._hours.items()
        }
        self._day: date | None = None
        self._day_spans: dict[int, tuple[tuple[time, time], ...]] = {}

    # -- issue -----------------------------------------------------------------------------------

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
        self.check_rate(state, kiosk, now)
        today = state.services[service.code]
        if not today.open:
            raise HallError(
                "service_closed", "该业务今日已暂停取号", "this service is closed today"
            )
        self.check_hours(service, now)
        if command.appointment is not None:
            # A booked visitor's place was promised when the booking was made: the cap does not
            # refuse it (the ticket still counts toward the cap, so walk-ins stop sooner).
            return self.appointment(state, command.appointment, service, now)
        if service.needs_appointment:
            raise HallError(
                "appointment_required",
                "该业务须先预约",
                "this service needs an appointment",
            )
        if self.cap_reached(service, today):
            raise HallError("quota_reached", "该业务今日号已取完", "today's tickets are all taken")
        return None

    def check_rate(self, state: HallState, kiosk: Kiosk, now: datetime) -> None:
        """A kiosk's optional limit of tickets a minute (a stuck button, a prankster)."""
        limit = kiosk.rate_limit_per_min
        if limit is None:
            return
        recent = state.kiosk_issues.get(kiosk.id, [])
        since = int(now.timestamp()) - RATE_WINDOW
        if sum(1 for ts in recent if ts > since) >= limit:
            raise HallError(
                "rate_limited",
                "取号过于频繁，请稍后再试",
                f"this kiosk issues at most {limit} tickets a minute: try again shortly",
            )

    def check_hours(self, service: Service, now: datetime) -> None:
        if not self.is_open(service, now):
            raise HallError(
                "outside_hours",
                "不在该业务的办理时间内",
                "this service is not open at this time",
            )

    def is_open(self, service: Service, now: datetime) -> bool:
        """Inside the service's hours on the working calendar (`now` in the hall's zone)."""
        local = now.astimezone(self.config.site.zone)
        key = self._hours_key.get(service.code)
        if key is None:  # not a service of this config
            return calendar_is_open(self.calendar, self.config.hours_of(service.code), local)
        day = local.date()
        if day != self._day:
            self._day, self._day_spans = day, {}
        pairs = self._day_spans.get(key)
        if pairs is None:
            spans = spans_on(self.calendar, self._hours[service.code], day)
            pairs = self._day_spans[key] = tuple((s.start, s.end) for s in spans)
        moment = local.time().replace(tzinfo=None)
        return any(start <= moment < end for start, end in pairs)

    def appointment(
        self, state: HallState, code: str, service: Service, now: datetime
    ) -> Appointment:
        """The booking a kiosk checks in: `unknown_booking`, `booking_used`, `booking_wrong_day`."""
        booking = self.booking(state, code)
        if booking.service != service.code:
            raise HallError(
                "unknown_booking",
                "该预约不是此项业务的预约",
                f"booking {booking.code} is for another service",
            )
        if booking.ticket is not None:
            raise HallError(
                "booking_used", "该预约已取过号", f"booking {booking.code} has been checked in"
            )
        if state.business_day is None or booking.day != state.business_day.isoformat():
            raise HallError(
                "booking_wrong_day",
                f"该预约的日期是{booking.day}",
                f"booking {booking.code} is for {booking.day}",
            )
        return Appointment(booking.code, datetime.fromisoformat(booking.slot))

    def booking(self, state: HallState, code: str) -> Booking:
        booking = state.bookings.get(normalize_code(code))
        if booking is None:
            raise HallError("unknown_booking", "预约码无效", f"no booking {code[:32]!r}")
        return booking

    # -- caps ------------------------------------------------------------------------------------

    def cap_of(self, service: Service, today: ServiceState) -> int | None:
        """The cap in force today: an operator's for the day, else the config's (None: no cap)."""
        return today.cap if today.cap is not None else service.cap

    def cap_reached(self, service: Service, today: ServiceState) -> bool:
        cap = self.cap_of(service, today)
        return cap is not None and today.issued_today >= cap

    def levels_crossed(
        self, service: Service, today: ServiceState, before: int, after: int
    ) -> list[tuple[str, int | None]]:
        """The levels ("warn" at cap_warn, "reached" at the cap) that issued going from `before`
        to `after` reached, with the cap in force: each becomes a QuotaWarning event."""
        cap = self.cap_of(service, today)
        crossed: list[tuple[str, int | None]] = []
        warn = service.cap_warn
        if warn is not None and before < warn <= after:
            crossed.append(("warn", cap))
        if cap is not None and before < cap <= after:
            crossed.append(("reached", cap))
        return crossed

    # -- reprint ---------------------------------------------------------------------------------

    def check_reprint(self, ticket: Ticket) -> None:
        if ticket.reprints >= self.config.limits.reprint_limit:
            raise HallError(
                "reprint_limit",
                "该号已达补打次数上限",
                "this ticket cannot be reprinted again",
            )

    # -- queues ----------------------------------------------------------------------------------

    def availability(self, state: HallState, service: Service, now: datetime) -> str | None:
        """None if the service can issue a walk-in ticket now, else the `queues` reason."""
        today = state.services[service.code]
        if not today.open:
            return CLOSED
        if not self.is_open(service, now):
            return OUTSIDE_HOURS
        if service.needs_appointment:
            return APPOINTMENT_ONLY
        if self.cap_reached(service, today):
            return QUOTA_REACHED
        return None

    def next_open(self, service: Service, now: datetime, days: int = 8) -> datetime | None:
        """When a service that is outside its hours opens next (at most `days` ahead), for the
        kiosk to say "opens 14:00"; worked out once per hours list and minute."""
        local = now.astimezone(self.config.site.zone)
        key = (self._hours_key.get(service.code), local.replace(second=0, microsecond=0))
        if key in self._next_open:
            return self._next_open[key]
        if len(self._next_open) > 1000:
            self._next_open.clear()
        spans = self._hours.get(service.code) or tuple(self.config.hours_of(service.code))
        found = None
        for offset in range(days + 1):
            day = local.date() + timedelta(days=offset)
            starts = [_at(day, s.start, local.tzinfo) for s in spans_on(self.calendar, spans, day)]
            later = [at for at in starts if at > local]
            if later:
                found = min(later)
                break
        self._next_open[key] = found
        return found

    def next_edge(self, now: datetime, days: int = 8) -> datetime | None:
        """The next moment after `now` at which some service opens or closes (so `queues` can be
        republished right then), looking at most `days` calendar days ahead."""
        zone = self.config.site.zone
        local = now.astimezone(zone)
        distinct = set(self._hours.values())
        for offset in range(days + 1):
            day = local.date() + timedelta(days=offset)
            moments = sorted(
                {
                    edge
                    for spans in distinct
                    for span in spans_on(self.calendar, spans, day)
                    for edge in (span.start, span.end)
                }
            )
            for moment in moments:
                at = _at(day, moment, zone)
                if at > local:
                    return at
        return None


def _at(day: date, moment: time, zone: object) -> datetime:
    return datetime.combine(day, moment, tzinfo=zone)  # type: ignore[arg-type]
