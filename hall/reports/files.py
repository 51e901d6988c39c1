"""The report's tables, and its csv, html and ratings-export files (standard library only).

Every file has the same tables: the totals first, then one per dimension, then the charts. The
xlsx form is hall/reports/xlsx.py (XlsxWriter).
"""

from __future__ import annotations

import base64
import csv
import html
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from hall.engine.cases import REPORT_STATES, STATE_NAMES
from hall.engine.measures import DIMENSIONS, Measures, Rating
from hall.engine.stats import LEVELS

CSV_ENCODING = "utf-8-sig"  # with the BOM: Excel opens Chinese csv files right

# (field, title) of a dimension table's columns, in order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("issued", "取号 issued"),
    ("called", "叫号 called"),
    ("served", "办结 served"),
    ("no_show", "过号 no-show"),
    ("transferred", "转办 transferred"),
    ("cancelled", "取消 cancelled"),
    ("expired", "未叫 expired"),
    ("wait_mean_s", "平均等候(秒) wait mean s"),
    ("wait_median_s", "等候中位数(秒) wait median s"),
    ("wait_p90_s", "等候90分位(秒) wait p90 s"),
    ("waited_over_target", "超时等候 waited over target"),
    ("waited_over_share", "超时等候占比 share over target"),
    ("service_mean_s", "平均办理(秒) service mean s"),
    ("service_median_s", "办理中位数(秒) service median s"),
    ("service_p90_s", "办理90分位(秒) service p90 s"),
    ("call_to_start_mean_s", "叫号到开始(秒) call to start mean s"),
    ("call_to_start_median_s", "叫号到开始中位数(秒) call to start median s"),
    ("call_to_start_p90_s", "叫号到开始90分位(秒) call to start p90 s"),
    ("rated", "评价数 rated"),
    *((f"rated_{s}", f"{LEVELS[s]} {s}") for s in sorted(LEVELS, reverse=True)),
    ("good_rate", "好评率 good rate"),
)
SHEETS: dict[str, str] = {
    "service": "按事项 services",
    "department": "按部门 departments",
    "window": "按窗口 windows",
    "clerk": "按人员 clerks",
    "hour": "按时段 hours",
    "day": "按日期 days",
}
TOTALS_TITLE = "总计 totals"
CASES_TITLE = "受理件 cases"


@dataclass(frozen=True)
class Table:
    name: str  # a file name: totals, service, ...
    title: str
    header: list[str]
    rows: list[list[Any]]


def tables(measures: Measures, period: str, as_of: date) -> list[Table]:
    totals = measures.totals()
    states = measures.case_states(as_of)
    head: list[list[Any]] = [
        ["期间 period", period],
        ["目标等候(分钟) target wait min", measures.target_s // 60],
    ]
    first = Table(
        "totals",
        TOTALS_TITLE,
        ["项目 item", "数值 value"],
        head
        + [[title, totals[field]] for field, title in COLUMNS]
        + [["即办 done on the spot", measures.on_the_spot], ["受理 accepted", len(measures.cases)]]
        + [[f"{STATE_NAMES[state]} ({as_of})", states[state]] for state in REPORT_STATES],
    )
    out = [first]
    for dimension in DIMENSIONS:
        header = ["代码 key", "名称 name", *(title for _, title in COLUMNS)]
        rows = [
            [row["key"], row["name"], *(row[field] for field, _ in COLUMNS)]
            for row in measures.rows(dimension)
        ]
        out.append(Table(dimension, SHEETS[dimension], header, rows))
    out.append(
        Table(
            "cases",
            CASES_TITLE,
            [
                "票号 ticket",
                "事项 service",
                "部门 department",
                "窗口 window",
                "人员 clerk",
                "受理 accepted",
                "到期 due",
                f"状态 state ({as_of})",
            ],
            [
                [
                    c.ticket,
                    c.service,
                    c.department,
                    c.window,
                    c.clerk,
                    c.accepted.isoformat(),
                    c.due.isoformat(),
                    STATE_NAMES[measures.case_state(c, as_of)],
                ]
                for c in measures.cases
            ],
        )
    )
    return out


def write_csv(folder: Path, tables_: Sequence[Table], charts: dict[str, tuple[str, bytes]]) -> None:
    """One csv per table and one PNG per chart, in `folder` (made if need be)."""
    folder.mkdir(parents=True, exist_ok=True)
    for table in tables_:
        with (folder / f"{table.name}.csv").open("w", newline="", encoding=CSV_ENCODING) as f:
            writer = csv.writer(f)
            writer.writerow(table.header)
            writer.writerows(table.rows)
    for name, (_, png) in charts.items():
        (folder / f"{name}.png").write_bytes(png)


def write_html(
    path: Path,
    title: str,
    tables_: Sequence[Table],
    charts: dict[str, tuple[str, bytes]],
) -> None:
    """One self-contained page: the tables, then the charts as embedded PNG images."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        "<style>body{font-family:sans-serif}table{border-collapse:collapse;margin-bottom:1.5em}"
        "td,th{border:1px solid #999;padding:2px 6px;text-align:right}"
        "td:first-child,td:nth-child(2){text-align:left}</style>",
        f"</head><body><h1>{e(title)}</h1>",
    ]
    for table in tables_:
        parts.append(f'<h2>{e(table.title)}</h2><table id="{e(table.name)}">')
        parts.append("<tr>" + "".join(f"<th>{e(str(h))}</th>" for h in table.header) + "</tr>")
        for row in table.rows:
            cells = "".join(f"<td>{e(_text(v))}</td>" for v in row)
            parts.append(f"<tr>{cells}</tr>")
        parts.append("</table>")
    for name, (chart_title, png) in charts.items():
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f'<h2>{e(chart_title)}</h2><img id="{e(name)}" alt="{e(chart_title)}" '
            f'src="data:image/png;base64,{data}">'
        )
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# --- the 好差评 export ------------------------------------------------------------------------------

RATING_FIELDS: dict[str, str] = {
    "ticket": "票号 ticket",
    "number": "号码 number",
    "service": "事项 service",
    "service_name": "事项名称 service name",
    "department": "部门 department",
    "department_name": "部门名称 department name",
    "window": "窗口 window",
    "clerk": "人员 clerk",
    "clerk_name": "人员姓名 clerk name",
    "time": "评价时间 time",
    "score": "评分 score",
    "level": "评价等级 level",
    "reasons": "原因 reasons",
}


@dataclass(frozen=True)
class Column:
    title: str
    field: str | None = None  # a RATING_FIELDS key, or None for a constant
    value: str = ""  # the constant (a platform's channel or hall code)


def default_columns() -> list[Column]:
    return [Column(title, field) for field, title in RATING_FIELDS.items()]


def load_mapping(path: Path) -> tuple[list[Column], str]:
    """The columns and encoding of a mapping file (docs/reports.md "The ratings export")."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the mapping: {exc}") from exc
    encoding = str(data.get("encoding", CSV_ENCODING))
    try:
        "".encode(encoding)
    except LookupError:
        raise ValueError(
            f"{path}: unknown encoding {encoding!r}: use utf-8-sig or gb18030"
        ) from None
    columns: list[Column] = []
    for n, item in enumerate(data.get("columns", [])):
        where = f"{path}: columns[{n}]"
        if not isinstance(item, dict) or not isinstance(item.get("title"), str):
            raise ValueError(f"{where}: give a title (and a field or a value)")
        field = item.get("field")
        if field is not None and field not in RATING_FIELDS:
            raise ValueError(
                f"{where}: unknown field {field!r}: use one of {', '.join(RATING_FIELDS)}"
            )
        if field is None and "value" not in item:
            raise ValueError(f"{where}: give a field or a constant value")
        columns.append(Column(item["title"], field, str(item.get("value", ""))))
    if not columns:
        raise ValueError(f"{path}: no [[columns]]: list the columns in the platform's order")
    return columns, encoding


def write_ratings(
    path: Path,
    measures: Measures,
    ratings: Sequence[Rating],
    columns: Sequence[Column],
    encoding: str = CSV_ENCODING,
) -> int:
    """One row per rating, the columns as given; returns the number of rows."""
    services = measures.names("service")
    departments = measures.names("department")
    clerks = measures.names("clerk")

    def cell(rating: Rating, column: Column) -> Any:
        values = {
            "ticket": rating.ticket,
            "number": rating.number,
            "service": rating.service,
            "service_name": services.get(rating.service, rating.service),
            "department": rating.department,
            "department_name": departments.get(rating.department, rating.department),
            "window": rating.window,
            "clerk": rating.clerk,
            "clerk_name": clerks.get(rating.clerk, rating.clerk),
            "time": rating.at,
            "score": rating.score,
            "level": LEVELS.get(rating.score, ""),
            "reasons": "；".join(rating.reasons),
        }
        return values[column.field] if column.field else column.value

    with path.open("w", newline="", encoding=encoding) as f:
        writer = csv.writer(f)
        writer.writerow([c.title for c in columns])
        for rating in ratings:
            writer.writerow([cell(rating, c) for c in columns])
    return len(ratings)
