"""The report's charts as PNG bytes (matplotlib, no screen): arrivals and calls per hour, the
waiting-time distribution per department, the ratings over the five levels.

Only `hallq report` imports this (matplotlib is the `[reports]` extra; the hall server never loads
it). Figures are drawn on their own Agg canvas (no pyplot, no global figure state); labels are
Chinese, so the first CJK font found is registered and used.
"""

from __future__ import annotations

import io
import logging
from datetime import date
from pathlib import Path
from typing import Any

from matplotlib import font_manager, rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hall.engine.cases import REPORT_STATES, STATE_NAMES
from hall.engine.measures import Measures
from hall.engine.stats import LEVELS

log = logging.getLogger(__name__)

CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei (tools/bootstrap.sh)
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)


def cjk_font() -> str | None:
    """The family name of a registered CJK font, or None (the charts then show boxes for Chinese)."""
    for path in CJK_FONTS:
        if Path(path).exists():
            font_manager.fontManager.addfont(path)
            name: str = font_manager.FontProperties(fname=path).get_name()
            return name
    log.warning("no CJK font found (%s): Chinese labels will not show", ", ".join(CJK_FONTS))
    return None


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=100)
    return out.getvalue()


def charts(measures: Measures, as_of: date) -> dict[str, tuple[str, bytes]]:
    """name -> (title, PNG bytes), in the report's order."""
    font = cjk_font()
    params: dict[str, Any] = {
        "font.family": [font, "sans-serif"] if font else ["sans-serif"],
        "axes.unicode_minus": False,  # the CJK font has no U+2212 minus
    }
    with rc_context(params):  # type: ignore[arg-type]
        return {
            "hourly": ("每小时取号与叫号 Arrivals and calls per hour", _hourly(measures)),
            "waits": ("各部门等候时间分布 Waiting time per department", _waits(measures)),
            "ratings": ("评价分布 Ratings", _ratings(measures)),
            "cases": ("受理件状态 Cases by state", _cases(measures, as_of)),
        }


def _hourly(measures: Measures) -> bytes:
    rows = measures.rows("hour")
    hours = [r["key"] for r in rows]
    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot()
    x = range(len(hours))
    ax.bar([i - 0.2 for i in x], [r["issued"] for r in rows], width=0.4, label="取号 issued")
    ax.bar([i + 0.2 for i in x], [r["called"] for r in rows], width=0.4, label="叫号 called")
    ax.set_xticks(list(x), [f"{h}时" for h in hours])
    ax.set_title("每小时取号与叫号")
    ax.set_ylabel("张 tickets")
    ax.legend()
    fig.tight_layout()
    return _png(fig)


def _waits(measures: Measures) -> bytes:
    names = measures.names("department")
    samples = [
        (names.get(code, code), [w / 60 for w in measures.sample("department", code, "waits")])
        for code in names
    ]
    samples = [(name, waits) for name, waits in samples if waits]
    fig = Figure(figsize=(8, max(3.0, 0.45 * len(samples) + 1.5)))
    ax = fig.add_subplot()
    if samples:
        ax.boxplot([w for _, w in samples], orientation="horizontal", showfliers=False)
        ax.set_yticks(range(1, len(samples) + 1), [name for name, _ in samples])
        ax.invert_yaxis()  # the config's first department on top
        target = measures.target_s / 60
        ax.axvline(target, color="red", linestyle="--", label=f"目标 {target:g} 分钟")
        ax.legend()
    else:
        ax.text(0.5, 0.5, "无叫号 no calls", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("各部门等候时间（取号到首次叫号）")
    ax.set_xlabel("分钟 minutes")
    fig.tight_layout()
    return _png(fig)


def _ratings(measures: Measures) -> bytes:
    totals = measures.totals()
    scores = sorted(LEVELS, reverse=True)
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    colors = ["#2e7d32", "#66bb6a", "#c0ca33", "#fb8c00", "#c62828"]
    ax.bar([LEVELS[s] for s in scores], [totals[f"rated_{s}"] for s in scores], color=colors)
    rate = totals["good_rate"]
    ax.set_title(f"评价分布（好评率 {rate:.1%}）" if rate is not None else "评价分布")
    ax.set_ylabel("条 ratings")
    fig.tight_layout()
    return _png(fig)


def _cases(measures: Measures, as_of: date) -> bytes:
    states = measures.case_states(as_of)
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    labels = ["即办 on the spot", *(STATE_NAMES[s] for s in REPORT_STATES)]
    values = [measures.on_the_spot, *(states[s] for s in REPORT_STATES)]
    ax.bar(labels, values, color=["#1565c0", "#2e7d32", "#f9a825", "#c62828", "#616161"])
    ax.set_title(f"办件时限（{as_of}）")
    ax.set_ylabel("件 cases")
    fig.tight_layout()
    return _png(fig)
