"""Who is called next: the waiting tickets indexed per service and per window, and the call policy.

The policy (docs/protocol.md "Window", issue #2): tickets transferred to this window first; then the
window's tiers in order, the first tier with a waiting ticket; within that tier, appointments whose slot
has come (earliest slot first), then priority tickets, then the oldest (appointments checked in before
their slot wait among the walk-ins). "Oldest" is the hall-wide issue order, which a transferred or
requeued ticket keeps. Every step looks only at the heads of short sorted lists, so a call costs
O(services at the window), never a scan of all tickets.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hall.engine.model import Ticket

_NO_SLOT = 2**62


@dataclass(slots=True)
class ServiceQueue:
    """The waiting tickets of one service, in calling order within each class."""

    appointments: list[tuple[int, int, str]] = field(default_factory=list)  # (slot_ts, order, id)
    priority: list[tuple[int, str]] = field(default_factory=list)  # (order, id)
    normal: list[tuple[int, str]] = field(default_factory=list)  # (order, id)

    def __len__(self) -> int:
        return len(self.appointments) + len(self.priority) + len(self.normal)

    def due(self, now_ts: int) -> int:
        """How many appointments have reached their slot."""
        return bisect_right(self.appointments, (now_ts, _NO_SLOT, ""))

    def oldest_not_due(self, now_ts: int) -> tuple[int, str] | None:
        best: tuple[int, str] | None = None
        for slot_ts, order, ticket_id in self.appointments:
            if slot_ts > now_ts and (best is None or order < best[0]):
                best = (order, ticket_id)
        return best


@dataclass(slots=True)
class QueueIndex:
    """Waiting tickets by service (and by window for those transferred to one), plus counts."""

    services: dict[str, ServiceQueue] = field(default_factory=dict)
    windows: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # (order, id)
    waiting_by_service: dict[str, int] = field(default_factory=dict)
    waiting_by_department: dict[str, int] = field(default_factory=dict)

    def clear(self) -> None:
        self.services.clear()
        self.windows.clear()
        self.waiting_by_service.clear()
        self.waiting_by_department.clear()

    def add(self, ticket: Ticket) -> None:
        if ticket.window is not None:
            insort(self.windows.setdefault(ticket.window, []), (ticket.order, ticket.id))
        else:
            queue = self.services.get(ticket.service)
            if queue is None:
                queue = self.services[ticket.service] = ServiceQueue()
            if ticket.slot_ts is not None:
                insort(queue.appointments, (ticket.slot_ts, ticket.order, ticket.id))
            elif ticket.priority == "priority":
                insort(queue.priority, (ticket.order, ticket.id))
            else:
                insort(queue.normal, (ticket.order, ticket.id))
        self._count(ticket, 1)

    def remove(self, ticket: Ticket) -> None:
        """Take a waiting ticket out (it was called, cancelled, transferred ...)."""
        if ticket.window is not None:
            _drop(self.windows[ticket.window], (ticket.order, ticket.id))
        else:
            queue = self.services[ticket.service]
            if ticket.slot_ts is not None:
                _drop(queue.appointments, (ticket.slot_ts, ticket.order, ticket.id))
            elif ticket.priority == "priority":
                _drop(queue.priority, (ticket.order, ticket.id))
            else:
                _drop(queue.normal, (ticket.order, ticket.id))
        self._count(ticket, -1)

    def _count(self, ticket: Ticket, delta: int) -> None:
        by_service, by_department = self.waiting_by_service, self.waiting_by_department
        by_service[ticket.service] = by_service.get(ticket.service, 0) + delta
        by_department[ticket.department] = by_department.get(ticket.department, 0) + delta

    def heads(self) -> Iterable[tuple[int, str]]:
        """The oldest waiting ticket of every queue (for the longest wait per department)."""
        for queue in self.services.values():
            for part in (queue.priority, queue.normal):
                if part:
                    yield part[0]
            if queue.appointments:
                yield min((order, ticket_id) for _, order, ticket_id in queue.appointments)
        for waiting in self.windows.values():
            if waiting:
                yield waiting[0]


def _drop(items: list[Any], key: tuple[Any, ...]) -> None:
    i = bisect_left(items, key)
    if i == len(items) or items[i] != key:
        raise KeyError(f"ticket {key[-1]!r} is not in the queue it should be in")
    del items[i]


def pick_next(
    index: QueueIndex, window_id: str, tiers: Sequence[Sequence[str]], now_ts: int
) -> str | None:
    """The ticket a window calls next, or None if nothing it serves is waiting."""
    own = index.windows.get(window_id)
    if own:
        return own[0][1]
    for tier in tiers:
        queues = [q for q in (index.services.get(code) for code in tier) if q]
        if not queues:
            continue
        # Appointments whose slot has come, earliest slot first.
        due = [q.appointments[0] for q in queues if q.appointments and q.due(now_ts)]
        if due:
            return min(due)[2]
        # Then the green channel, then the oldest walk-in (early appointments count as walk-ins).
        heads = [q.priority[0] for q in queues if q.priority]
        if heads:
            return min(heads)[1]
        heads = [q.normal[0] for q in queues if q.normal]
        heads += [h for h in (q.oldest_not_due(now_ts) for q in queues) if h is not None]
        if heads:
            return min(heads)[1]
    return None


def ahead_of(index: QueueIndex, ticket: Ticket, now_ts: int) -> int:
    """How many waiting tickets of the same queue would be called before this one.

    Counted within the ticket's own queue (its service, or the window it waits for): a window that
    also serves other tiers first makes the wait longer, which the estimate's time accounts for.
    """
    if ticket.window is not None:
        return bisect_left(index.windows.get(ticket.window, []), (ticket.order, ticket.id))
    queue = index.services.get(ticket.service)
    if queue is None:
        return 0
    due = queue.due(now_ts)
    if ticket.slot_ts is not None and ticket.slot_ts <= now_ts:
        return bisect_left(queue.appointments, (ticket.slot_ts, ticket.order, ticket.id))
    if ticket.priority == "priority" and ticket.slot_ts is None:
        return due + bisect_left(queue.priority, (ticket.order, ticket.id))
    older_early = sum(
        1 for slot_ts, order, _ in queue.appointments if slot_ts > now_ts and order < ticket.order
    )
    return (
        due
        + len(queue.priority)
        + bisect_left(queue.normal, (ticket.order, ticket.id))
        + older_early
    )
