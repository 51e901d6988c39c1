"""A hall core in its own process, for the crash test: killed with SIGKILL at random moments.

    python tests/hall/store/crash_worker.py DATA_DIR T0 SNAPSHOT_EVERY

Reads requests from stdin, one per line: `INDEX<TAB>DEVICE_CLASS<TAB>DEVICE_ID<TAB>PAYLOAD`; runs
what has arrived together as one batch through HallCore.execute, and only AFTER execute returned
writes each answer to stdout: `INDEX<TAB>r|n<TAB>ANSWER` (r: a stored answer given again; the
exact bytes; compact JSON has no newline).
The hall's clock is 2026-11-26 09:00 (Shanghai) plus the real seconds since T0, so it runs on across
restarts and stays inside a working day.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from hall.store.core import HallCore, Incoming
from tests.fixtures.halls import small_hall

HALL_START = datetime(2026, 11, 26, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
MAX_BATCH = 16


class RunningClock:
    def __init__(self, t0: float) -> None:
        self.t0 = t0

    def now(self) -> datetime:
        return HALL_START + timedelta(seconds=time.time() - self.t0)


def read_lines(lines: queue.Queue[str | None]) -> None:
    for line in sys.stdin.buffer:
        lines.put(line.decode("utf-8").rstrip("\n"))
    lines.put(None)


def main() -> int:
    data_dir, t0, snapshot_every = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    core = HallCore(small_hall(), data_dir, RunningClock(t0), snapshot_every=snapshot_every)
    out = os.fdopen(sys.stdout.fileno(), "wb", closefd=False)
    out.write(b"ready\n")
    out.flush()
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=read_lines, args=(lines,), daemon=True).start()
    while True:
        first = lines.get()
        if first is None:
            return 0
        batch = [first]
        while len(batch) < MAX_BATCH:
            try:
                more = lines.get_nowait()
            except queue.Empty:
                break
            if more is None:
                lines.put(None)
                break
            batch.append(more)
        indexes, incoming = [], []
        for line in batch:
            index, device_class, device_id, payload = line.split("\t", 3)
            indexes.append(index)
            incoming.append(Incoming(device_class, device_id, payload.encode("utf-8")))
        outcome = core.execute(incoming)
        # Told only now, after the commit: whatever is printed here must survive any kill.
        out.write(
            b"".join(
                index.encode() + (b"\tr\t" if reply.replayed else b"\tn\t") + reply.payload + b"\n"
                for index, reply in zip(indexes, outcome.replies, strict=True)
            )
        )
        out.flush()


if __name__ == "__main__":
    sys.exit(main())
