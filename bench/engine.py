"""The engine bench: a busy morning through HallCore on the file-backed store, then a bare SQLite loop.

    .venv/bin/python bench/engine.py [--seconds 10] [--bare-seconds 5] [--dir FOLDER] [--interleaved]

1. A busy morning at the prefecture hall (deploy/examples/prefecture-hall.toml: 105 windows, all open):
   visitors draw tickets (most for the first five departments, as in the reference data), and every
   window calls, starts and finishes them. Each command is its own `execute()` call, so each is its
   own transaction with its own fsync, as a lone request on a quiet bus would be. Prints the tickets,
   commands/s and lifecycles/s (issue + call + start + finish of one ticket).
2. In the same folder, a bare sqlite3 loop: one small insert per transaction, same WAL +
   synchronous=FULL. Prints its transactions/s.
3. journal_mode and synchronous as read back from both connections, and the ratio of the engine's
   commands/s to the bare loop's transactions/s (goal: at least 0.33).

The folder defaults to artifacts/ in the repository (a real disk: a tmpfs would make fsync free and
the figures meaningless).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import random
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hall.config.schema import HallConfig, load_config, without_rate_limits  # noqa: E402
from hall.store.clock import FixedClock  # noqa: E402
from hall.store.core import HallCore, Incoming  # noqa: E402

HALL = ROOT / "deploy" / "examples" / "prefecture-hall.toml"
MORNING = datetime(2026, 11, 26, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Thursday
# The hall's clock runs 900 times real time while the morning runs: 10 s are 09:00 to 11:30, inside
# morning hours however fast the machine (the hall's time must not depend on the throughput).
HALL_SPEED = 900.0
TICK_SECONDS = 1.0  # real seconds between timer ticks (rating expiry), as the hall service does
QUEUE_TARGET = 400  # visitors waiting in the hall while the bench runs


class Morning:
    """Plays the visitors and the clerks; counts only what the hall answered."""

    def __init__(self, config: HallConfig, core: HallCore, clock: FixedClock, seed: int) -> None:
        self.config, self.core, self.clock = config, core, clock
        self.rng = random.Random(seed)
        self.n = 0
        self.commands = 0
        self.in_execute = 0.0  # seconds spent inside HallCore.execute() and tick()
        self.last_tick = time.perf_counter()
        self.last_step = time.perf_counter()
        self.refused: dict[str, int] = {}
        self.tickets = 0
        self.lifecycles = 0
        self.stage = {w.id: "idle" for w in config.windows}
        self.busy_windows = 0  # windows with a ticket called or being served
        kiosks = [k.id for k in config.kiosks if not k.allow_priority] or [
            k.id for k in config.kiosks
        ]
        self.kiosks = kiosks
        served = {code for w in config.windows for code in w.services}
        first_five = {d.code for d in config.departments[:5]}
        # A visitor picks from what the kiosk offers now (the `queues` topic's can_issue): no
        # appointment-only items, none whose hours are the afternoon's.
        offered = {
            code
            for code, queue in core.engine.queues(clock.now())["services"].items()
            if queue["can_issue"]
        }
        walk_in = [s for s in config.services if s.code in served and s.code in offered]
        # The reference hall's mix: most tickets for the first five departments.
        self.services = [s.code for s in walk_in]
        self.cum_weights = list(
            itertools.accumulate(8.0 if s.department in first_five else 1.0 for s in walk_in)
        )
        self.windows = [w.id for w in config.windows]
        self.window_services = {w.id: w.services for w in config.windows}

    def send(self, device_class: str, device_id: str, op: str, **fields: object) -> bool:
        """One request in its own execute(); True if the hall answered ok."""
        self.n += 1
        body = {"v": 1, "id": f"b{self.n}", "op": op, **fields}
        payload = json.dumps(body, ensure_ascii=False).encode()
        now = time.perf_counter()
        self.clock.advance(timedelta(seconds=(now - self.last_step) * HALL_SPEED))
        self.last_step = now
        started = time.perf_counter()
        outcome = self.core.execute([Incoming(device_class, device_id, payload)])
        if started - self.last_tick >= TICK_SECONDS:
            self.core.tick()
            self.last_tick = started
        self.in_execute += time.perf_counter() - started
        self.commands += 1
        reply = outcome.replies[0].payload
        if b',"ok":true,' in reply[:160]:  # the envelope's head: v, id, ok (protocol.ok)
            return True
        code = str(json.loads(reply)["error"]["code"])
        self.refused[code] = self.refused.get(code, 0) + 1
        return False

    def open_windows(self) -> None:
        for window in self.config.windows:
            self.send("window", window.id, "login", clerk=window.clerks[0])

    def waiting_for(self, window: str) -> bool:
        waiting = self.core.engine.state.index.waiting_by_service
        return any(waiting.get(code, 0) for code in self.window_services[window])

    def step(self, turn: int) -> None:
        waiting = self.tickets - self.lifecycles - self.busy_windows
        if waiting < QUEUE_TARGET:
            service = self.rng.choices(self.services, cum_weights=self.cum_weights)[0]
            if self.send("kiosk", self.rng.choice(self.kiosks), "issue", service=service):
                self.tickets += 1
            return
        window = self.windows[turn % len(self.windows)]
        stage = self.stage[window]
        if stage == "idle":
            if not self.waiting_for(window):
                return
            if self.send("window", window, "call_next"):
                self.stage[window] = "called"
                self.busy_windows += 1
        elif stage == "called":
            if self.send("window", window, "start"):
                self.stage[window] = "serving"
        elif self.send("window", window, "finish"):
            self.stage[window] = "idle"
            self.busy_windows -= 1
            self.lifecycles += 1


class BusyMorning:
    """The hall side: HallCore on the prefecture hall, driven one command per execute()."""

    def __init__(self, folder: Path, seed: int) -> None:
        config = without_rate_limits(load_config(HALL))  # bursts from one kiosk
        self.clock = FixedClock(MORNING)
        self.core = HallCore(config, folder / "hall", self.clock)
        self.morning = Morning(config, self.core, self.clock, seed)
        self.morning.open_windows()
        self.morning.commands = 0  # the logins are set-up, not the morning
        self.morning.in_execute = 0.0
        self.elapsed = 0.0
        self.turn = 0

    def run_for(self, seconds: float) -> None:
        started = time.perf_counter()
        self.morning.last_step = started  # the hall's time stands still between slices
        while time.perf_counter() - started < seconds:
            for _ in range(10):
                self.morning.step(self.turn)
                self.turn += 1
        self.elapsed += time.perf_counter() - started


class BareLoop:
    """The yardstick: one small insert per transaction, same folder, WAL + synchronous=FULL."""

    def __init__(self, folder: Path) -> None:
        self.db = sqlite3.connect(folder / "bare.sqlite3", isolation_level=None)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, at REAL, body TEXT)")
        self.count = 0
        self.elapsed = 0.0

    def run_for(self, seconds: float) -> None:
        db = self.db
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            for _ in range(10):
                db.execute("BEGIN IMMEDIATE")
                db.execute("INSERT INTO t (at, body) VALUES (?, ?)", (time.time(), "small row"))
                db.execute("COMMIT")
            self.count += 10
        self.elapsed += time.perf_counter() - started

    def pragmas(self) -> tuple[str, int]:
        mode = self.db.execute("PRAGMA journal_mode").fetchone()[0]
        sync = self.db.execute("PRAGMA synchronous").fetchone()[0]
        return str(mode), int(sync)


SYNC_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the busy morning")
    parser.add_argument("--bare-seconds", type=float, default=5.0, help="length of the bare loop")
    parser.add_argument("--dir", type=Path, default=ROOT / "artifacts", help="where the files go")
    parser.add_argument("--seed", type=int, default=1126)
    parser.add_argument(
        "--interleaved",
        action="store_true",
        help="alternate one-second slices of the morning and the bare loop instead of running one "
        "after the other: on a shared machine, where fsync latency drifts minute to minute, both "
        "then see the same disk",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    args.dir.mkdir(parents=True, exist_ok=True)
    run_started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-engine-", dir=args.dir) as tmp:
        folder = Path(tmp)
        hall = BusyMorning(folder, args.seed)
        bare = BareLoop(folder)
        if not args.interleaved:
            hall.run_for(args.seconds)
            bare.run_for(args.bare_seconds)
        else:
            slices = max(1, round(args.seconds))
            for _ in range(slices):
                hall.run_for(args.seconds / slices)
                bare.run_for(args.bare_seconds / slices)
        morning, core, elapsed = hall.morning, hall.core, hall.elapsed
        hall_mode, hall_sync = core.store.pragmas()
        bare_mode, bare_sync = bare.pragmas()
        counts = core.store.counts()
        hall_time = core.clock.now() - MORNING
        core.close()
        commands_per_s = morning.commands / elapsed
        how = "in alternating slices" if args.interleaved else "after"
        print(f"busy morning: {HALL.name}, {len(morning.windows)} windows open, folder {folder}")
        print(
            f"  {morning.tickets} tickets issued, {morning.lifecycles} served to the end "
            f"(issue+call+start+finish), {morning.commands} commands in {elapsed:.1f} s, "
            f"hall time {_hours(hall_time)}"
        )
        refused = ", ".join(f"{k} {v}" for k, v in sorted(morning.refused.items())) or "none"
        print(
            f"  one command per execute(): {commands_per_s:,.0f} commands/s, "
            f"{morning.lifecycles / elapsed:,.0f} lifecycles/s; refused: {refused}"
        )
        print(
            f"  (inside execute() and the timer ticks alone: "
            f"{morning.commands / morning.in_execute:,.0f} commands/s; the rest is the visitors' "
            "and clerks' simulation)"
        )
        print(
            f"  store: {counts['events']} events, {counts['answers']} answers, "
            f"{counts['outbox']} unpublished calls"
        )
        bare_per_s = bare.count / bare.elapsed
        print(
            f"bare sqlite3 loop (same folder, run {how} the morning): {bare.count} "
            f"transactions (one small insert each) in {bare.elapsed:.1f} s: "
            f"{bare_per_s:,.0f} transactions/s"
        )
        print(
            f"journal_mode / synchronous read back: hall store {hall_mode} / {hall_sync} "
            f"({SYNC_NAMES.get(hall_sync)}); bare loop {bare_mode} / {bare_sync} "
            f"({SYNC_NAMES.get(bare_sync)})"
        )
        bare.db.close()
        ratio = commands_per_s / bare_per_s
        verdict = "meets" if ratio >= 0.33 else "BELOW"
        print(
            f"ratio engine commands/s : bare transactions/s = {ratio:.2f} "
            f"({verdict} the goal of 0.33); whole run {time.perf_counter() - run_started:.1f} s"
        )
    return 0


def _hours(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


if __name__ == "__main__":
    sys.exit(main())
