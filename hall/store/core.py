"""HallCore: the engine, its store and the hall's clock together, with no MQTT.

The MQTT service (hall/service/service.py) hands it what arrived together and publishes what it returns:

    outcome = core.execute([Incoming("kiosk", "k1", b'{"v":1,"id":"r1","op":"issue",...}'), ...])
    outcome.replies   # the answer bytes per request, in order -> each device's resp topic
    outcome.calls     # committed `calls` messages -> publish in order, then store.mark_published
    outcome.changes   # which retained topics to republish (windows, ratings, board, queues, catalog)

For every batch: decode each request, answer a repeated `(device, id)` with its stored bytes, let
the engine handle the rest, then commit events, answers and call messages in ONE transaction, and
only then return (publish-after-commit). If the commit fails, every command of the batch is answered
`storage_error` (not stored), the engine is rebuilt from the store so memory equals disk again, and
the next batch is served as usual.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from contract import messages, protocol, topics
from contract.protocol import iso
from hall.config.schema import HallConfig
from hall.engine.engine import Engine, business_day_of
from hall.engine.errors import HallError, error_from
from hall.engine.handlers.alarms import alarm_message, open_alarms
from hall.engine.measures import READ_TYPES, Measures
from hall.engine.model import (
    AlarmAcked,
    AlarmCleared,
    AlarmNoted,
    AlarmRaised,
    CallEvent,
    CaseClosed,
    Command,
    DayRolledOver,
    Event,
    ExpireRatings,
    HallState,
    NoticeChanged,
    OpenCase,
    QueryTicket,
    QuotaWarning,
    RatingExpired,
    ReconcileAlarms,
    ReconcileConfig,
    Rollover,
    ServiceChanged,
    TicketCancelled,
    TicketDone,
    TicketRated,
    TicketReprinted,
    event_from_dict,
    event_to_dict,
)
from hall.engine.reconcile import describe
from hall.engine.reconcile import plan as reconcile_plan
from hall.engine.requests import RequestError, decode_request
from hall.engine.stats import stats as stats_view
from hall.engine.views import BoardCache
from hall.store.clock import Clock
from hall.store.device_watch import DeviceWatch
from hall.store.store import (
    ANSWER_DAYS,
    CommandRecord,
    Loaded,
    OutboxMessage,
    SnapshotUnreadable,
    StorageError,
    Store,
)

log = logging.getLogger(__name__)

# Events between snapshots: at least SNAPSHOT_EVERY, and SNAPSHOT_PER_TICKET for each ticket of the
# day. A snapshot writes the whole day (about 30 us a ticket, in the worker, with the batch waiting),
# so a fixed interval made its share of each event grow with the day: at 24 000 tickets, one every
# 5 000 events took a third of the hall's CPU under 20 clerks (bench/throughput.py 1.99 ms per
# call_next+start+finish without it, ~3 ms with it). Scaled to the day it costs the same per event
# at any size, and a restart replays at most two events a ticket (about 60 us a ticket at ~30 000
# events/s: 0.4 s on a day of 7 000 tickets).
SNAPSHOT_EVERY = 5000
SNAPSHOT_PER_TICKET = 2
PEEK_LIMIT = 65536  # bytes of an unknown device's payload we parse to echo its id

STORAGE_ERROR = HallError(
    "storage_error",
    "系统存储故障，请稍后重试",
    "the hall could not store this request; please try again",
)
# Commands that change nothing: answered from memory even when the store cannot take a batch.
READ_ONLY = (QueryTicket,)
UNKNOWN_DEVICE = HallError(
    "unknown_device", "未登记的设备", "this device is not in the hall's configuration"
)
# The engine refused in a way it should not (a bug): the request is not carried out, nor stored, so
# a retry after the fix succeeds. The contract has no code for it; invalid_request is the closest.
INTERNAL_ERROR = HallError(
    "invalid_request", "系统内部错误，请求未执行", "internal error: the request was not carried out"
)


@dataclass(frozen=True, slots=True)
class Incoming:
    """A request as it arrived: the device class and id from its topic, the raw payload."""

    device_class: str
    device_id: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to one Incoming, for the device's `resp` topic."""

    device_class: str
    device_id: str
    request_id: str | None
    payload: bytes
    stored: bool = False  # kept under (device, id): a retry gets these bytes
    replayed: bool = False  # a stored answer given again
    # For the metrics (hallq_requests_total): the op ("unknown" if it could not be read) and the
    # answer's code ("ok", an error code, or "replayed" for a stored answer given again).
    op: str = "unknown"
    code: str = "ok"


@dataclass(slots=True)
class Changes:
    """What a batch changed, so the service republishes only those retained topics."""

    windows: set[str] = field(default_factory=set)  # window/{id}/state
    ratings: set[str] = field(default_factory=set)  # window/{id}/rating
    board: bool = False
    queues: bool = False
    catalog: bool = False
    alarms: bool = False  # the retained `alarms`
    cases: bool = False  # the retained `cases` (time limits)

    def __bool__(self) -> bool:
        return bool(
            self.windows
            or self.ratings
            or self.board
            or self.queues
            or self.catalog
            or self.alarms
            or self.cases
        )

    def update(self, other: Changes) -> None:
        self.windows |= other.windows
        self.ratings |= other.ratings
        self.board |= other.board
        self.queues |= other.queues
        self.catalog |= other.catalog
        self.alarms |= other.alarms
        self.cases |= other.cases


@dataclass(frozen=True, slots=True)
class Outcome:
    replies: list[Reply]
    changes: Changes
    calls: list[OutboxMessage]  # committed now; publish in order, then store.mark_published
    storage_failed: bool = False
    warnings: tuple[QuotaWarning, ...] = ()  # committed now (the quota alarms follow at the tick)
    # Events were really written (what clears a storage alarm; a stored `status` answer, small
    # enough to fit on a full disk, proves little).
    committed: bool = False
    events: tuple[Event, ...] = ()  # committed now, in order (the metrics count tickets from them)
    commit_seconds: float = 0.0  # the store's commit of this batch (0: nothing was written)
    alarms: tuple[bytes, ...] = ()  # committed now: `alarm` messages (raised, cleared), in order


@dataclass(slots=True)
class _Batch:
    """The work of one transaction while it is being put together."""

    now: datetime
    stored_at: float
    records: list[CommandRecord] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    keep: list[bool] = field(default_factory=list)  # reply stands even if the commit fails
    answers: dict[tuple[str, str], bytes] = field(default_factory=dict)  # new in this batch
    changes: Changes = field(default_factory=Changes)
    events: int = 0
    rolled_over: bool = False
    tainted: bool = False  # the engine broke mid-command: its state is not to be snapshotted
    warnings: list[QuotaWarning] = field(default_factory=list)
    committed: list[Event] = field(default_factory=list)  # the events of `records`, in order
    alarms: list[bytes] = field(default_factory=list)


class HallCore:
    """The hall's authority without MQTT: open, execute batches, tick timers.

    The service uses its methods and `config`, `clock` (the hall's clock, as given) only; `engine`,
    `store` and `devices` are the core's own (tests and benchmarks look at them).
    """

    def __init__(
        self,
        config: HallConfig,
        data_dir: str | Path,
        clock: Clock,
        *,
        snapshot_every: int | None = None,
        rules: Any = None,
        store: Store | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.language = config.site.language
        self.snapshot_every = snapshot_every  # None: scaled to the day (SNAPSHOT_PER_TICKET)
        self._rules = rules
        self._calls_topic = topics.calls(config.site.id)
        self._windows = frozenset(w.id for w in config.windows)
        self.store = store if store is not None else Store(data_dir, config.site.id)
        # What the devices say of themselves (fed by the service): the device alarms at each tick.
        self.devices = DeviceWatch(config, int(clock.now().timestamp()))
        self._since_snapshot = 0
        self.engine = self._load_engine()
        self._board = BoardCache()  # the board's bytes, re-encoding only the windows that changed
        self._broken = False  # the store could not be read back after a failure
        opened = self.tick()  # a hall that was down over the rollover starts the new day now
        self.opening_alarms = list(
            opened.alarms
        )  # raised or cleared at the start: the service sends them
        if opened.storage_failed:
            log.error("hall opened, but the day's rollover could not be stored yet")
        self.reconcile()
        log.info(
            "hall core open: site %s, business day %s, %d tickets, call seq %d",
            config.site.id,
            self.engine.state.business_day,
            len(self.engine.state.tickets),
            self.engine.state.call_seq,
        )

    # --- building the engine from the store --------------------------------------------------------

    def _new_engine(self, snapshot: dict[str, Any] | None) -> Engine:
        if snapshot is not None:
            return Engine.restore(self.config, snapshot, **self._engine_kwargs())
        return Engine(self.config, **self._engine_kwargs())

    def _engine_kwargs(self) -> dict[str, Any]:
        return {} if self._rules is None else {"rules": self._rules}

    def _load_engine(self) -> Engine:
        engine, loaded, fell_back = engine_from_store(
            self.store.load, self._new_engine, self.store.rows_until
        )
        self._since_snapshot = len(loaded.events)
        log.info(
            "engine rebuilt: snapshot at event %d + %d events replayed (last event %d)",
            loaded.snapshot_event_id,
            len(loaded.events),
            loaded.last_event_id,
        )
        if fell_back:  # a snapshot that can be read (and has the cases): the next start need not
            try:
                self.store.save_snapshot(engine.snapshot())
                self._since_snapshot = 0
            except StorageError as exc:
                log.warning("could not store a new snapshot after the fallback: %s", exc)
        return engine

    def _rebuild(self) -> bool:
        """Make memory equal disk again after a failed batch; False if the store cannot be read."""
        try:
            self.engine = self._load_engine()
            self._board.clear()  # its entries were drawn from the engine thrown away
        except Exception:
            self._broken = True
            log.exception("cannot rebuild the engine from the store")
            return False
        self._broken = False
        return True

    # --- the hot path --------------------------------------------------------------------------------

    def execute(self, batch: Sequence[Incoming]) -> Outcome:
        """Answer a batch of requests, committed in one transaction before anything is returned."""
        now = self.clock.now()
        if self._broken and not self._rebuild():
            return self._failed(batch, None)
        work = _Batch(now, now.timestamp())
        try:
            try:
                self._roll_if_due(work)
            except _EngineFault:  # nothing recorded yet: drop what it half-did, serve the batch
                if not self._rebuild():
                    return self._failed(batch, None)
                work = _Batch(now, now.timestamp())
            for index, item in enumerate(batch):
                try:
                    reply, keep = self._one(item, work)
                except _EngineFault:
                    # The engine broke on this request (a bug): keep what came before it, drop
                    # whatever it half-did, and go on with the rest in a fresh transaction.
                    work.replies.append(self._internal_error(item))
                    work.keep.append(True)
                    work.tainted = True
                    done = self._commit(work)
                    rest = batch[index + 1 :]
                    if not self._rebuild():
                        return self._merge(done, self._failed(rest, None))
                    return self._merge(done, self.execute(rest))
                work.replies.append(reply)
                work.keep.append(keep)
            return self._commit(work)
        except StorageError as exc:
            log.error("batch of %d requests failed in the store: %s", len(batch), exc)
            self._rebuild()
            return self._failed(batch, work)

    def _one(self, item: Incoming, work: _Batch) -> tuple[Reply, bool]:
        """The reply to one request, and whether it stands without this batch's commit."""
        cls, device = item.device_class, item.device_id
        if cls not in topics.REQUEST_CLASSES or not self.config.has_device(cls, device):
            rid = _peek_id(item.payload)
            log.warning("unknown device %s/%s (request id %s)", cls, device, rid)
            answer = self._error_bytes(rid, UNKNOWN_DEVICE)
            return Reply(cls, device, rid, answer, code=UNKNOWN_DEVICE.code), True
        command: Command | None = None
        refusal: HallError | None = None
        op = "unknown"
        try:
            request = decode_request(self.config, cls, device, item.payload)
            rid, command, op = request.request_id, request.command, request.op
        except RequestError as exc:
            rid, refusal = exc.request_id, exc.error
        except Exception:  # a decoder bug must not stop the hall: answer, store nothing
            log.exception("decoding a request of %s/%s failed", cls, device)
            return self._internal_error(item), True
        if rid is not None:
            in_batch = work.answers.get((device, rid))
            seen = in_batch if in_batch is not None else self.store.answer_for(device, rid)
            if seen is not None:
                log.info("repeated request %s/%s %s: stored answer given again", cls, device, rid)
                reply = Reply(cls, device, rid, seen, True, True, op, "replayed")
                return reply, in_batch is None
        events: tuple[Event, ...] = ()
        if refusal is None and command is not None:
            try:
                outcome = self.engine.handle(command, work.now)
            except HallError as exc:
                refusal = exc
            except Exception as exc:
                log.exception("engine failed on %s/%s request %s", cls, device, rid)
                raise _EngineFault from exc
            else:
                events = outcome.events
                answer = protocol.ok(rid, outcome.result)
        code = "ok"
        if refusal is not None:
            answer = self._error_bytes(rid, refusal)
            code = refusal.code
            log.info("%s/%s request %s refused: %s", cls, device, rid, refusal.code)
        # A read-only answer drawn from what is committed stands if the batch cannot be stored
        # (a full disk): `status` goes on working, its answer just is not kept for a retry.
        reads_committed = isinstance(command, READ_ONLY) and not events and work.events == 0
        self._add_record(work, events, device, rid, answer)
        if rid is not None:
            work.answers[(device, rid)] = answer
        return Reply(cls, device, rid, answer, rid is not None, False, op, code), (
            rid is None or reads_committed
        )

    def _add_record(
        self,
        work: _Batch,
        events: Sequence[Event],
        device: str | None,
        rid: str | None,
        answer: bytes | None,
    ) -> None:
        day = self.engine.state.business_day
        outbox: list[tuple[str, bytes]] = []
        for event in events:
            if isinstance(event, CallEvent):
                outbox.append((self._calls_topic, protocol.dumps(self.engine.call_message(event))))
            elif isinstance(event, QuotaWarning):
                work.warnings.append(event)
            elif isinstance(event, AlarmRaised | AlarmCleared):
                work.alarms.append(alarm_message(event).to_bytes())
            self._note(event, work.changes)
        if events or rid is not None:
            work.records.append(
                CommandRecord(
                    business_day=day.isoformat() if day else "",
                    events=[event_to_dict(e) for e in events],
                    device=device if rid is not None else None,
                    request_id=rid,
                    answer=answer if rid is not None else None,
                    outbox=outbox,
                    stored_at=work.stored_at,
                )
            )
            work.events += len(events)
            work.committed.extend(events)

    def _snapshot_interval(self) -> int:
        """Events between snapshots: fixed if given, else scaled to the day's tickets."""
        if self.snapshot_every is not None:
            return self.snapshot_every
        return max(SNAPSHOT_EVERY, SNAPSHOT_PER_TICKET * len(self.engine.state.tickets))

    def _commit(self, work: _Batch) -> Outcome:
        if not work.records:
            return Outcome(work.replies, work.changes, [])
        snapshot = None
        due = work.rolled_over or self._since_snapshot + work.events >= self._snapshot_interval()
        if due and not work.tainted:
            snapshot = self.engine.snapshot()
        started = time.perf_counter()
        result = self.store.write_batch(work.records, snapshot)
        commit_seconds = time.perf_counter() - started
        self._since_snapshot = 0 if snapshot is not None else self._since_snapshot + work.events
        calls = [
            OutboxMessage(i, topic, payload)
            for i, (topic, payload) in zip(
                result.outbox_ids,
                (m for r in work.records for m in r.outbox),
                strict=True,
            )
        ]
        if snapshot is not None:
            log.info("snapshot stored at event %d", result.last_event_id)
        if work.rolled_over:
            self._purge_answers(work.now)
        return Outcome(
            work.replies,
            work.changes,
            calls,
            warnings=tuple(work.warnings),
            committed=work.events > 0,
            events=tuple(work.committed),
            commit_seconds=commit_seconds,
            alarms=tuple(work.alarms),
        )

    # --- timers --------------------------------------------------------------------------------------

    def tick(self) -> Outcome:
        """The timers: the day's rollover when due, ratings whose time has passed, and the alarms
        whose condition started or ended (hall/engine/alarms.py)."""
        now = self.clock.now()
        if self._broken and not self._rebuild():
            return Outcome([], Changes(), [], storage_failed=True)
        work = _Batch(now, now.timestamp())
        try:
            try:
                self._roll_if_due(work)
                self._internal(ExpireRatings(), work)
                observed = self.devices.conditions(int(work.now.timestamp()))
                unheard = tuple(self.devices.unheard())
                self._internal(ReconcileAlarms(tuple(observed), unheard), work)
            except _EngineFault:
                # Keep what was recorded before the fault (consistent), then memory = disk again.
                work.tainted = True
                done = self._commit(work)
                self._rebuild()
                return done
            return self._commit(work)
        except StorageError as exc:
            log.error("timer commands failed in the store: %s", exc)
            self._rebuild()
            return Outcome([], Changes(), [], storage_failed=True)

    def reconcile(self) -> Outcome:
        """At start: record what the config changed for the stored state (hall/engine/reconcile.py)."""
        now = self.clock.now()
        work = _Batch(now, now.timestamp())
        try:
            planned = reconcile_plan(self.engine, iso(now))
            for line in describe(self.engine, planned):
                log.warning("config change: %s", line)
            self._internal(ReconcileConfig(), work)
            return self._commit(work)
        except _EngineFault:
            self._rebuild()
            return Outcome([], Changes(), [])
        except StorageError as exc:
            log.error("the config's changes to today's tickets could not be stored: %s", exc)
            self._rebuild()
            return Outcome([], Changes(), [], storage_failed=True)

    def _roll_if_due(self, work: _Batch) -> None:
        day = self.engine.state.business_day
        due = day is None or business_day_of(work.now, self.config.site) > day
        if due and self._internal(Rollover(), work):
            work.rolled_over = True
            log.info("business day rolled over: %s -> %s", day, self.engine.state.business_day)

    def _internal(self, command: Command, work: _Batch) -> bool:
        """A command of the hall's own timers (no device, no answer); True if it changed anything."""
        try:
            outcome = self.engine.handle(command, work.now)
        except HallError as exc:
            log.debug("%s: nothing to do (%s)", type(command).__name__, exc.code)
            return False
        except Exception as exc:
            log.exception("engine failed on the timer command %s", type(command).__name__)
            raise _EngineFault from exc
        self._add_record(work, outcome.events, None, None, None)
        return bool(outcome.events)

    def _purge_answers(self, now: datetime) -> None:
        try:
            self.store.purge((now - timedelta(days=ANSWER_DAYS)).timestamp())
        except StorageError as exc:  # harmless: tried again at the next rollover
            log.warning("could not purge old answers: %s", exc)

    # --- answers and changes ---------------------------------------------------------------------

    def _error_bytes(self, rid: str | None, error: HallError) -> bytes:
        return error_from(rid, error, self.language)

    def _internal_error(self, item: Incoming) -> Reply:
        rid = _peek_id(item.payload)
        answer = self._error_bytes(rid, INTERNAL_ERROR)
        return Reply(item.device_class, item.device_id, rid, answer, code=INTERNAL_ERROR.code)

    def _failed(self, batch: Sequence[Incoming], work: _Batch | None) -> Outcome:
        """Every command of a failed batch is answered storage_error, not stored (a retry may work).

        Answers that never needed this batch's commit stay as they were: answers read back from
        disk, unknown devices and requests without a valid id.
        """
        replies = []
        for index, item in enumerate(batch):
            if work is not None and index < len(work.replies) and work.keep[index]:
                kept = work.replies[index]
                replies.append(kept if kept.replayed else dataclasses.replace(kept, stored=False))
                continue
            rid = _peek_id(item.payload)
            answer = self._error_bytes(rid, STORAGE_ERROR)
            replies.append(
                Reply(item.device_class, item.device_id, rid, answer, code=STORAGE_ERROR.code)
            )
        return Outcome(replies, Changes(), [], storage_failed=True)

    def _merge(self, first: Outcome, second: Outcome) -> Outcome:
        changes = Changes()
        changes.update(first.changes)
        changes.update(second.changes)
        return Outcome(
            first.replies + second.replies,
            changes,
            first.calls + second.calls,
            first.storage_failed or second.storage_failed,
            first.warnings + second.warnings,
            first.committed or second.committed,
            first.events + second.events,
            first.commit_seconds + second.commit_seconds,
            first.alarms + second.alarms,
        )

    def _note(self, event: Event, changes: Changes) -> None:
        """Which retained topics an event changes."""
        if isinstance(event, TicketReprinted):
            return  # a reprint changes nothing anyone draws
        if isinstance(event, AlarmRaised | AlarmCleared | AlarmAcked | AlarmNoted):
            changes.alarms = True  # only the retained `alarms`
            return
        if isinstance(event, CaseClosed):
            changes.cases = True  # only the retained `cases`
            return
        changes.board = True
        changes.queues = True
        window = getattr(event, "window", None)
        if isinstance(window, str) and window in self._windows:
            changes.windows.add(window)
        if isinstance(event, TicketDone | TicketRated | RatingExpired):
            changes.ratings.add(event.window)
            changes.cases |= (
                isinstance(event, TicketDone) and event.ticket in self.engine.state.cases
            )
        elif isinstance(event, TicketCancelled):
            ticket = self.engine.state.tickets.get(event.ticket)
            if ticket is not None and ticket.window is not None:
                changes.windows.add(ticket.window)  # it may have been held there
        elif isinstance(event, ServiceChanged | NoticeChanged):
            changes.catalog = True
        elif isinstance(event, DayRolledOver):
            changes.catalog = True
            changes.cases = True  # the cases closed before today leave it
            changes.windows |= self._windows
            changes.ratings |= self._windows

    # --- for the service and tests ---------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def take_opening_alarms(self) -> list[bytes]:
        """The `alarm` messages the core's first tick raised or cleared, once (the service sends
        them when it starts)."""
        taken, self.opening_alarms = self.opening_alarms, []
        return taken

    def device_status(self, device: str, payload: bytes) -> bool:
        """A device's retained `status` arrived; True if its alarms should be looked at now."""
        return self.devices.status(device, payload, int(self.now().timestamp()))

    def device_health(self, device: str, payload: bytes) -> bool:
        """A device's `health` arrived; True if its alarms should be looked at now."""
        return self.devices.health(device, payload, int(self.now().timestamp()))

    def rebuild(self) -> bool:
        """Make memory equal disk again (after a failure the core did not contain itself);
        False if the store cannot be read."""
        return self._rebuild()

    def pending_outbox(self) -> list[OutboxMessage]:
        """The committed calls not yet acknowledged by the broker, in commit order (StorageError)."""
        return self.store.pending_outbox()

    def mark_published(self, ids: Iterable[int]) -> None:
        """The broker acknowledged these calls: they leave the outbox (StorageError)."""
        self.store.mark_published(ids)

    def next_hours_edge(self, now: datetime) -> datetime | None:
        """When some service next opens or closes (the service republishes `queues` then)."""
        return self.engine.next_hours_edge(now)

    @property
    def state(self) -> HallState:
        """The engine's state, to read only (the metrics' scrape)."""
        return self.engine.state

    # The retained views the service publishes, as of what is committed.

    def window_view(self, window_id: str) -> dict[str, Any]:
        return self.engine.window_view(window_id)

    def rating_view(self, window_id: str) -> dict[str, Any] | None:
        return self.engine.rating_view(window_id)

    def board(self, now: datetime) -> dict[str, Any]:
        return self.engine.board(now)

    def window_payloads(
        self, window_ids: Collection[str], *, from_nothing: bool = False
    ) -> dict[str, bytes]:
        """The retained states of `window_ids`, encoded, in id order; the board's cache learns
        they changed. `from_nothing`: forget every cached entry first (the service does so once a
        minute and at each reconnect, so nothing cached can drift for long)."""
        if from_nothing:
            self._board.clear()
        self._board.changed(window_ids)
        return {w: self._board.window_payload(self.engine, w) for w in sorted(window_ids)}

    def board_payload(self, now: datetime) -> bytes:
        """The retained board, encoded: the same bytes as `dumps(board(now))`, re-encoding only
        the windows changed since the last (views.BoardCache: under many clerks the whole board
        after every batch was the worker's largest cost)."""
        return self._board.payload(self.engine, now)

    def catalog(self) -> dict[str, Any]:
        return self.engine.catalog()

    def queues(self, now: datetime) -> dict[str, Any]:
        return self.engine.queues(now)

    def stats(self, now: datetime) -> dict[str, Any]:
        return stats_view(self.engine, now)

    def cases(self, now: datetime) -> dict[str, Any]:
        return self.engine.cases(now)

    def open_alarms(self) -> list[messages.OpenAlarm]:
        """The alarms kept in the store that are open now, newest first (the service adds its own
        storage_error and worker_fault)."""
        return open_alarms(self.engine)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> HallCore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Rows = Iterable[tuple[str, dict[str, Any]]]  # (business day, event dict), oldest first


def engine_from_store(
    load: Callable[[int], Loaded],
    new_engine: Callable[[dict[str, Any] | None], Engine],
    history: Callable[[int, Iterable[str]], Rows] | None = None,
) -> tuple[Engine, Loaded, bool]:
    """The engine from the newest snapshot that can be decoded and the events after it, what was
    loaded, and whether a new snapshot should be stored (one was passed over, or rebuilt).

    `history(last_event_id, types)` (Store.rows_until) gives the events up to the snapshot: a
    snapshot written before the engine kept the open cases has none, and they are rebuilt from
    the finishes it stored (`rebuild_cases`), once.

    `load(older)` is Store.load (or read_only_load): a snapshot that cannot be decoded (damaged,
    or written before an upgrade renamed a field) gives way to the one before it, and with none
    left to every event from the first (events are never deleted); each is logged as a warning
    that names it and says what was done instead.
    """
    passed_over: list[SnapshotUnreadable] = []
    while True:
        try:
            loaded = load(len(passed_over))
        except SnapshotUnreadable as exc:
            passed_over.append(exc)
            continue
        try:
            engine = new_engine(loaded.snapshot)
        # What decoding data of another shape raises (a field renamed, missing or of another
        # type); anything else is a bug of ours, not the snapshot's, and must not be hidden by
        # a silent full replay.
        except (KeyError, TypeError, ValueError, AttributeError, AssertionError) as exc:
            if loaded.snapshot is None:
                raise  # no snapshot to blame
            passed_over.append(loaded.unreadable(f"{type(exc).__name__}: {exc}"))
            continue
        break
    rebuilt = history is not None and loaded.snapshot is not None and "cases" not in loaded.snapshot
    if rebuilt:
        assert history is not None
        n = rebuild_cases(engine, history(loaded.snapshot_event_id, READ_TYPES))
        log.warning(
            "%s was written before open cases were kept: %d rebuilt from the stored finishes",
            loaded.snapshot_name,
            n,
        )
    for data in loaded.events:
        engine.apply(event_from_dict(data))
    if loaded.snapshot is None:
        instead = f"replayed all {len(loaded.events)} events from the first"
    else:
        instead = (
            f"used the previous {loaded.snapshot_name} "
            f"and replayed the {len(loaded.events)} events after it"
        )
    for bad in passed_over:
        log.warning("%s cannot be decoded (%s): %s", bad.name, bad.reason, instead)
    return engine, loaded, bool(passed_over) or rebuilt


def rebuild_cases(engine: Engine, rows: Rows) -> int:
    """Open the cases these events accepted and did not close, judged as the reports judge them
    (hall/engine/measures.py: so that both count the same open cases); how many were opened."""
    report = Measures(engine.config).feed_all(rows)  # rows of its READ_TYPES
    cases, before = engine.state.cases, len(engine.state.cases)
    for case in report.cases:
        if case.ticket in report.closed or case.ticket in cases:
            continue
        cases[case.ticket] = OpenCase(
            id=case.ticket,
            number=report.numbers.get(case.ticket, case.ticket.rpartition("-")[2]),
            service=case.service,
            department=case.department,
            window=case.window,
            clerk=case.clerk,
            accepted=case.accepted.isoformat(),
            due=case.due.isoformat(),
        )
    engine.case_index = None  # indexed again when first asked
    return len(cases) - before


class _EngineFault(Exception):
    """The engine raised something other than HallError: a bug, contained to its request."""


def _peek_id(payload: bytes) -> str | None:
    """The request id of a payload we will not decode (unknown device), if it has a valid one."""
    if len(payload) > PEEK_LIMIT:
        return None
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if isinstance(data, dict) and protocol.valid_request_id(data.get("id")):
        rid: str = data["id"]
        return rid
    return None
