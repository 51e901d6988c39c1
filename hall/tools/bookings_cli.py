"""`hallq bookings import FILE.csv [--config F] [--operator ID]`: send a CSV of bookings to a running hall.

Each row becomes the operator op `booking_add` (docs/rules.md), sent through the client library as
the operator device, so the hall checks and stores it like any other request and the import needs no
access to the hall's data folder. The CSV has a header with at least `code,service,day,slot`
(`B7F3K2,psb-id-card,2026-11-27,09:30`); other columns (a name, a phone number) are ignored and
never sent. UTF-8 with or without a BOM (as spreadsheet programs write it).

Running the same file twice is harmless: a booking the hall already has unchanged is reported as
such. A row the hall refuses is reported with its line number and the contract's error code; the
other rows still go. Exit status: 0 all rows accepted, 1 some row refused or not answered, 2 the
file, the config or the broker address cannot be used.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from contract.client import HallClient, RequestRefused, RequestTimeout
from contract.mqtt_url import URL_ENV, BrokerUrlError, broker_address
from hall.config.schema import ConfigError, HallConfig, load_config
from hall.engine.requests import BOOKING_CODE, BOOKING_DAY, BOOKING_SLOT

log = logging.getLogger(__name__)

CONFIG_ENV = "HALLQ_CONFIG"
COLUMNS = ("code", "service", "day", "slot")
MAX_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class Row:
    line: int  # in the file, for messages (the header is line 1)
    code: str
    service: str
    day: str
    slot: str


class ImportFileError(Exception):
    """The file cannot be read as a bookings CSV at all."""


def read_rows(path: Path) -> tuple[list[Row], list[str]]:
    """The rows of a bookings CSV, and a message per row that cannot be a booking (not sent)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip().lower() for name in reader.fieldnames or []]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise ImportFileError(
                    f"{path}: the header needs the columns {', '.join(COLUMNS)} "
                    f"(missing: {', '.join(missing)})"
                )
            reader.fieldnames = header
            rows: list[Row] = []
            problems: list[str] = []
            for record in reader:
                line = reader.line_num
                values = {c: (record.get(c) or "").strip() for c in COLUMNS}
                if not any(values.values()):
                    continue  # a blank line
                bad = _row_problem(values)
                if bad:
                    problems.append(f"line {line}: {bad}")
                    continue
                rows.append(Row(line, **values))
                if len(rows) > MAX_ROWS:
                    raise ImportFileError(f"{path}: more than {MAX_ROWS} bookings: split the file")
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ImportFileError(f"{path}: cannot be read as UTF-8 CSV: {exc}") from None
    return rows, problems


def _row_problem(values: dict[str, str]) -> str | None:
    if not BOOKING_CODE.match(values["code"]):
        return f"code {values['code']!r} is not a booking code (letters, digits, - or _)"
    if not values["service"]:
        return "the service is empty"
    if not BOOKING_DAY.match(values["day"]):
        return f"day {values['day']!r} is not YYYY-MM-DD"
    if not BOOKING_SLOT.match(values["slot"]):
        return f"slot {values['slot']!r} is not HH:MM"
    return None


@dataclass
class Summary:
    added: int = 0
    unchanged: int = 0
    refused: int = 0
    unanswered: int = 0
    invalid: int = 0

    @property
    def ok(self) -> bool:
        return not (self.refused or self.unanswered or self.invalid)

    def __str__(self) -> str:
        return (
            f"{self.added} added, {self.unchanged} unchanged, {self.refused} refused, "
            f"{self.unanswered} not answered, {self.invalid} not bookings"
        )


def send_rows(
    client: HallClient, rows: Sequence[Row], summary: Summary, timeout: float = 3.0
) -> None:
    """booking_add for every row, one after the other (the client retries under the same id)."""
    for row in rows:
        try:
            result = client.request(
                "booking_add",
                timeout=timeout,
                code=row.code,
                service=row.service,
                day=row.day,
                slot=row.slot,
            )
        except RequestRefused as exc:
            summary.refused += 1
            print(f"line {row.line}: {row.code}: {exc.code}: {exc.message}", file=sys.stderr)
            continue
        except RequestTimeout as exc:
            summary.unanswered += 1
            print(f"line {row.line}: {row.code}: {exc}", file=sys.stderr)
            continue
        if result.get("changed") is False:
            summary.unchanged += 1
        else:
            summary.added += 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hallq bookings",
        description="Send bookings to a running hall (operator op booking_add).",
        epilog=(
            "The broker address is HALLQ_MQTT_URL (the operator's env file of `hallq broker-config` "
            "has it with the operator's credentials), else the config's [broker]."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    imp = commands.add_parser("import", help="send every row of a CSV (code,service,day,slot)")
    imp.add_argument("file", type=Path, help="the CSV file")
    imp.add_argument(
        "--config",
        default=os.environ.get(CONFIG_ENV),
        help=f"the hall config (TOML; default: ${CONFIG_ENV})",
    )
    imp.add_argument("--operator", help="the operator device to act as (default: the first one)")
    imp.add_argument("--url", help=f"broker URL (default: ${URL_ENV}, else the config's)")
    imp.add_argument("--timeout", type=float, default=3.0, help="seconds per attempt")
    return parser


def _fail(message: str) -> int:
    print(f"hallq bookings: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.config:
        return _fail(f"give --config FILE (or set {CONFIG_ENV})")
    try:
        config: HallConfig = load_config(args.config)
    except ConfigError as exc:
        return _fail(f"the config cannot be used:\n{exc}")
    operators = [o.id for o in config.operators]
    operator = args.operator or (operators[0] if operators else None)
    if operator is None or operator not in operators:
        known = ", ".join(operators) or "none"
        return _fail(f"no operator {operator!r} in the config (operators: {known})")
    try:
        rows, problems = read_rows(args.file)
    except ImportFileError as exc:
        return _fail(str(exc))
    summary = Summary(invalid=len(problems))
    for problem in problems:
        print(problem, file=sys.stderr)
    env = dict(os.environ)
    if args.url:
        env[URL_ENV] = args.url
    try:
        address = broker_address(config.broker, env)
    except BrokerUrlError as exc:
        return _fail(str(exc))
    try:
        client = HallClient.connect(address, config.site.id, "operator", operator)
    except (ConnectionError, OSError) as exc:
        print(f"hallq bookings: cannot reach the broker: {exc}", file=sys.stderr)
        return 1
    with client:
        send_rows(client, rows, summary, args.timeout)
    print(f"{args.file}: {summary}")
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
