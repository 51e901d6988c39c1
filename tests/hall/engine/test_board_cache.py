"""The board the service publishes under load (hall/engine/views.py BoardCache): re-encoding only the
windows a batch changed gives the same bytes as the board built from nothing, whatever the ops."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from contract.protocol import dumps
from hall.engine.views import BoardCache
from hall.store.clock import FixedClock
from hall.store.core import HallCore, Incoming
from tests.fixtures.halls import CLERK_PIN, small_hall

MORNING = datetime(2026, 11, 26, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
WINDOWS = {"w01": "c0101", "w02": "c0201", "w03": "c0301", "w04": "c0401", "w05": "c0501"}
SERVICES = ["psb-id-card", "psb-hukou", "psb-passport", "tax-invoice", "amr-license"]
WINDOW_OPS = [
    "call_next", "call_next", "start", "finish", "finish", "recall", "no_show", "hold",
    "unhold", "transfer", "pause", "resume", "login", "logout",
]  # fmt: skip


def request(device_class: str, device: str, n: int, op: str, **fields: Any) -> Incoming:
    body = {"v": 1, "id": f"r{n}", "op": op, **fields}
    return Incoming(device_class, device, json.dumps(body, ensure_ascii=False).encode())


def window_request(core: HallCore, rng: random.Random, n: int) -> Incoming:
    window_id = rng.choice(list(WINDOWS))
    op = rng.choice(WINDOW_OPS)
    state = core.engine.state
    fields: dict[str, Any] = {}
    if op == "login":
        clerk = WINDOWS[window_id]
        fields = {"clerk": clerk, **({"pin": CLERK_PIN} if clerk == "c0101" else {})}
    elif op == "unhold":
        held = state.windows[window_id].held
        fields = {"ticket": held[0] if held else "none"}
    elif op == "transfer":
        fields = rng.choice(
            [{"service": rng.choice(SERVICES)}, {"window": rng.choice(list(WINDOWS))}]
        )
    elif op == "finish" and rng.random() < 0.3:
        fields = {"outcome": "incomplete"}
    return request("window", window_id, n, op, **fields)


def other_request(core: HallCore, rng: random.Random, n: int) -> Incoming:
    tickets = list(core.engine.state.tickets)
    pick = rng.random()
    if pick < 0.7 or not tickets:
        return request("kiosk", "k1", n, "issue", service=rng.choice(SERVICES))
    if pick < 0.85:
        return request("operator", "op1", n, "cancel", ticket=rng.choice(tickets))
    window_id = rng.choice(list(WINDOWS))
    rating = core.engine.state.windows[window_id].rating
    evaluator = f"e{window_id[1:]}"
    return request("evaluator", evaluator, n, "rate", ticket=rating or tickets[0], score=5)


def test_the_cached_board_equals_the_board_built_from_nothing(tmp_path: Path) -> None:
    rng = random.Random(12)
    clock = FixedClock(MORNING)
    cache = BoardCache()
    n = 0
    with HallCore(small_hall(), tmp_path / "data", clock) as core:
        for round_no in range(300):
            batch = []
            for _ in range(rng.randint(1, 6)):
                n += 1
                pick = rng.random() < 0.6
                batch.append(window_request(core, rng, n) if pick else other_request(core, rng, n))
            outcome = core.execute(batch)
            cache.changed(outcome.changes.windows)
            if round_no % 25 == 0:  # timers too: ratings expire
                clock.set(clock.now() + timedelta(minutes=3))
                cache.changed(core.tick().changes.windows)
            now = clock.now()
            assert cache.payload(core.engine, now) == dumps(core.engine.board(now)), round_no
            for window_id in outcome.changes.windows:  # the window's own topic, from the same bytes
                expected = dumps(core.engine.window_view(window_id))
                assert cache.window_payload(core.engine, window_id) == expected, round_no
        calls = core.engine.state.call_seq
    assert calls > 20  # the ops did call, serve and move tickets
