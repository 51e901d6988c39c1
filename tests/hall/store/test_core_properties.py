"""Property: whatever the commands, reopening the store gives exactly the state the hall had.

Random request sequences (every device class, refusals, retries under an old id, batches of any size,
the clock jumping over the day's rollover, timer ticks) run through HallCore on a real SQLite file,
with snapshots every few events; at a random point the core is closed and reopened from disk, and
its state must equal the state before. The rest of the sequence then runs on the reopened core, and
at the end the core must equal a pure Engine fed the same commands at the same times, and every
retried request must have been answered with the very bytes of its first answer.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from hall.engine.engine import Engine
from hall.engine.errors import HallError
from hall.engine.model import ExpireRatings, Rollover, state_to_dict
from hall.engine.requests import RequestError, decode_request
from hall.store.clock import FixedClock
from hall.store.core import HallCore, Incoming
from tests.fixtures.halls import CLERK_PIN, small_hall

CONFIG = small_hall(rating_seconds=300)
START = datetime(2026, 11, 26, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SERVICES = [s.code for s in CONFIG.services]
WINDOWS = [w.id for w in CONFIG.windows]
WINDOW_OPS = [
    *["call_next"] * 8, *["finish"] * 4, *["start"] * 3, *["login"] * 2, "recall", "no_show",
    "hold", "unhold", "pause", "resume", "logout", "transfer_service", "transfer_window", "call",
]  # fmt: skip

_ARGS: dict[str, st.SearchStrategy[tuple[Any, ...]]] = {
    "issue": st.tuples(
        st.sampled_from(["k1", "k2"]),
        st.sampled_from(SERVICES),
        st.sampled_from(["normal", "normal", "priority"]),
    ),
    "window": st.tuples(st.sampled_from(WINDOWS), st.sampled_from(WINDOW_OPS), st.integers(0, 50)),
    "rate": st.tuples(st.sampled_from(WINDOWS), st.integers(0, 50), st.integers(0, 6)),
    "cancel": st.tuples(st.integers(0, 50)),
    "service": st.tuples(st.sampled_from(SERVICES), st.booleans()),
    "notice": st.tuples(st.sampled_from(["", "午休", "Lunch 12-13"])),
    "advance": st.tuples(st.sampled_from([0, 1, 3, 10, 60, 300, 1100])),
    "retry": st.tuples(st.integers(0, 200)),
    "junk": st.tuples(st.sampled_from([b"", b"{", b'{"v":1,"id":"j","op":7}'])),
    "cut": st.tuples(),
    "tick": st.tuples(),
}
# Weighted toward a working hall (tickets drawn and called), with everything else mixed in.
KINDS = ["issue"] * 6 + ["window"] * 8 + ["rate"] * 2 + ["retry"] * 2 + ["cut"] * 3 + [
    "cancel", "service", "notice", "advance", "advance", "junk", "tick",
]  # fmt: skip
steps = st.sampled_from(KINDS).flatmap(lambda kind: _ARGS[kind].map(lambda args: (kind, *args)))
OPENING = [("window", w, "login", 0) for w in WINDOWS] + [("cut",)]


class Driver:
    """Turns steps into requests; remembers tickets and every first answer."""

    def __init__(self) -> None:
        self.n = 0
        self.tickets: list[tuple[str, str]] = []  # (id, number) of every ticket issued
        self.sent: list[Incoming] = []
        self.first_answer: dict[tuple[str, str], bytes] = {}

    def request(self, device_class: str, device: str, op: str, **fields: Any) -> Incoming:
        self.n += 1
        body = {"v": 1, "id": f"r{self.n}", "op": op, **fields}
        item = Incoming(device_class, device, json.dumps(body, ensure_ascii=False).encode())
        self.sent.append(item)
        return item

    def ticket(self, index: int) -> tuple[str, str]:
        return self.tickets[index % len(self.tickets)] if self.tickets else ("none", "A999")

    def make(self, step: tuple[Any, ...]) -> Incoming | None:
        kind = step[0]
        if kind == "issue":
            return self.request("kiosk", step[1], "issue", service=step[2], priority=step[3])
        if kind == "window":
            window, op, index = step[1], step[2], step[3]
            ticket_id, number = self.ticket(index)
            fields: dict[str, Any] = {
                "login": {"clerk": CONFIG.window(window).clerks[0]},  # type: ignore[union-attr]
                "transfer_service": {"service": SERVICES[index % len(SERVICES)]},
                "transfer_window": {"window": WINDOWS[index % len(WINDOWS)]},
                "unhold": {"ticket": ticket_id},
                "call": {"number": number},
                "pause": {"reason": "lunch"},
            }.get(op, {})
            if op == "login" and window == "w01":
                fields["pin"] = CLERK_PIN
            op = {"transfer_service": "transfer", "transfer_window": "transfer"}.get(op, op)
            return self.request("window", window, op, **fields)
        if kind == "rate":
            evaluator = CONFIG.evaluator_of(step[1])
            assert evaluator is not None
            return self.request(
                "evaluator", evaluator, "rate", ticket=self.ticket(step[2])[0], score=step[3]
            )
        if kind == "cancel":
            return self.request("operator", "op1", "cancel", ticket=self.ticket(step[1])[0])
        if kind == "service":
            return self.request("operator", "op1", "service", service=step[1], open=step[2])
        if kind == "notice":
            return self.request("operator", "op1", "notice", text=step[1])
        if kind == "retry":
            return self.sent[step[1] % len(self.sent)] if self.sent else None
        if kind == "junk":
            return Incoming("kiosk", "k1", step[1])
        return None

    def saw(self, item: Incoming, answer: bytes) -> None:
        body = json.loads(answer)
        if body["id"] is not None:
            key = (item.device_id, body["id"])
            if body.get("error", {}).get("code") != "storage_error":
                assert self.first_answer.setdefault(key, answer) == answer, f"{key} changed"
        if body["ok"] and "ticket" in body["result"] and item.device_class == "kiosk":
            ticket = body["result"]["ticket"]
            if (ticket["id"], ticket["number"]) not in self.tickets:
                self.tickets.append((ticket["id"], ticket["number"]))


class Reference:
    """A pure Engine given exactly what the core's engine is given, with no store."""

    def __init__(self, now: datetime) -> None:
        self.engine = Engine(CONFIG)
        self.answered: set[tuple[str, str]] = set()
        self.run(Rollover(), now)

    def run(self, command: Any, now: datetime) -> None:
        with contextlib.suppress(HallError):
            self.engine.handle(command, now)

    def batch(self, items: list[Incoming], now: datetime) -> None:
        self.run(Rollover(), now)
        for item in items:
            try:
                request = decode_request(CONFIG, item.device_class, item.device_id, item.payload)
            except RequestError:
                continue
            key = (item.device_id, request.request_id)
            if key in self.answered:
                continue
            self.answered.add(key)
            self.run(request.command, now)

    def tick(self, now: datetime) -> None:
        self.run(Rollover(), now)
        self.run(ExpireRatings(), now)


@given(
    body=st.lists(steps, min_size=20, max_size=80),
    reopen_at=st.integers(0, 85),
    snapshot_every=st.sampled_from([3, 8, 5000]),
)
def test_reopening_after_any_prefix_gives_exactly_the_engines_state(
    body: list[tuple[Any, ...]], reopen_at: int, snapshot_every: int
) -> None:
    plan = OPENING + body
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        clock = FixedClock(START)
        core = HallCore(CONFIG, data, clock, snapshot_every=snapshot_every)
        reference = Reference(clock.now())
        driver = Driver()
        batch: list[Incoming] = []

        def flush() -> None:
            if batch:
                outcome = core.execute(batch)
                reference.batch(batch, clock.now())
                for item, reply in zip(batch, outcome.replies, strict=True):
                    driver.saw(item, reply.payload)
                batch.clear()

        def settle() -> None:
            # A core that opens past the rollover time starts the new day: tick first, so the
            # state before and after a reopen is compared at the same point of the hall's day.
            flush()
            core.tick()
            reference.tick(clock.now())

        try:
            for index, step in enumerate(plan):
                if index == reopen_at:
                    settle()
                    before = state_to_dict(core.engine.state)
                    core.close()
                    core = HallCore(CONFIG, data, clock, snapshot_every=snapshot_every)
                    assert state_to_dict(core.engine.state) == before
                kind = step[0]
                if kind == "advance":
                    flush()
                    clock.advance(timedelta(minutes=step[1]))
                elif kind == "cut":
                    flush()
                elif kind == "tick":
                    flush()
                    core.tick()
                    reference.tick(clock.now())
                else:
                    item = driver.make(step)
                    if item is not None:
                        batch.append(item)
            settle()
            final = state_to_dict(core.engine.state)
            assert final == state_to_dict(reference.engine.state)
            # Every committed call is in the outbox once, in order: seq runs 1..n each day.
            seqs = [json.loads(m.payload)["seq"] for m in core.store.pending_outbox()]
            calls = [e for _, _, e in core.store.events() if e["type"].startswith("ticket_call")]
            calls += [e for _, _, e in core.store.events() if e["type"] == "ticket_recalled"]
            assert len(seqs) == len(calls)
            for before, after in itertools.pairwise([0, *seqs]):
                assert after in (before + 1, 1)
            if seqs and core.engine.state.call_seq:
                assert seqs[-1] == core.engine.state.call_seq
            core.close()
            with HallCore(CONFIG, data, clock, snapshot_every=snapshot_every) as again:
                assert state_to_dict(again.engine.state) == final
        finally:
            core.close()
