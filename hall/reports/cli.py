"""`hallq report`: the figures the centre reports upward, from the hall's stored events.

    hallq report --config FILE --data DIR --from DATE [--to DATE] [--department D]
                 --format xlsx|csv|html --out PATH
    hallq report --ratings-export --config FILE --data DIR --from DATE [--to DATE]
                 [--mapping FILE] --out FILE.csv

Reads the store read-only, in one read transaction, also while the hall runs (it never waits on
the hall, nor the hall on it). What each figure means: docs/reports.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import date, datetime
from pathlib import Path

from hall.config.schema import ConfigError, load_config
from hall.engine.measures import Measures
from hall.reports.files import (
    default_columns,
    load_mapping,
    tables,
    write_csv,
    write_html,
    write_ratings,
)
from hall.reports.read import read_events
from hall.store.store import StorageError

log = logging.getLogger(__name__)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write YYYY-MM-DD") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hallq report",
        description="Write the figures of a period (business days) from the hall's stored events.",
    )
    parser.add_argument("--config", default=os.environ.get("HALLQ_CONFIG"), help="the hall config")
    parser.add_argument(
        "--data",
        default=os.environ.get("HALLQ_DATA_DIR"),
        help="the hall's data folder (default: $HALLQ_DATA_DIR)",
    )
    parser.add_argument("--from", dest="first", type=_day, required=True, help="first day")
    parser.add_argument("--to", dest="last", type=_day, help="last day (default: --from)")
    parser.add_argument("--department", help="only this department's figures")
    parser.add_argument(
        "--as-of",
        type=_day,
        help="the day cases are flagged for (near due, overdue); default: today in the hall",
    )
    parser.add_argument("--format", choices=("xlsx", "csv", "html"), default="xlsx")
    parser.add_argument(
        "--out", required=True, help="the file to write (csv: a folder, one file per table)"
    )
    parser.add_argument(
        "--ratings-export",
        action="store_true",
        help="write one csv row per rating (好差评) instead of the report",
    )
    parser.add_argument("--mapping", help="with --ratings-export: the platform's column mapping")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.config or not args.data:
        print(
            "hallq report: give --config and --data (or HALLQ_CONFIG, HALLQ_DATA_DIR)",
            file=sys.stderr,
        )
        return 2
    last = args.last or args.first
    if last < args.first:
        print("hallq report: --to is before --from", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"hallq report: {exc}", file=sys.stderr)
        return 2
    if args.department and args.department not in {d.code for d in config.departments}:
        codes = ", ".join(d.code for d in config.departments)
        print(
            f"hallq report: unknown department {args.department!r}: one of {codes}", file=sys.stderr
        )
        return 2
    columns, encoding = default_columns(), "utf-8-sig"
    if args.mapping:
        try:
            columns, encoding = load_mapping(Path(args.mapping))
        except ValueError as exc:
            print(f"hallq report: {exc}", file=sys.stderr)
            return 2
    out = Path(args.out)
    if not out.parent.is_dir():  # (csv: --out is a folder, made inside an existing one)
        print(f"hallq report: no folder {out.parent}: make it first", file=sys.stderr)
        return 2
    measures = Measures(config, department=args.department)
    try:
        measures.feed_all(read_events(args.data, config.site.id, args.first, last))
    except StorageError as exc:
        print(f"hallq report: {exc}", file=sys.stderr)
        return 1
    if args.ratings_export:
        rows = write_ratings(out, measures, measures.ratings, columns, encoding)
        print(f"{rows} ratings written to {out}")
        return 0
    period = args.first.isoformat() if last == args.first else f"{args.first} — {last}"
    title = f"{config.site.name} 统计报表 {period}"
    if args.department:
        title += f" {measures.names('department')[args.department]}"
    from hall.reports.charts import charts  # matplotlib: only when a report is drawn

    as_of = args.as_of or datetime.now(config.site.zone).date()
    drawn = charts(measures, as_of)
    sheets = tables(measures, period, as_of)
    if args.format == "csv":
        write_csv(out, sheets, drawn)
    elif args.format == "html":
        write_html(out, title, sheets, drawn)
    else:
        from hall.reports.xlsx import write_xlsx

        write_xlsx(out, sheets, drawn)
    totals = measures.totals()
    print(f"{title}: {totals['issued']} issued, {totals['served']} served -> {out}")
    return 0
