"""Refused requests cost no memory (issue 13, fault 7). Every answer is stored for 7 days so a retry
gets the same bytes; before the fix the store also kept each answer's key in a dict in memory
(30,000 refused requests from one kiosk: +8 MB resident). Now the key is a unique index on disk
and a repeat is looked up there: Python's memory stays flat however many requests come."""

from __future__ import annotations

import gc
import json
import tracemalloc
from pathlib import Path

from hall.store.clock import FixedClock
from hall.store.core import HallCore, Incoming
from tests.fixtures.halls import MORNING, small_hall

REQUESTS = 6000
BATCH = 200


def refused(n: int) -> Incoming:
    body = {"v": 1, "id": f"refused-{n:06d}-{'x' * 40}", "op": "issue", "service": "no-such"}
    return Incoming("kiosk", "k1", json.dumps(body).encode())


def test_refused_requests_leave_memory_flat_and_a_repeat_is_answered_from_disk(
    tmp_path: Path,
) -> None:
    with HallCore(small_hall(), tmp_path, FixedClock(MORNING)) as core:
        first = core.execute([refused(0)]).replies[0]
        assert json.loads(first.payload)["error"]["code"] == "unknown_service"
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for start in range(1, REQUESTS, BATCH):
                core.execute([refused(n) for n in range(start, min(start + BATCH, REQUESTS))])
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        # ~270 bytes an answer before the fix (1.6 MB here); now only what caches hold.
        assert grown < 300_000, f"{grown} bytes kept for {REQUESTS} refused requests"
        again = core.execute([refused(0)]).replies[0]
        assert again.replayed and again.payload == first.payload
        assert core.store.counts()["answers"] == REQUESTS
