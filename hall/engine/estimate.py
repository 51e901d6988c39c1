"""How long a waiting visitor will wait: `ahead` tickets shared by the windows serving the service.

est_wait_min = ceil(ahead x recent minutes per visitor / windows serving the service), where the
minutes per visitor is the mean of the service's last `limits.estimate_samples` services (measured at
the windows that served it) or, before there are any, the service's configured `avg_minutes`; the
windows are those with a clerk logged in whose tiers name the service, or every window that could
serve it while none is open (a kiosk at opening time still shows a sensible figure).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from hall.config.schema import Service
from hall.engine.model import ServiceState, WindowState


def minutes_per_visitor(service: Service, state: ServiceState) -> float:
    if state.samples:
        return sum(state.samples) / len(state.samples) / 60.0
    return service.avg_minutes


def windows_serving(candidates: Sequence[str], windows: dict[str, WindowState]) -> int:
    """Windows with a clerk among those configured for the service (all of them if none is open)."""
    open_count = 0
    for window_id in candidates:
        window = windows.get(window_id)
        if window is not None and window.clerk is not None:
            open_count += 1
    return open_count or max(1, len(candidates))


def wait_minutes(ahead: int, minutes: float, windows: int) -> int:
    if ahead <= 0:
        return 0
    return math.ceil(ahead * minutes / max(1, windows))
