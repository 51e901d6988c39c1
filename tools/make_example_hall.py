#!/usr/bin/env python3
"""Generate the example hall configs from the reference data in deploy/examples/data/.

    .venv/bin/python tools/make_example_hall.py            # rewrite both examples
    .venv/bin/python tools/make_example_hall.py --check    # exit 1 if a committed file is stale

Writes deploy/examples/prefecture-hall.toml (all 42 departments, 243 services, 105 windows) and
deploy/examples/small-hall.toml (4 departments, 6 windows). The output is deterministic, so a test
can check that the committed files are what this script makes.

The id scheme (docs/config.md repeats it):
- windows are numbered 1..105 floor by floor, departments in the order of departments.csv within a
  floor; window N has id "w" + N in 3 digits (w005) and name "N号窗口" (5号窗口);
- a clerk's id is "c" + the window number in 3 digits + a seat number in 2 digits: c00501 is the
  window's own clerk; seat 02 (c00502) is a standby clerk, made only for a department with a single
  window. Every roster starts with the window's own clerk, then a colleague who can cover: the own
  clerk of the department's next window (cyclically), or the standby clerk. So every window can be
  opened at once, each by its own clerk. A clerk's keypad code is the digits of its id (00501);
- tiers: tier 1 holds the department's most requested items (the first half of its list in
  services.csv, which lists them most requested first), tier 2 the rest. In a department with 3 or
  more windows, its last window takes tier 2 first (a window for the long, complex matters, so they
  never wait behind a stream of quick ones). The window of a single-window department also serves, as
  a third tier, the most requested items of a related department (RELATED below);
- evaluators "e" + window digits (e005), one per window; window displays "wd-" + window digits.

The rules (docs/rules.md): the hall's hours are mon-fri 09:00-12:00 and 13:30-17:00 on China's 2026
working calendar (CALENDAR_2026); a few popular items also open on Saturday mornings, a few only in
the afternoon (OWN_HOURS); a few have a daily cap of at least 200 with a warning level (CAPS). Every
kiosk has a rate limit no visitor reaches (KIOSK_RATE_LIMIT).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "deploy" / "examples"
DATA = EXAMPLES / "data"

# Floors of the hall: the busiest departments, the enquiry desk, the utilities and the Disabled
# Persons' Federation are on the ground floor; every department not named is on 3F.
FLOORS: dict[str, list[str]] = {
    "1F": [
        "psb", "tax", "amr", "hrss", "consult", "bank", "ems", "power", "cmcc", "watersup", "dpf",
    ],
    "2F": ["nr", "hpf", "hcd", "hsa", "mca", "trans", "health", "edu", "notary", "veterans"],
}  # fmt: skip
TOP_FLOOR = "3F"

# A single-window department's window also serves the most requested items of a related one.
RELATED: dict[str, str] = {
    "commerce": "amr", "dpf": "mca", "justice": "notary", "miit": "sci", "sci": "miit",
    "ethnic": "mca", "finance": "tax", "stats": "ndrc", "meteo": "ema", "seismic": "ema",
    "civdef": "hcd", "archives": "nr", "grain": "commerce", "veterans": "hrss",
    "tobacco": "amr", "watersup": "power",
}  # fmt: skip
RELATED_ITEMS = 4  # how many of the related department's items the extra tier takes

# China's 2026 public holidays and make-up working days (调休), as the State Council's notice of
# 2025-11-04 (国务院办公厅关于2026年部分节假日安排的通知) gives them; checked against that notice as
# reprinted by news sites. Add the next year's when it is published (usually in November).
HOLIDAYS_2026 = [
    ("元旦", "2026-01-01", "2026-01-03", ["2026-01-04"]),
    ("春节", "2026-02-15", "2026-02-23", ["2026-02-14", "2026-02-28"]),
    ("清明节", "2026-04-04", "2026-04-06", []),
    ("劳动节", "2026-05-01", "2026-05-05", ["2026-05-09"]),
    ("端午节", "2026-06-19", "2026-06-21", []),
    ("中秋节", "2026-09-25", "2026-09-27", []),
    ("国庆节", "2026-10-01", "2026-10-07", ["2026-09-20", "2026-10-10"]),
]  # (name, first day off, last day off, make-up working days)
HALL_HOURS = [
    {"days": "mon-fri", "from": "09:00", "to": "12:00"},
    {"days": "mon-fri", "from": "13:30", "to": "17:00"},
]
SATURDAY_MORNING = {"days": "sat", "from": "09:00", "to": "12:00"}
AFTERNOON = {"days": "mon-fri", "from": "13:30", "to": "17:00"}
# Tickets a minute from one kiosk: a visitor takes one in several seconds (touch, print, take it),
# so only a stuck or hostile kiosk reaches it.
KIOSK_RATE_LIMIT = 20
# Services with hours of their own: the most asked-for items also open on Saturday mornings
# (周六上午延时服务); items whose back office works in the mornings take visitors in the afternoon.
OWN_HOURS: dict[str, list[dict[str, str]]] = {
    "psb-id-card-apply": [*HALL_HOURS, SATURDAY_MORNING],
    "psb-id-card-renew": [*HALL_HOURS, SATURDAY_MORNING],
    "hrss-si-card-apply": [*HALL_HOURS, SATURDAY_MORNING],
    "hpf-withdraw-rent": [*HALL_HOURS, SATURDAY_MORNING],
    "tax-export-refund": [AFTERNOON],
    "nr-cert-reissue": [AFTERNOON],
}
# Daily caps (号源) where a back office can process only so many a day: (cap, warning level).
CAPS: dict[str, tuple[int, int]] = {
    "psb-passport": (200, 170),
    "psb-vehicle-reg": (200, 170),
    "nr-transfer-reg": (240, 200),
    "hpf-withdraw-purchase": (300, 250),
}


def holiday_groups() -> list[tuple[str, list[date], list[date]]]:
    """Per holiday: its name, its days off, its make-up working days."""
    groups = []
    for name, first, last, workdays in HOLIDAYS_2026:
        days, day, end = [], date.fromisoformat(first), date.fromisoformat(last)
        while day <= end:
            days.append(day)
            day += timedelta(days=1)
        groups.append((name, days, sorted(date.fromisoformat(d) for d in workdays)))
    return groups


def calendar_2026() -> dict[str, Any]:
    groups = holiday_groups()
    return {
        "weekend": ["sat", "sun"],
        "makeup_hours_as": "mon",
        "hours": HALL_HOURS,
        "years": [
            {
                "year": 2026,
                "holidays": [d for _, days, _ in groups for d in days],
                "workdays": sorted(d for _, _, workdays in groups for d in workdays),
            }
        ],
    }


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
GIVEN = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
    "明", "超", "秀英", "霞", "平", "刚", "桂英", "建华", "文", "华", "红", "玲", "丹", "萍", "鑫",
]  # fmt: skip


@dataclass(frozen=True)
class Department:
    code: str
    name_zh: str
    name_en: str
    prefix: str
    windows: int


@dataclass(frozen=True)
class Service:
    code: str
    department: str
    name_zh: str
    name_en: str
    avg_minutes: float
    promised_days: int
    needs_appointment: bool


def read_data(folder: Path = DATA) -> tuple[list[Department], list[Service]]:
    with (folder / "departments.csv").open(encoding="utf-8", newline="") as handle:
        departments = [
            Department(r["code"], r["name_zh"], r["name_en"], r["prefix"], int(r["windows"]))
            for r in csv.DictReader(handle)
        ]
    with (folder / "services.csv").open(encoding="utf-8", newline="") as handle:
        services = [
            Service(
                r["code"],
                r["department"],
                r["name_zh"],
                r["name_en"],
                float(r["avg_minutes"]),
                int(r["promised_days"]),
                r["needs_appointment"].strip().lower() == "true",
            )
            for r in csv.DictReader(handle)
        ]
    return departments, services


def floor_of(code: str) -> str:
    for floor, codes in FLOORS.items():
        if code in codes:
            return floor
    return TOP_FLOOR


def clerk_name(index: int) -> str:
    # Deterministic, varied names: walk the surnames and the given names at different strides.
    return (
        SURNAMES[index % len(SURNAMES)] + GIVEN[(index * 7 + index // len(SURNAMES)) % len(GIVEN)]
    )


def split_tiers(codes: list[str]) -> tuple[list[str], list[str]]:
    """The most requested first half, and the rest (which may be empty)."""
    half = (len(codes) + 1) // 2
    return codes[:half], codes[half:]


@dataclass
class Hall:
    """The plain data of a hall config, in the order the TOML lists it."""

    site: dict[str, Any]
    departments: list[dict[str, Any]]
    services: list[dict[str, Any]]
    windows: list[dict[str, Any]]
    clerks: list[dict[str, Any]]
    kiosks: list[dict[str, Any]]
    displays: list[dict[str, Any]]
    evaluators: list[dict[str, Any]]
    bridges: list[dict[str, Any]]
    operators: list[dict[str, Any]]


def build_windows(
    departments: list[Department],
    services: list[Service],
    related: dict[str, str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Windows and clerks for these departments, numbered 1.. floor by floor."""
    by_department: dict[str, list[str]] = {d.code: [] for d in departments}
    for s in services:
        by_department[s.department].append(s.code)
    floors = sorted({floor_of(d.code) for d in departments})
    ordered = [d for floor in floors for d in departments if floor_of(d.code) == floor]

    windows: list[dict[str, Any]] = []
    clerks: list[dict[str, Any]] = []
    number = 0
    for d in ordered:
        first, second = split_tiers(by_department[d.code])
        numbers = list(range(number + 1, number + d.windows + 1))
        number += d.windows
        for k, no in enumerate(numbers):
            own = f"c{no:03d}01"
            tiers = [first, second] if second else [first]
            if d.windows >= 3 and k == len(numbers) - 1 and second:
                tiers = [second, first]
            if d.windows == 1:
                colleague = f"c{no:03d}02"
                other = related.get(d.code)
                if other in by_department:
                    extra = [c for c in by_department[other][:RELATED_ITEMS] if c not in first]
                    tiers = [*tiers, extra] if extra else tiers
            else:
                colleague = f"c{numbers[(k + 1) % len(numbers)]:03d}01"
            windows.append(
                {
                    "id": f"w{no:03d}",
                    "no": no,
                    "name": f"{no}号窗口",
                    "area": floor_of(d.code),
                    "tiers": tiers,
                    "clerks": [own, colleague],
                }
            )
            clerks.append({"id": own, "name": clerk_name(len(clerks)), "keypad_code": own[1:]})
            if d.windows == 1:
                clerks.append(
                    {"id": colleague, "name": clerk_name(len(clerks)), "keypad_code": colleague[1:]}
                )
    return windows, clerks


def department_rows(departments: Iterable[Department]) -> list[dict[str, Any]]:
    return [
        {"code": d.code, "name_zh": d.name_zh, "name_en": d.name_en, "prefix": d.prefix}
        for d in departments
    ]


def service_rows(services: Iterable[Service]) -> list[dict[str, Any]]:
    rows = []
    for s in services:
        row: dict[str, Any] = {
            "code": s.code,
            "department": s.department,
            "name_zh": s.name_zh,
            "name_en": s.name_en,
            "avg_minutes": s.avg_minutes,
            "promised_days": s.promised_days,
        }
        if s.needs_appointment:
            row["needs_appointment"] = True
        if s.code in OWN_HOURS:
            row["hours"] = OWN_HOURS[s.code]
        if s.code in CAPS:
            row["cap"], row["cap_warn"] = CAPS[s.code]
        rows.append(row)
    return rows


def prefecture_hall(departments: list[Department], services: list[Service]) -> Hall:
    windows, clerks = build_windows(departments, services, RELATED)
    by_floor: dict[str, list[str]] = {}
    for w in windows:
        by_floor.setdefault(w["area"], []).append(w["id"])
    psb_tax = [w["id"] for w in windows[:16]]  # the first 16 windows: psb and tax, 1F

    kiosks = [
        {"id": "k01", "name": "1F 东门取号机 1"},
        {"id": "k02", "name": "1F 东门取号机 2"},
        {"id": "k03", "name": "1F 西门取号机"},
        {"id": "k04", "name": "2F 取号机"},
        {"id": "k05", "name": "1F 服务台取号机 1（绿色通道）", "allow_priority": True},
        {"id": "k06", "name": "1F 服务台取号机 2（绿色通道）", "allow_priority": True},
    ]
    kiosks = [{**k, "rate_limit_per_min": KIOSK_RATE_LIMIT} for k in kiosks]
    displays: list[dict[str, Any]] = [
        {
            "id": "screen-lobby",
            "name": "1F 大厅主屏",
            "kind": "hall",
            "pages": {"hall_seconds": 60, "sunshine_seconds": 15},
        }
    ]
    for floor in sorted(by_floor):
        displays.append(
            {"id": f"screen-{floor.lower()}", "name": f"{floor} 楼层综合屏", "areas": [floor]}
        )
    for wid in psb_tax:
        displays.append(
            {"id": f"wd-{wid[1:]}", "name": f"{wid} 窗口屏", "kind": "window", "window": wid}
        )
    evaluators = [{"id": f"e{w['id'][1:]}", "window": w["id"]} for w in windows]
    bridges = [
        {
            "id": "led-2f",
            "kind": "led",
            "windows": by_floor.get("2F", []),
            "bus": {
                "port": "/dev/ttyUSB0",
                "baudrate": 9600,
                "protocol": "gb-frame",
                "boards": [
                    {"address": n + 1, "window": wid}
                    for n, wid in enumerate(by_floor.get("2F", []))
                ],
            },
        },
        {
            "id": "keypad-3f",
            "kind": "keypad",
            "windows": by_floor.get("3F", []),
            "bus": {
                "port": "/dev/ttyUSB1",
                "baudrate": 9600,
                "keypads": [
                    {"address": n + 1, "window": wid}
                    for n, wid in enumerate(by_floor.get("3F", []))
                ],
            },
        },
    ]
    operators = [
        {"id": "op-monitor-1", "name": "监控室 值班长"},
        {"id": "op-monitor-2", "name": "监控室 值班员"},
    ]
    return Hall(
        site={
            "id": "prefecture",
            "name": "州政务服务中心",
            "name_en": "Prefecture Government Service Centre",
            "tz": "Asia/Shanghai",
            "rollover": "03:00",
            "language": "zh",
        },
        departments=department_rows(departments),
        services=service_rows(services),
        windows=windows,
        clerks=clerks,
        kiosks=kiosks,
        displays=displays,
        evaluators=evaluators,
        bridges=bridges,
        operators=operators,
    )


SMALL_DEPARTMENTS = ("psb", "tax", "hpf", "consult")
SMALL_WINDOWS = {"psb": 2, "tax": 2, "hpf": 1, "consult": 1}
SMALL_SERVICES_PER_DEPARTMENT = 4


def small_hall(departments: list[Department], services: list[Service]) -> Hall:
    chosen = [d for d in departments if d.code in SMALL_DEPARTMENTS]
    chosen = [
        Department(d.code, d.name_zh, d.name_en, d.prefix, SMALL_WINDOWS[d.code]) for d in chosen
    ]
    picked: list[Service] = []
    for d in chosen:
        picked += [s for s in services if s.department == d.code][:SMALL_SERVICES_PER_DEPARTMENT]
    windows, clerks = build_windows(chosen, picked, {"hpf": "tax"})
    return Hall(
        site={
            "id": "small",
            "name": "示例政务服务大厅",
            "name_en": "Example Service Hall",
            "tz": "Asia/Shanghai",
            "rollover": "03:00",
            "language": "zh",
        },
        departments=department_rows(chosen),
        services=service_rows(picked),
        windows=windows,
        clerks=clerks,
        kiosks=[
            {"id": "k01", "name": "取号机", "rate_limit_per_min": KIOSK_RATE_LIMIT},
            {
                "id": "k02",
                "name": "服务台取号机（绿色通道）",
                "allow_priority": True,
                "rate_limit_per_min": KIOSK_RATE_LIMIT,
            },
        ],
        displays=[
            {
                "id": "screen-hall",
                "name": "大厅屏",
                "kind": "hall",
                "pages": {"hall_seconds": 60, "sunshine_seconds": 15},
            },
            {"id": "wd-001", "name": "1号窗口屏", "kind": "window", "window": "w001"},
        ],
        evaluators=[{"id": f"e{w['id'][1:]}", "window": w["id"]} for w in windows],
        bridges=[],
        operators=[{"id": "op-1", "name": "值班长"}],
    )


# --- TOML output -------------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()  # a TOML local date
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {value!r}")


def table(name: str, row: dict[str, Any], array: bool = True) -> list[str]:
    lines = [f"[[{name}]]" if array else f"[{name}]"]
    for key, value in row.items():
        if key == "rollover":
            lines.append(f"{key} = {value}:00")  # a TOML local time
        else:
            lines.append(f"{key} = {toml_value(value)}")
    return lines


def _calendar_lines(calendar: dict[str, Any]) -> list[str]:
    lines = ["[calendar]"]
    lines += [f"{k} = {toml_value(calendar[k])}" for k in ("weekend", "makeup_hours_as", "hours")]
    for year in calendar["years"]:
        lines += ["", "[[calendar.years]]", f"year = {year['year']}"]
        # One line per holiday, with its name: the reader checks it against the year's notice.
        groups = [g for g in holiday_groups() if g[1][0].year == year["year"]]
        lines.append("holidays = [")
        lines += [f"  {', '.join(map(str, days))},  # {name}" for name, days, _ in groups]
        lines.append("]")
        lines.append("workdays = [")
        lines += [
            f"  {', '.join(map(str, workdays))},  # {name}"
            for name, _, workdays in groups
            if workdays
        ]
        lines.append("]")
    return lines


def render(hall: Hall, header: str) -> str:
    counts = {
        "departments": len(hall.departments),
        "services": len(hall.services),
        "windows": len(hall.windows),
    }
    out = [*header.format(**counts).strip().splitlines(), ""]
    out += table("site", hall.site, array=False)
    out += [
        "",
        "[limits]",
        "recall_cap = 3",
        "rating_seconds = 120",
        "number_width = 3",
        "reprint_limit = 2",
        "estimate_samples = 10",
        "target_wait_min = 20",
        "",
        "# The hall server's own connection. Every device gets its URL, credentials and CA from the",
        "# environment file `hallq broker-config` writes for it (HALLQ_MQTT_URL, HALLQ_MQTT_CA).",
        "[broker]",
        'url = "mqtt://127.0.0.1:1883"',
        "keepalive = 30",
        "",
        '# Prometheus metrics for the centre\'s IT (docs/deploying.md "Metrics"): remove the `#` of',
        "# the two lines below to serve them on the loopback. No section: no listener.",
        "# [metrics]",
        '# address = "127.0.0.1:9464"',
        "",
        "# The monitoring room's alarms (docs/config.md): people waiting in a department, its longest",
        "# wait, a window paused or idle too long, a kiosk, screen or bridge not heard from. Public",
        "# security's queue is long every morning: it has its own thresholds.",
        "[alarms]",
        "queue_long = 30",
        "wait_long_min = 30",
        "paused_max_min = 15",
        "idle_max_min = 10",
        "device_grace_s = 120",
        "",
        "[[alarms.departments]]",
        'department = "psb"',
        "queue_long = 50",
        "wait_long_min = 45",
        "",
        "# Opening hours on the working calendar: weekends off, the year's public holidays off and its",
        "# make-up working days (调休) open with Monday's hours. A service without `hours` of its own",
        "# opens with these. docs/rules.md says how hours, caps and bookings work.",
        *_calendar_lines(calendar_2026()),
    ]
    sections = [
        (
            "departments",
            hall.departments,
            "Departments: ticket numbers are prefix + daily sequence.",
        ),
        (
            "services",
            hall.services,
            "Service items; avg_minutes seeds the waiting estimate; hours (none: the hall's),\n"
            "# cap (tickets a day) and cap_warn (the level that raises an alarm) where set.",
        ),
        ("windows", hall.windows, "Windows: tiers are called in order; clerks is the roster."),
        ("clerks", hall.clerks, "Clerks: no pin_hash, so they log in without a PIN (demo)."),
        (
            "kiosks",
            hall.kiosks,
            "Kiosks: allow_priority may issue green-channel tickets. rate_limit_per_min: more tickets\n"
            "# a minute than a visitor can take, so only a stuck or hostile kiosk reaches it (each\n"
            "# refusal is an answer stored for 7 days). Benches and simulated days use a copy without.",
        ),
        (
            "displays",
            hall.displays,
            "Displays: kind hall (综合屏, its areas; none: the whole hall) or window (窗口屏).",
        ),
        ("evaluators", hall.evaluators, "Evaluators: one per window."),
        ("bridges", hall.bridges, "Hardware bridges: LED boards and caller keypads on a bus."),
        ("operators", hall.operators, "Operators: the supervisors' tools in the monitoring room."),
    ]
    for name, rows, comment in sections:
        if not rows:
            continue
        out += ["", f"# {comment}"]
        for row in rows:
            out += [*table(name, row), ""]
        out.pop()
    return "\n".join(out) + "\n"


PREFECTURE_HEADER = """
# The example prefecture service centre: {departments} departments, {services} services, {windows} windows.
# GENERATED by tools/make_example_hall.py from deploy/examples/data/: edit the script, not this file.
# Ids: window N is "w" + N in 3 digits (w005, "5号窗口"); its own clerk is c + window digits + 01
# (c00501), and the roster's second clerk is a colleague of the same department who can cover.
# Validate a change with: hallq check-config --config deploy/examples/prefecture-hall.toml
"""

SMALL_HEADER = """
# A small hall for quick starts: {departments} departments, {services} services, {windows} windows.
# GENERATED by tools/make_example_hall.py from deploy/examples/data/: edit the script, not this file.
# Ids: window N is "w" + N in 3 digits (w005, "5号窗口"); its own clerk is c + window digits + 01
# (c00501), and the roster's second clerk is a colleague of the same department who can cover.
# Validate a change with: hallq check-config --config deploy/examples/small-hall.toml
"""


def outputs() -> dict[Path, str]:
    departments, services = read_data()
    return {
        EXAMPLES / "prefecture-hall.toml": render(
            prefecture_hall(departments, services), PREFECTURE_HEADER
        ),
        EXAMPLES / "small-hall.toml": render(small_hall(departments, services), SMALL_HEADER),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check the files are current")
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(path)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    for path in stale:
        print(f"{path.relative_to(ROOT)} is stale: run tools/make_example_hall.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
