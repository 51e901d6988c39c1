"""The hall server on MQTT: the ONLY module that touches both MQTT and the hall core.

    requests (paho's thread) -> queue -> ONE worker thread:
        drain what arrived together -> core.execute(batch) (one transaction)
        -> answers on each device's resp topic -> committed `calls` (outbox, seq order)
        -> the retained state that changed (window state and rating, board once, queues <= 1/s, catalog)

paho's network thread only puts messages on the queue, so nothing a device sends can raise into it,
and the core (SQLite, the engine) is only ever used from the worker. Events are published only after
their commit; an outbox message is dropped from the store once the broker acknowledged it, so after a
crash the ones still there go out again, in order, with their own `seq`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from contract import messages, topics
from contract.protocol import dumps, error, iso
from contract.transport import Delivery, Message, Transport
from hall.config.device_settings import DeviceSettingsPublisher
from hall.config.schema import HallConfig
from hall.engine.model import QuotaWarning
from hall.engine.now import business_day_of
from hall.service.metrics import HallMetrics, subscribe_devices
from hall.store.clock import Clock, FixedClock
from hall.store.core import Changes, HallCore, Incoming, Outcome
from hall.store.store import OutboxMessage, StorageError

log = logging.getLogger(__name__)

MAX_BATCH = 500  # requests per transaction; a burst bigger than this becomes a few transactions
QUEUES_INTERVAL = 1.0  # seconds: `queues` is coalesced to at most one message per interval
# The retained `cases` at most this often (seconds): a big hall has thousands of open cases, and a
# busy minute accepts many; the list a clerk closes from may lag this much.
CASES_INTERVAL = 2.0
QUEUES_REFRESH = 60.0  # seconds: republished anyway (estimates and opening hours move with time)
TICK_INTERVAL = 1.0  # seconds between timer runs (rollover, rating expiry)
RETAINED_DEFER = 0.05  # seconds the retained topics may wait while requests keep arriving
# seconds between two rounds of retained state while batches follow each other: under many clerks
# the board and the window states go out at most this often (one round for several batches)
# instead of once per batch; the first change after a quiet spell still goes out at once. The gap
# starts at RETAINED_GAP and doubles with each round it held back, up to RETAINED_GAP_MAX, so a
# short stream of batches waits 25 ms and only sustained load waits longer. A clerk's loop
# (call_next, start, finish) takes ~90 ms under 20 clerks: at 25 ms each of its steps had its own
# round (1.4 window states and 1 rating per call_next); at 100 ms most loops share one (0.7 and
# 0.7), which cut the hall's CPU per call by 10-20%. A screen learns of a call at once from `calls`;
# only the status that follows it (serving, done) may lag this much, and only under load.
RETAINED_GAP = 0.025
RETAINED_GAP_MAX = 0.1
HANDOVER = 0.0002  # seconds the worker pauses after handing answers and calls to paho
# seconds between looks at the calls' acknowledgements while the retained state waits for them:
# after a burst the round of window states and board (100 windows: ~70 ms of Python) would take
# the GIL from paho's network thread while it still writes the burst's calls out.
CALLS_OUT_POLL = 0.001
BURST_LOOK = 0.001  # seconds a worker waits after a batch of several for more of the burst
EDGE_MARGIN = 0.5  # hall seconds after an opening or closing at which `queues` goes out again
CLOCK_INTERVAL = 60.0  # seconds between `clock` messages (also sent at every (re)connect)
ACK_POLL = 0.1  # seconds between looks at the acknowledgements while calls wait for them
FAULT_BACKOFF = 0.1  # seconds the worker pauses after a failed step
FAULT_GAP = 5.0  # seconds without a repeat after which a worker fault is over (its alarm cleared)
FAULT_LIMIT = 30.0  # seconds a worker fault may go on repeating before the server gives up
FAULT_LOG_EVERY = 10.0  # seconds between the log lines of a fault that goes on repeating


def clock_speed(clock: Clock) -> float:
    """How fast the hall's clock runs against real time: a ScaledClock's speed, 0 for a clock that
    stands still (FixedClock), else 1."""
    if isinstance(clock, FixedClock):
        return 0.0
    speed = getattr(clock, "speed", 1.0)
    return float(speed) if isinstance(speed, int | float) else 1.0


def clock_payload(clock: Clock, real: float | None = None) -> bytes:
    """The retained `clock` extension: `{"v":1,"at":…,"speed":S,"unix":U}`: the hall's clock read
    `at` when the real (UTC, wall clock) time was `unix` seconds, and runs `speed` times real time,
    so a device computes the hall's time as at + (its time - unix) * speed, however late it got
    the retained message."""
    now, real_now = clock.now(), time.time() if real is None else real
    speed = clock_speed(clock)
    # `at` is whole seconds on the wire: move `unix` back by the part of a second dropped.
    unix = real_now - (now.microsecond / 1e6) / speed if speed > 0 else real_now
    return messages.Clock(at=iso(now), speed=speed, unix=round(unix, 3)).to_bytes()


@dataclass
class Pending:
    """The retained topics to publish after the next commit, merged over batches and timers."""

    windows: set[str] = field(default_factory=set)
    ratings: set[str] = field(default_factory=set)
    board: bool = False
    queues: bool = False
    catalog: bool = False
    clock: bool = False
    alarms: bool = False
    cases: bool = False

    def add(self, changes: Changes) -> None:
        self.windows |= changes.windows
        self.ratings |= changes.ratings
        self.board |= changes.board
        self.queues |= changes.queues
        self.catalog |= changes.catalog
        self.alarms |= changes.alarms
        self.cases |= changes.cases

    def __bool__(self) -> bool:
        """Anything to publish besides `queues` (which has its own interval)."""
        return bool(
            self.windows or self.ratings or self.board or self.catalog or self.clock or self.alarms
        )

    def everything(self, config: HallConfig) -> None:
        self.windows.update(w.id for w in config.windows)
        self.ratings.update(w.id for w in config.windows)
        self.board = self.queues = self.catalog = self.clock = self.alarms = self.cases = True


_WAKE = ("", b"", 0.0)  # queue item that only wakes the worker


def fault_name(exc: BaseException) -> str:
    """What a worker fault is, in one line: the exception and where it was raised."""
    where = ""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        where = f" at {tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}"
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}{where}" if text else f"{type(exc).__name__}{where}"


@dataclass
class _Fault:
    first: float
    last: float
    count: int = 1
    logged: float = 0.0
    alarmed: bool = False


class HallService:
    """Serves every request topic of the site through the core, publishes what the core committed."""

    def __init__(
        self,
        core: HallCore,
        transport: Transport,
        *,
        max_batch: int = MAX_BATCH,
        queues_interval: float = QUEUES_INTERVAL,
        tick_interval: float = TICK_INTERVAL,
        on_batch: Callable[[int], None] | None = None,
        fault_gap: float | None = None,
        fault_limit: float | None = None,
        metrics: HallMetrics | None = None,
    ) -> None:
        self.core = core
        self.config = core.config
        self.site = core.config.site.id
        self.transport = transport
        self.max_batch = max_batch
        self.queues_interval = queues_interval
        self.tick_interval = tick_interval
        self.on_batch = on_batch  # test hook: called with each batch's size after it is published
        self.metrics = metrics  # None: no metrics, not a single extra step on the hot path
        # (topic, payload, arrival time.perf_counter()): the request latency starts at arrival
        self._inbox: queue.SimpleQueue[tuple[str, bytes, float]] = queue.SimpleQueue()
        self._republish = threading.Event()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._pending = Pending()
        self._in_flight: dict[int, Delivery] = {}  # outbox id -> its publish, until acknowledged
        self._last_queues = 0.0
        self._hours_edge = math.inf
        self._next_tick = 0.0
        self._cases_day: date | None = None  # the date the retained `cases` was last worked out for
        self._cases_sent = -CASES_INTERVAL  # monotonic time it was last published
        self._next_clock = 0.0
        self._last_retained = 0.0
        self._gap = RETAINED_GAP  # the gap now in force (it grows under sustained load)
        self._gap_held = False  # whether the gap held back what waits now
        self._held_since: float | None = None  # when the retained state now waiting was first held
        self._calls_handed = -math.inf  # monotonic time calls were last handed to paho
        self._storage_alarm = False
        # True from the republish after a (re)connect until the link drops: retained state
        # published before it would go out twice (and what waits is republished anyway).
        self._link_ready = False
        # Set (in paho's thread) once the hall's own window state came back to it: every retained
        # one the broker held was seen before it, so the check of stale windows is done.
        self._windows_checked = False
        self._windows_unsubscribed = False
        # The alarms about the store and the worker themselves: kept here, not in the store.
        self._held_alarms: dict[tuple[str, str], messages.OpenAlarm] = {}
        self._held_lock = threading.Lock()  # open_alarms() may be read from another thread
        self.batches = 0  # counters, for logs and tests
        self.requests = 0
        self._count_lock = threading.Lock()  # the loopback delivers from many threads
        self._received = 0
        self._handled = 0  # written by the worker only
        self._alarms = 0
        self._ignored = 0  # messages on topics that are not request topics, since the last log
        self._ignored_logged = -1e9
        self._started = int(time.time())
        self.device_settings = DeviceSettingsPublisher(core.config, transport)
        self.fault_gap = FAULT_GAP if fault_gap is None else fault_gap
        self.fault_limit = FAULT_LIMIT if fault_limit is None else fault_limit
        self._faults: dict[str, _Fault] = {}  # worker faults seen lately, by fault_name
        self.fatal: str | None = None  # set when a fault repeated for fault_limit: the worker quit

    # -- life cycle
    def start(self) -> None:
        self.transport.subscribe(topics.all_requests(self.site), self._on_request, qos=1)
        for retained in (topics.all_window_states(self.site), topics.all_window_ratings(self.site)):
            self.transport.subscribe(retained, self._on_window_retained, qos=1)
        # The devices' presence and health, for the device alarms (hall/engine/alarms.py).
        self.transport.subscribe(topics.all_status(self.site), self._on_status, qos=1)
        self.transport.subscribe(topics.all_health(self.site), self._on_health, qos=1)
        self.transport.add_connect_listener(self._on_connect)
        self.device_settings.watch()
        if self.metrics is not None:
            in_flight, transport = self._in_flight, self.transport
            self.metrics.watch(self.core, lambda: len(in_flight), lambda: transport.connected)
            subscribe_devices(self.metrics, self.transport.subscribe, self.site)
        # What the core's first tick raised or cleared.
        for payload in self.core.take_opening_alarms():
            self.transport.publish(topics.alarm(self.site), payload, qos=1)
        self._worker = threading.Thread(target=self._run, name="hall-worker", daemon=True)
        self._worker.start()
        self.transport.start()
        log.info("hall %s: serving %s", self.site, topics.all_requests(self.site))

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand, then say `offline` and disconnect. Never raises: whatever
        failed before, the caller goes on to close the store."""
        self._stop.set()
        self._inbox.put(_WAKE)
        if self._worker is not None:
            self._worker.join(timeout)
        # Let the broker acknowledge the last calls, so a clean stop leaves the outbox empty.
        try:
            deadline = time.monotonic() + min(timeout, 2.0)
            while self._in_flight and self.transport.connected and time.monotonic() < deadline:
                self._collect_acknowledged()
                time.sleep(0.01)
            self._collect_acknowledged()
        except Exception:
            log.exception("hall %s: stopping: could not note the acknowledged calls", self.site)
        try:
            self.transport.stop()
        except Exception:
            log.exception("hall %s: stopping: could not disconnect cleanly", self.site)
        log.info(
            "hall %s: stopped after %d requests in %d batches",
            self.site,
            self.requests,
            self.batches,
        )

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """True once every request received so far has been handled (tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._handled >= self._received:
                return True
            time.sleep(0.005)
        return False

    # -- paho's network thread: only enqueue
    def _on_request(self, message: Message) -> None:
        with self._count_lock:
            self._received += 1
        self._inbox.put((message.topic, message.payload, time.perf_counter()))

    def _on_window_retained(self, message: Message) -> None:
        """A retained state of a window the config no longer has (taken out while the hall was
        down): clear it, or screens would go on showing that window. The broker marks only the
        retained messages it hands a new subscription as retained, so the hall's own updates of
        its windows cost no more than this test."""
        if not message.retain:
            # The hall's own update, after every retained state the broker had (it sent those at
            # the subscription): the check is done, and echoing each update back costs the
            # network thread a read and an acknowledgement per message. The worker unsubscribes.
            if not self._windows_checked:
                self._windows_checked = True
                self._inbox.put(_WAKE)
            return
        if not message.payload:
            return
        window = topics.parse_window(self.site, message.topic)
        if window is not None and self.config.window(window) is None:
            log.info(
                "hall %s: clearing %s: no window %s in the config", self.site, message.topic, window
            )
            self.transport.publish(message.topic, b"", qos=1, retain=True)

    def _on_status(self, message: Message) -> None:
        device = message.topic.rsplit("/", 1)[-1]
        if self.core.device_status(device, message.payload):
            self._tick_now()

    def _on_health(self, message: Message) -> None:
        device = message.topic.rsplit("/", 2)[-2]
        if self.core.device_health(device, message.payload):
            self._tick_now()

    def _tick_now(self) -> None:
        """A device changed: look at the alarms now rather than at the next tick."""
        self._next_tick = 0.0  # read by the worker; a float store is atomic
        self._inbox.put(_WAKE)

    def _on_connect(self) -> None:
        self._republish.set()
        self._inbox.put(_WAKE)

    # -- the worker
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception as exc:  # never die: note it, back off a little, go on
                if self._fault(exc):
                    return
                time.sleep(FAULT_BACKOFF)
            else:
                if self._faults:
                    self._faults_over()

    def _fault(self, exc: Exception) -> bool:
        """Log a new fault in full; a repeat raises the `worker_fault` alarm and is logged once
        every FAULT_LOG_EVERY s. True when it has repeated for fault_limit: give up (the server
        exits with status 3, a supervisor restarts it, the store recovers as after a crash)."""
        name, now = fault_name(exc), time.monotonic()
        fault = self._faults.get(name)
        if fault is None or now - fault.last > self.fault_gap:
            self._faults[name] = _Fault(first=now, last=now, logged=now)
            log.exception("hall %s: worker step failed; carrying on", self.site)
            return False
        fault.count, fault.last = fault.count + 1, now
        if now - fault.first >= self.fault_limit:
            self.fatal = f"the worker fault {name!r} repeated for {now - fault.first:.0f} s"
            log.critical("hall %s: %s: giving up", self.site, self.fatal)
            return True
        if not fault.alarmed:
            fault.alarmed = True
            log.error(
                "hall %s: worker fault repeats: %s (alarm worker_fault; the server exits if it "
                "goes on for %.0f s)",
                self.site,
                name,
                self.fault_limit,
            )
            self._fault_alarm(name, cleared=False)
        elif now - fault.logged >= FAULT_LOG_EVERY:
            fault.logged = now
            log.error(
                "hall %s: worker fault still repeating (%d times in %.0f s): %s",
                self.site,
                fault.count,
                now - fault.first,
                name,
            )
        return False

    def _faults_over(self) -> None:
        """After a step that went through: the faults not seen for fault_gap are over."""
        now = time.monotonic()
        for name, fault in list(self._faults.items()):
            if now - fault.last > self.fault_gap:
                del self._faults[name]
                if fault.alarmed:
                    log.warning(
                        "hall %s: worker fault over after %d times: %s",
                        self.site,
                        fault.count,
                        name,
                    )
                    self._fault_alarm(name, cleared=True)

    def _fault_alarm(self, name: str, cleared: bool) -> None:
        text = (
            f"叫号系统内部故障已恢复 (the hall's worker fault is over): {name}"
            if cleared
            else f"叫号系统内部故障 (the hall's worker keeps failing): {name}"
        )
        try:
            self._alarm("worker_fault", "critical", text, cleared, subject="hall")
        except Exception:
            log.exception("hall %s: could not publish the worker_fault alarm", self.site)

    def _step(self) -> None:
        due = min(self._next_tick, self._round_due())
        timeout = max(0.0, due - time.monotonic())
        # While calls wait for the broker's acknowledgement, look again soon: the outbox drains
        # promptly after a reconnect.
        timeout = min(timeout, ACK_POLL if self._in_flight else 1.0)
        items: list[tuple[str, bytes, float]] = []
        with contextlib.suppress(queue.Empty):
            items.append(self._inbox.get(timeout=timeout))
        # Drain: whatever arrived together is committed together.
        while len(items) < self.max_batch:
            try:
                items.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        try:
            if self._republish.is_set():
                self._republish.clear()
                self._republish_all()
            if self._windows_checked and not self._windows_unsubscribed:
                self._windows_unsubscribed = True
                for window_filter in (
                    topics.all_window_states(self.site),
                    topics.all_window_ratings(self.site),
                ):
                    self.transport.unsubscribe(window_filter, self._on_window_retained)
            batch, arrived = self._decode_topics(items)
            if batch:
                self._execute(batch, arrived)
            if time.monotonic() >= self._next_tick:
                self._next_tick = time.monotonic() + self.tick_interval
                ticked = self.core.tick()
                self._publish_outcome(ticked)
                if self.metrics is not None and ticked.events:
                    self.metrics.events(ticked.events)
                if time.monotonic() >= self._next_clock:
                    self._pending.clock = True
            if not self.transport.connected:
                self._link_ready = False
            if not self._link_ready:
                pass  # all retained state goes out at the (re)connect's republish: hold nothing
            elif self._defer_retained(len(batch)):
                log.debug("hall %s: retained state deferred: requests keep coming", self.site)
            else:
                retained, held = time.perf_counter(), bool(self._pending)
                self._held_since = None
                self._publish_pending()
                if held:  # the gap runs from the last round that published something
                    self._last_retained = time.monotonic()
                    held_back = self._gap_held  # sustained load: the next gap is longer
                    self._gap = min(2 * self._gap, RETAINED_GAP_MAX) if held_back else RETAINED_GAP
                self._gap_held = False
                if batch and log.isEnabledFor(logging.DEBUG):
                    log.debug(
                        "hall %s: retained state published in %.2f ms",
                        self.site,
                        (time.perf_counter() - retained) * 1000,
                    )
            self._collect_acknowledged()
        finally:
            self._handled += sum(1 for topic, _, _ in items if topic)

    def _defer_retained(self, batch_size: int) -> bool:
        """While requests are waiting (a burst), serve them first: their calls reach the screens
        sooner, and window states and the board go out once for the lot, at the latest
        RETAINED_DEFER after they were first held; while batches follow each other, once per
        gap (RETAINED_GAP, growing to RETAINED_GAP_MAX under sustained load)."""
        if self._stop.is_set():
            return False
        now = time.monotonic()
        if self._held_since is None:
            self._held_since = now
        if batch_size and now - self._last_retained < self._gap:
            self._gap_held = True
            return True  # batches follow each other: one round for them at _retained_due()
        if self._awaiting_calls(now):
            return True  # the calls first: looked at again every CALLS_OUT_POLL
        if now - self._held_since >= RETAINED_DEFER:
            return False
        if batch_size > 1 and self._inbox.qsize() == 0:
            # Requests came together: more of them may be in the socket still. Let paho's
            # network thread (which needs the GIL this worker holds) read them first.
            time.sleep(BURST_LOOK)
        return self._inbox.qsize() > 0

    def _awaiting_calls(self, now: float) -> bool:
        """Whether the retained state waits for calls handed to paho that the broker has not
        acknowledged yet: for RETAINED_DEFER after the last were handed, and never more than twice
        that after the state was first held (batches that keep coming do not hold it for good)."""
        held = now if self._held_since is None else self._held_since
        if now - self._calls_handed >= RETAINED_DEFER or now - held >= 2 * RETAINED_DEFER:
            return False
        return any(not delivery.is_published() for delivery in self._in_flight.values())

    def _retained_due(self) -> float:
        """When the retained state held back by the gap goes out, if any is waiting."""
        if not self._pending or not self._link_ready:
            return math.inf
        now = time.monotonic()
        if self._held_since is not None and self._awaiting_calls(now):
            # the next look at the acknowledgements; never before the gap is over (a due time in
            # the past would spin the worker, taking the GIL from paho's thread that sends them)
            return max(self._last_retained + self._gap, now + CALLS_OUT_POLL)
        return self._last_retained + self._gap

    def _round_due(self) -> float:
        """When the worker looks at the retained state next: the queues when they are due, the
        rest when the gap is over. While the round is held back (a burst, calls not acknowledged
        yet), the queues wait with it, looked at every CALLS_OUT_POLL at most: a due time in the
        past made the worker spin (every ~30 us for ~50 ms after each burst of 100 calls) and took
        the GIL from paho's thread, which writes those calls and reads their PUBACKs."""
        if not self._link_ready:
            # Nothing goes out until the (re)connect, whose republish sends all of it (and wakes
            # the worker): queues due long ago would otherwise spin it for the whole outage.
            return math.inf
        queues, retained = self._queues_due(), self._retained_due()
        if self._held_since is not None:
            queues = max(queues, min(retained, time.monotonic() + CALLS_OUT_POLL))
        return min(queues, retained)

    def _queues_due(self) -> float:
        if self._pending.queues:
            return self._last_queues + self.queues_interval
        return min(self._last_queues + QUEUES_REFRESH, self._hours_edge)

    def _schedule_hours_edge(self, now: datetime) -> None:
        """`queues` says whether each service can issue now: publish it again just after the next
        moment a service opens or closes (on the hall's clock, which may run fast)."""
        edge, speed = self.core.next_hours_edge(now), clock_speed(self.core.clock)
        if edge is None or speed <= 0:
            self._hours_edge = math.inf
            return
        hall_seconds = (edge - now).total_seconds() + EDGE_MARGIN
        self._hours_edge = time.monotonic() + hall_seconds / speed

    def _decode_topics(
        self, items: list[tuple[str, bytes, float]]
    ) -> tuple[list[Incoming], list[float]]:
        """The requests, and when each arrived."""
        batch, arrived = [], []
        for topic, payload, at in items:
            if not topic:
                continue  # a wake-up
            parsed = topics.parse_request(self.site, topic)
            if parsed is None:
                # Not even a valid device id in the topic: there is no topic to answer on.
                self._ignored += 1
                now = time.monotonic()
                if now - self._ignored_logged >= 10.0:  # a flood must not flood the log
                    log.warning(
                        "hall %s: ignored %d message(s) not on a request topic, e.g. %r",
                        self.site,
                        self._ignored,
                        topic[:100],
                    )
                    self._ignored, self._ignored_logged = 0, now
                continue
            batch.append(Incoming(parsed[0], parsed[1], payload))
            arrived.append(at)
        return batch, arrived

    def _execute(self, batch: list[Incoming], arrived: list[float] | None = None) -> None:
        started = time.perf_counter()
        try:
            outcome = self.core.execute(batch)
        except Exception:
            self._contain(batch)
            return
        committed = time.perf_counter()
        self.batches += 1
        self.requests += len(batch)
        for reply in outcome.replies:
            topic = topics.response(self.site, reply.device_class, reply.device_id)
            self.transport.publish(topic, reply.payload, qos=1)
        answered = time.perf_counter()
        self._publish_outcome(outcome)
        calls_handed = time.perf_counter()
        if outcome.calls:
            self._calls_handed = time.monotonic()
        # paho's network thread writes them out, and needs the GIL for it: let it have it now
        # rather than after the retained state is built (up to the switch interval later).
        time.sleep(HANDOVER)
        if self.metrics is not None:
            self.metrics.batch(
                arrived or (),
                answered,
                outcome.replies,
                outcome.events,
                outcome.commit_seconds,
                committed,
                calls_handed,
                len(outcome.calls),
            )
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "hall %s: batch of %d: committed in %.2f ms, answers and %d calls handed to the "
                "broker in %.2f ms",
                self.site,
                len(batch),
                (committed - started) * 1000,
                len(outcome.calls),
                (time.perf_counter() - committed) * 1000,
            )
        if self.on_batch is not None:
            self.on_batch(len(batch))

    def _contain(self, batch: list[Incoming]) -> None:
        """The core raised (a bug: it should answer everything). Nothing of the batch was
        committed; make memory equal disk again, then find the request that did it by running the
        batch one request at a time, and answer that one with an error that is not stored."""
        log.exception("hall %s: the core failed on a batch of %d requests", self.site, len(batch))
        self.core.rebuild()
        if len(batch) > 1:
            for item in batch:
                self._execute([item])
            return
        item = batch[0]
        log.error(
            "hall %s: request from %s/%s not carried out",
            self.site,
            item.device_class,
            item.device_id,
        )
        answer = error(
            None, "invalid_request", "系统内部错误，请求未执行 (internal error: not carried out)"
        )
        self.transport.publish(
            topics.response(self.site, item.device_class, item.device_id), answer, qos=1
        )

    def _publish_outcome(self, outcome: Outcome) -> None:
        """The committed calls (in seq order), then note what to republish; alarm on the store."""
        for message in outcome.calls:
            self._send_call(message)
        for payload in outcome.alarms:  # committed: raised and cleared, in order
            self.transport.publish(topics.alarm(self.site), payload, qos=1)
        self._pending.add(outcome.changes)
        self._storage_state(outcome.storage_failed, outcome.committed)
        for warning in outcome.warnings:  # its `quota` alarm comes from the next tick
            self._log_quota(warning)

    def _log_quota(self, warning: QuotaWarning) -> None:
        cap = f"/{warning.cap}" if warning.cap is not None else ""
        log.warning(
            "hall %s: quota %s for %s: %d%s",
            self.site,
            warning.level,
            warning.service,
            warning.issued,
            cap,
        )

    def _storage_state(self, failed: bool, committed: bool) -> None:
        """Raise the alarm when a batch fails; clear it only once a batch was really written
        (a timer with nothing to write, or answers given from memory, prove nothing)."""
        if failed and not self._storage_alarm:
            self._storage_alarm = True
            log.error("hall %s: the store failed: requests are answered storage_error", self.site)
            self._alarm(
                "storage_error", "critical", "叫号系统存储故障 (the hall's store failed)", False
            )
        elif committed and not failed and self._storage_alarm:
            self._storage_alarm = False
            log.info("hall %s: the store works again", self.site)
            self._alarm(
                "storage_error",
                "critical",
                "叫号系统存储已恢复 (the hall's store works again)",
                True,
            )

    def _alarm(
        self, kind: str, severity: str, text: str, cleared: bool, subject: str = "hall"
    ) -> None:
        """An alarm about the store or the worker (not stored: the store may be what failed):
        one id from raised to cleared, held open in memory and in the retained `alarms`."""
        with self._held_lock:
            held = self._held_alarms.pop((kind, subject), None)
            if cleared:
                alarm_id = held.id if held is not None else f"{kind}-{self._started}-0"
            else:
                self._alarms += 1
                alarm_id = f"{kind}-{self._started}-{self._alarms}"
            body = messages.Alarm(
                id=alarm_id,
                kind=kind,
                severity=severity,
                subject=subject,
                text=text,
                at=iso(self.core.now()),
                cleared=cleared,
            )
            if not cleared:
                self._held_alarms[(kind, subject)] = messages.OpenAlarm(
                    **{name: getattr(body, name) for name in body.__dataclass_fields__},
                    acked=None,
                    notes=(),
                )
        self._pending.alarms = True
        self.transport.publish(topics.alarm(self.site), body.to_bytes(), qos=1)

    def open_alarms(self) -> list[messages.OpenAlarm]:
        """Every open alarm, newest first: the store's and the service's own (the retained
        `alarms`, and what the metrics export)."""
        with self._held_lock:
            held = list(reversed(self._held_alarms.values()))
        return held + self.core.open_alarms()

    def alarms_payload(self) -> bytes:
        return messages.Alarms(at=iso(self.core.now()), alarms=tuple(self.open_alarms())).to_bytes()

    # -- publishing
    def _send_call(self, message: OutboxMessage) -> None:
        if message.id not in self._in_flight:
            self._in_flight[message.id] = self.transport.publish(
                message.topic, message.payload, qos=1
            )

    def _collect_acknowledged(self) -> None:
        """Drop from the outbox what the broker acknowledged; what it did not stays for a restart."""
        done = [i for i, delivery in self._in_flight.items() if delivery.is_published()]
        if not done:
            return
        try:
            self.core.mark_published(done)
        except StorageError as exc:  # tried again after the next batch; a repeat keeps its seq
            log.warning("hall %s: could not mark %d calls published: %s", self.site, len(done), exc)
            return
        for i in done:
            del self._in_flight[i]

    def _publish_pending(self) -> None:
        pending, core, now = self._pending, self.core, self.core.now()
        # once a minute and at each (re)connect (the clock round): the board from nothing
        states = core.window_payloads(pending.windows, from_nothing=pending.clock)
        for window_id, payload in states.items():  # encoded once for its topic and the board
            self._retain(topics.window_state(self.site, window_id), payload)
        for window_id in sorted(pending.ratings):
            rating = core.rating_view(window_id)
            self._retain(
                topics.window_rating(self.site, window_id), dumps(rating) if rating else b""
            )
        if pending.board:
            self._retain(topics.board(self.site), core.board_payload(now))
        if pending.catalog:
            self._retain(topics.catalog(self.site), dumps(core.catalog()))
        if pending.alarms:
            self._retain(topics.alarms(self.site), self.alarms_payload())
            if self.metrics is not None:  # hallq_alarms_open{kind}: the same open set
                self.metrics.set_open_alarms((a.kind, a.subject) for a in self.open_alarms())
        today = business_day_of(now, self.config.site)
        cases_wanted = pending.cases or today != self._cases_day  # states move with the day
        cases_now = cases_wanted and time.monotonic() >= self._cases_sent + CASES_INTERVAL
        if cases_now:
            self._retain(topics.cases(self.site), dumps(core.cases(now)))
            self._cases_day, self._cases_sent = today, time.monotonic()
        if pending.clock:
            self._retain(topics.clock(self.site), clock_payload(self.core.clock))
            self._next_clock = time.monotonic() + CLOCK_INTERVAL
            # `stats` rides with the clock: at start, after a reconnect, then once a minute.
            self._retain(topics.stats(self.site), dumps(core.stats(now)))
        queues_now = time.monotonic() >= self._queues_due()
        if queues_now:
            self._retain(topics.queues(self.site), dumps(core.queues(now)))
            self._last_queues = time.monotonic()
            self._schedule_hours_edge(now)
        self._pending = Pending(
            queues=pending.queues and not queues_now, cases=cases_wanted and not cases_now
        )

    def _retain(self, topic: str, payload: bytes) -> None:
        self.transport.publish(topic, payload, qos=1, retain=True)

    def _republish_all(self) -> None:
        """After a (re)connect: the committed calls never acknowledged, in order (paho resends what
        was in flight itself; after a restart nothing is), then every retained topic."""
        self._link_ready = True
        try:
            unpublished = self.core.pending_outbox()
        except StorageError as exc:
            log.error("hall %s: cannot read the outbox: %s", self.site, exc)
            unpublished = []
        log.info(
            "hall %s: connected: republishing retained state and %d unacknowledged calls",
            self.site,
            len(unpublished),
        )
        for message in unpublished:
            self._send_call(message)
        self.device_settings.publish_all()  # they change only with the config: at each connect
        self._pending.everything(self.config)
        self._last_queues = 0.0
