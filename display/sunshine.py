"""The sunshine page (阳光公示): each window's day from the hall's retained `stats`, and the schedule
on which the hall screen alternates with it. Plain Python."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def page_at(elapsed: float, hall_seconds: float, sunshine_seconds: float) -> str:
    """'hall' or 'sunshine' at `elapsed` seconds since the screen started: the hall page for
    `hall_seconds`, then the sunshine page for `sunshine_seconds`, over and over."""
    if sunshine_seconds <= 0:
        return "hall"
    cycle = hall_seconds + sunshine_seconds
    return "hall" if elapsed % cycle < hall_seconds else "sunshine"


@dataclass(frozen=True)
class SunRow:
    window: str
    clerk: str
    served: str
    mean_time: str
    good_share: str


def sunshine_rows(
    stats: dict[str, Any] | None,
    windows: list[dict[str, Any]],
    clerks: dict[str, str],
    strings: dict[str, str],
    at_window: dict[str, str] | None = None,
) -> list[SunRow]:
    """One row per window shown (in the order given), from `stats.windows`; a window with no
    figures yet shows 0 served, and the clerk at it now (`at_window`: window id -> name)."""
    by_window = stats.get("windows", {}) if isinstance(stats, dict) else {}
    rows = []
    for window in windows:
        figures = by_window.get(window["id"], {}) if isinstance(by_window, dict) else {}
        served = int(figures.get("served", 0))
        mean = figures.get("mean_service_s")
        share = figures.get("good_share")
        clerk_ids = figures.get("clerks") or []
        names = [clerks.get(c, c) for c in clerk_ids]
        if not names and at_window and window["id"] in at_window:
            names = [at_window[window["id"]]]
        rows.append(
            SunRow(
                window=str(window.get("name", window["id"])),
                clerk="、".join(names) if names else "—",
                served=str(served),
                mean_time=strings["minutes"].format(value=f"{mean / 60:.1f}")
                if isinstance(mean, int | float)
                else "—",
                good_share=f"{share * 100:.0f}%"
                if isinstance(share, int | float)
                else strings["no_rating"],
            )
        )
    return rows
