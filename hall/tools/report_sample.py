"""Simulated days played straight through the engine into a store: the data of the report tests,
the report bench and a demo report (no broker, no clock: each command carries its own time).

`Recorder` keeps what `HallCore` would keep of each command (its events, under the business day
after it) and commits them in large batches; `play_day` is a day of the hall's visitors and clerks.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from pathlib import Path

from hall.config.schema import HallConfig
from hall.engine.engine import Engine, Outcome
from hall.engine.errors import HallError
from hall.engine.model import (
    CallNext,
    Command,
    Finish,
    Hold,
    IssueTicket,
    Login,
    NoShow,
    Rate,
    Rollover,
    Start,
    TicketCalled,
    TicketCalledBack,
    TransferToService,
    Unhold,
    event_to_dict,
)
from hall.store.store import CommandRecord, Store
from hall.tools.simulate_traffic import score, service_seconds, transfer_target, visitor_mix

BATCH = 5000  # commands per transaction


class Recorder:
    """An engine whose every command's events go into the store in `data_dir`."""

    def __init__(self, config: HallConfig, data_dir: str | Path) -> None:
        self.engine = Engine(config)
        self.store = Store(data_dir, config.site.id)
        self.pending: list[CommandRecord] = []
        self.refused: dict[str, int] = {}

    def handle(self, command: Command, now: datetime) -> Outcome | None:
        """The command's outcome, or None if the hall refused it (counted in `refused`)."""
        try:
            outcome = self.engine.handle(command, now)
        except HallError as exc:
            self.refused[exc.code] = self.refused.get(exc.code, 0) + 1
            return None
        if outcome.events:
            day = self.engine.state.business_day
            self.pending.append(
                CommandRecord(
                    business_day=day.isoformat() if day else "",
                    events=[event_to_dict(e) for e in outcome.events],
                )
            )
            if len(self.pending) >= BATCH:
                self.flush()
        return outcome

    def flush(self) -> None:
        if self.pending:
            self.store.write_batch(self.pending)
            self.pending = []

    def close(self) -> None:
        self.flush()
        self.store.close()


def play_day(recorder: Recorder, day: date, visitors: int, seed: int = 1, step_s: int = 20) -> None:
    """A day: every window opens at 09:00, `visitors` arrive over 09:00-11:50 and 13:30-16:50,
    windows call, start and finish (some no-shows, transfers, holds; most visitors rate), until
    17:30. Tickets never called expire at the next rollover."""
    config = recorder.engine.config
    zone = config.site.zone
    rng = random.Random(seed * 100_003 + day.toordinal())
    at = datetime.combine(day, time(3, 30), zone)
    recorder.handle(Rollover(), at)
    windows = list(config.windows)
    mix = visitor_mix(config, windows)
    for window in windows:
        recorder.handle(Login(window.id, window.clerks[0]), at.replace(hour=8, minute=55))
    spans = [(time(9, 0), time(11, 50)), (time(13, 30), time(16, 50))]
    span_seconds = sum(
        (datetime.combine(day, b) - datetime.combine(day, a)).seconds for a, b in spans
    )
    per_step = visitors * step_s / span_seconds
    kiosks = [k.id for k in config.kiosks if not k.allow_priority] or [config.kiosks[0].id]
    # per window: (what next, when, ticket)
    plan: dict[str, tuple[str, datetime, str | None]] = {
        w.id: ("call", datetime.combine(day, time(9, 0), zone), None) for w in windows
    }
    held: dict[str, tuple[str, datetime]] = {}
    now = datetime.combine(day, time(9, 0), zone)
    end = datetime.combine(day, time(17, 30), zone)
    issued = 0
    while now < end:
        local = now.time()
        if any(a <= local < b for a, b in spans):
            due = per_step + (1 if rng.random() < per_step % 1 else 0)
            for _ in range(int(due)):
                if issued >= visitors:
                    break
                command = IssueTicket(rng.choice(kiosks), mix.draw(rng))
                if recorder.handle(command, now) is not None:
                    issued += 1
        for window in windows:
            step, when, ticket = plan[window.id]
            if when > now:
                continue
            plan[window.id] = _act(recorder, window.id, step, ticket, now, rng, held)
        now += timedelta(seconds=step_s)
    recorder.flush()


def _act(
    recorder: Recorder,
    window: str,
    step: str,
    ticket: str | None,
    now: datetime,
    rng: random.Random,
    held: dict[str, tuple[str, datetime]],
) -> tuple[str, datetime, str | None]:
    config = recorder.engine.config
    if step == "call":
        back = held.get(window)
        if back is not None and back[1] <= now:
            del held[window]
            outcome = recorder.handle(Unhold(window, back[0]), now)
        else:
            outcome = recorder.handle(CallNext(window), now)
        if outcome is None:
            return ("call", now + timedelta(seconds=30), None)
        call = next(e for e in outcome.events if isinstance(e, TicketCalled | TicketCalledBack))
        if isinstance(call, TicketCalled) and rng.random() < 0.03:
            recorder.handle(NoShow(window), now + timedelta(seconds=60))
            return ("call", now + timedelta(seconds=60), None)
        return ("start", now + timedelta(seconds=rng.randint(20, 90)), call.ticket)
    assert ticket is not None
    if step == "start":
        recorder.handle(Start(window), now)
        service = recorder.engine.state.tickets[ticket].service
        seconds = service_seconds(config, service, rng)
        return ("finish", now + timedelta(seconds=seconds), ticket)
    # finish: a few are transferred or held for a while instead
    roll = rng.random()
    if roll < 0.02 and window not in held and recorder.handle(Hold(window), now) is not None:
        held[window] = (ticket, now + timedelta(minutes=10))
        return ("call", now, None)
    if roll < 0.05:
        service = recorder.engine.state.tickets[ticket].service
        target = transfer_target(config, config.windows, service, rng)
        if target is not None and recorder.handle(TransferToService(window, target), now):
            return ("call", now, None)
    if recorder.handle(Finish(window), now) is not None and rng.random() < 0.7:
        evaluator = config.evaluator_of(window)
        if evaluator is not None:
            recorder.handle(Rate(evaluator, ticket, score(rng)), now + timedelta(seconds=15))
    return ("call", now + timedelta(seconds=30), None)
