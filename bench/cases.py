"""What one publication of the retained `cases` costs the hall's worker (issue 21, time limits).

    .venv/bin/python bench/cases.py [--cases 1000,10000,100000] [--runs 5]

The prefecture example hall (243 services, 42 departments) with N open cases spread over the
services with a promised time, accepted over November 2026; the median time of `Engine.cases(now)`
(the counts and the list kept by hall/engine/handlers/cases.py CaseIndex, cut to 50 a department and
1000 in all) plus its JSON, and the payload's size; and the first publication of a date, which
builds the index (the states on the working calendar, each department's cases sorted). The service publishes it at most every 2 s (hall/service/service.py
CASES_INTERVAL), and defers it while requests wait.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contract.protocol import dumps  # noqa: E402
from hall.config.schema import load_config  # noqa: E402
from hall.engine.cases import add_working_days  # noqa: E402
from hall.engine.engine import Engine  # noqa: E402
from hall.engine.model import OpenCase  # noqa: E402

EXAMPLE = ROOT / "deploy" / "examples" / "prefecture-hall.toml"


def engine_with(count: int) -> Engine:
    config = load_config(EXAMPLE)
    engine = Engine(config)
    promised = [s for s in config.services if s.promised_days > 0]
    for i in range(count):
        service = promised[i % len(promised)]
        accepted = date(2026, 11, 1 + i % 26)
        due = add_working_days(config.calendar, accepted, service.promised_days)
        case_id = f"{accepted:%Y%m%d}-X{i:06d}"
        engine.state.cases[case_id] = OpenCase(
            case_id, f"X{i:06d}", service.code, service.department, "w001", "c0001",
            accepted.isoformat(), due.isoformat(),
        )  # fmt: skip
    return engine


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for count in (int(n) for n in args.cases.split(",")):
        engine = engine_with(count)
        now = datetime(2026, 11, 26, 10, 0, tzinfo=engine.zone)
        started = time.perf_counter()
        dumps(engine.cases(now))
        first = time.perf_counter() - started
        times, size = [], 0
        for _ in range(args.runs):
            started = time.perf_counter()
            size = len(dumps(engine.cases(now)))
            times.append(time.perf_counter() - started)
        print(
            f"{count:>7} open cases: {statistics.median(times) * 1000:7.1f} ms a publication "
            f"(median of {args.runs}), {size / 1024:6.0f} KB; the first of a date "
            f"{first * 1000:7.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
