"""The report bench: a month of the prefecture hall in a store, then the month's figures, then the xlsx.

    .venv/bin/python bench/report.py [--tickets 150000] [--month 2026-11] [--dir FOLDER] [--keep]
        [--repeat N]

1. Generates the month (deploy/examples/prefecture-hall.toml, 105 windows): each working day of the
   hall's calendar gets its share of the tickets, played through the engine (hall/tools/report_sample.py)
   into a store; more visitors than the windows can serve, so many tickets expire at the rollover.
   Runs in a child process (its memory is not the report's); with --keep, a store already in
   FOLDER/report-month is reused.
2. Reads the month's events read-only and computes every measure (hall/engine/measures.py).
   Goal: under 10 s.
3. Writes the xlsx with its charts (the figures again, then the workbook). Goal: under 30 s.
Prints the times and this process's peak resident memory (goal: under 500 MB), and beside them
the run's floor: the time to only read and decode the same events (no measure), so that a figure
taken on a loaded shared machine can be judged by its ratio to the floor of the same run.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hall.config.schema import load_config  # noqa: E402
from hall.engine.measures import DIMENSIONS, Measures  # noqa: E402
from hall.reports.read import read_events  # noqa: E402

CONFIG = ROOT / "deploy/examples/prefecture-hall.toml"
GOAL_FIGURES_S, GOAL_XLSX_S, GOAL_MB = 10.0, 30.0, 500


def month_days(month: str) -> list[date]:
    first = date.fromisoformat(f"{month}-01")
    days, day = [], first
    while day.month == first.month:
        days.append(day)
        day += timedelta(days=1)
    return days


def generate(folder: Path, month: str, tickets: int) -> None:
    from hall.tools.report_sample import Recorder, play_day

    config = load_config(CONFIG)
    working = [d for d in month_days(month) if config.calendar.is_working_day(d)]
    per_day = round(tickets / len(working))
    recorder = Recorder(config, folder)
    started = time.perf_counter()
    try:
        for n, day in enumerate(working):
            play_day(recorder, day, per_day, seed=n)
            print(f"  {day}: {time.perf_counter() - started:.0f} s", flush=True)
    finally:
        recorder.close()


def _times(
    seconds: tuple[float, float], best: str, floor: tuple[float, float] | None = None
) -> str:
    wall, cpu = seconds
    ratio = f", {wall / floor[0]:.1f}x the floor" if floor else ""
    return f"{wall:.1f} s ({best}{cpu:.1f} s of CPU{ratio})"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=150_000)
    parser.add_argument("--month", default="2026-11")
    parser.add_argument("--dir", type=Path, default=ROOT / "artifacts")
    parser.add_argument("--keep", action="store_true", help="reuse a store generated before")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure N rounds and print the best of each (a shared machine's load varies)",
    )
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    folder = args.dir / "report-month"
    if args.generate_only:
        generate(folder, args.month, args.tickets)
        return 0
    if not (args.keep and (folder / "hall.sqlite3").exists()):
        if folder.exists():
            for path in folder.iterdir():
                path.unlink()
        folder.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.tickets} tickets of {args.month} into {folder} ...")
        started = time.perf_counter()
        argv_child = [sys.executable, __file__, "--generate-only", "--dir", str(args.dir)]
        argv_child += ["--month", args.month, "--tickets", str(args.tickets)]
        subprocess.run(argv_child, check=True)
        print(f"  generated in {time.perf_counter() - started:.0f} s")
    config = load_config(CONFIG)
    days = month_days(args.month)

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    floor = figures = xlsx = (float("inf"), 0.0)  # the best (wall, CPU) seconds of the rounds
    code, xlsx_mb, totals, row_count = 0, 0.0, {}, 0
    out = args.dir / f"report-{args.month}.xlsx"
    for _ in range(args.repeat):
        started, cpu = time.perf_counter(), time.process_time()
        events = sum(1 for _ in read_events(folder, config.site.id, days[0], days[-1]))
        floor = min(floor, (time.perf_counter() - started, time.process_time() - cpu))
        started, cpu = time.perf_counter(), time.process_time()
        measures = Measures(config).feed_all(read_events(folder, config.site.id, days[0], days[-1]))
        row_count = sum(len(measures.rows(d)) for d in DIMENSIONS)
        figures = min(figures, (time.perf_counter() - started, time.process_time() - cpu))
        totals = measures.totals()
        del measures  # the xlsx runs as its own `hallq report` process, measured alone
        report = [sys.executable, "-m", "hallq", "report", "--config", str(CONFIG), "--data"]
        report += [str(folder), "--from", days[0].isoformat(), "--to", days[-1].isoformat()]
        report += ["--format", "xlsx", "--out", str(out)]
        started = time.perf_counter()
        child = subprocess.Popen(report)
        _, status, usage = os.wait4(child.pid, 0)
        code = code or os.waitstatus_to_exitcode(status)
        xlsx = min(xlsx, (time.perf_counter() - started, usage.ru_utime + usage.ru_stime))
        xlsx_mb = max(xlsx_mb, usage.ru_maxrss / 1024)
    mb = max(peak_mb(), xlsx_mb)
    best = f"best of {args.repeat}, " if args.repeat > 1 else ""
    print(f"floor (read and decode {events} events, nothing else): {_times(floor, best)}")
    print(
        f"figures: {totals['issued']} issued, {totals['served']} served, {totals['rated']} rated, "
        f"{row_count} rows: {_times(figures, best, floor)} (goal < {GOAL_FIGURES_S:.0f} s); "
        f"peak {peak_mb():.0f} MB"
    )
    print(
        f"xlsx with charts: {out} ({out.stat().st_size // 1024} KB): {_times(xlsx, best, floor)} "
        f"(goal < {GOAL_XLSX_S:.0f} s); peak {xlsx_mb:.0f} MB (goal < {GOAL_MB} MB)"
    )
    figures_s, xlsx_s = figures[0], xlsx[0]
    ok = code == 0 and figures_s < GOAL_FIGURES_S and xlsx_s < GOAL_XLSX_S and mb < GOAL_MB
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print("goals met" if ok else "GOALS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
