"""What the simulator plays: who comes for what, how long things take, what a clerk does now and then.

Pure functions of the hall config and a `random.Random`, so a seed gives the same day.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from hall.config.schema import HallConfig, Window

BUSY_DEPARTMENTS = 5  # the first departments of the config draw the most visitors ...
BUSY_WEIGHT = 3.0  # ... this many times more per window than the others
LOAD = 0.85  # default visitors: this share of what the played windows can serve in an hour
SERVICE_SHAPE = 4.0  # gamma shape of service times: most near avg_minutes, a few much longer

# What happens after a call, per ticket (the rest are plain: walk up, start, finish).
P_RECALL = 0.06  # the visitor does not come at once: called again
P_NO_SHOW = 0.04  # ... and never comes
P_TRANSFER = 0.03  # sent on to another service
P_HOLD = 0.03  # parked at the window (documents missing), called back later
P_UNHOLD = 0.5  # chance, before each next call, that a held ticket is called back first
P_PRIORITY = 0.1  # at a green-channel kiosk: visitors who get a priority ticket
P_RATE = 0.8  # visitors who press a key on the evaluator
SCORES = (5, 4, 3, 2, 1)
SCORE_WEIGHTS = (70, 20, 6, 3, 1)
WALK_SECONDS = (10.0, 40.0)  # hall seconds from the call to the visitor at the window
IDLE_POLL_SECONDS = 30.0  # an idle window asks again after this (hall seconds)


@dataclass(frozen=True)
class Mix:
    """Where visitors go: departments and, within each, services, with weights."""

    departments: tuple[str, ...]
    department_weights: tuple[float, ...]
    services: dict[str, tuple[tuple[str, ...], tuple[float, ...]]]  # department -> codes, weights

    def draw(self, rng: random.Random) -> str:
        """The service a new visitor comes for."""
        department = rng.choices(self.departments, self.department_weights)[0]
        codes, weights = self.services[department]
        return rng.choices(codes, weights)[0]


def visitor_mix(config: HallConfig, windows: Sequence[Window]) -> Mix:
    """Visitors by department in proportion to the played windows that serve it first (tier 1),
    the first BUSY_DEPARTMENTS of the config weighted up; within a department, services a played
    window serves, those of a first tier twice as often. Appointment-only services are left out
    (a walk-in visitor cannot get them) and so are departments no played window serves."""
    first_tier: set[str] = {code for w in windows for code in w.tiers[0]}
    served: set[str] = {code for w in windows for code in w.services}
    order = {d.code: i for i, d in enumerate(config.departments)}
    counts: dict[str, float] = {}
    for window in windows:
        for department in {_department(config, code) for code in window.tiers[0]}:
            counts[department] = counts.get(department, 0.0) + 1.0
    services: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {}
    for department in list(counts):
        codes = [
            s.code
            for s in config.services
            if s.department == department and s.code in served and not s.needs_appointment
        ]
        if not codes:
            del counts[department]
            continue
        weights = [2.0 if code in first_tier else 1.0 for code in codes]
        services[department] = (tuple(codes), tuple(weights))
    if not counts:
        raise ValueError("no played window serves a service a walk-in visitor can get")
    departments = sorted(counts, key=lambda d: order[d])
    busy = tuple(
        counts[d] * (BUSY_WEIGHT if order[d] < BUSY_DEPARTMENTS else 1.0) for d in departments
    )
    return Mix(tuple(departments), busy, services)


def _department(config: HallConfig, service_code: str) -> str:
    service = config.service(service_code)
    assert service is not None  # the config's cross-check guarantees it
    return service.department


def default_visitors_per_hour(config: HallConfig, windows: Sequence[Window]) -> float:
    """LOAD of what the windows can serve: 60 / the mean avg_minutes of each one's first tier."""
    total = 0.0
    for window in windows:
        minutes = [_avg_minutes(config, code) for code in window.tiers[0]]
        total += 60.0 / (sum(minutes) / len(minutes))
    return max(1.0, LOAD * total)


def _avg_minutes(config: HallConfig, service_code: str) -> float:
    service = config.service(service_code)
    assert service is not None
    return service.avg_minutes


def service_seconds(config: HallConfig, service_code: str, rng: random.Random) -> float:
    """A service time drawn around the service's avg_minutes (gamma, mean avg_minutes)."""
    mean = _avg_minutes(config, service_code) * 60.0
    return rng.gammavariate(SERVICE_SHAPE, mean / SERVICE_SHAPE)


def transfer_target(
    config: HallConfig, windows: Sequence[Window], current: str, rng: random.Random
) -> str | None:
    """Another service a played window serves (so the transferred visitor is served), or None."""
    choices = sorted(
        {code for w in windows for code in w.services}
        - {current}
        - {s.code for s in config.services if s.needs_appointment}
    )
    return rng.choice(choices) if choices else None


def score(rng: random.Random) -> int:
    return rng.choices(SCORES, SCORE_WEIGHTS)[0]
