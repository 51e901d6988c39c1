"""The hall server's Prometheus metrics (`[metrics]` in the hall config; docs/deploying.md "Metrics").

Two kinds, so that the hall's hot path stays as fast as without them:

- instruments the worker updates once per batch (`HallMetrics.batch`): request latency, requests
  by op and answer code, batch sizes, the store's commit time, call-to-publish latency, and the
  tickets issued / called / served / no-show per service, counted from the batch's committed events;
  the per-request work is one subtraction; counters are added up per batch first;
- figures read only when Prometheus scrapes (`_ScrapeCollector`): waiting and longest wait per
  service, the outbox's depth, the broker link, open alarms by kind, device presence and health,
  each department's wait threshold. The scrape runs on the HTTP server's thread while the worker
  changes the engine's state, so it only reads by single C-level operations (a dict copy, a list
  slice) that the GIL makes atomic, and never calls into the engine's code.

Names: `hallq_` prefix, the unit in the name (`_seconds`, `_total`), labels of few values (service,
department, op, code, kind, device, class, state).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hall.config.schema import HallConfig
from hall.engine.model import (
    DayRolledOver,
    Event,
    TicketCalled,
    TicketDone,
    TicketIssued,
    TicketNoShow,
)
from hall.store.device_watch import HEALTHY_STATES

if TYPE_CHECKING:
    from hall.store.core import HallCore, Reply

log = logging.getLogger(__name__)

# Latencies of a hall on one machine: sub-millisecond to a stuck disk.
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500)
# Alarm kinds the hall itself raises today (docs/protocol.md "alarm"); each is exported (0 when
# none is open) so that a rule or a panel sees the series before the first alarm.
HALL_ALARM_KINDS = ("quota", "storage_error", "worker_fault")


class HallMetrics:
    """The hall's registry and instruments. The service feeds it; `serve` exposes it over HTTP."""

    def __init__(self, config: HallConfig) -> None:
        self.config = config
        # No `_created` series beside each counter and histogram: a hall of 243 services would
        # send twice the lines at every scrape for a figure nobody graphs (process-wide setting).
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.request_seconds = Histogram(
            "hallq_request_seconds",
            "From a request's arrival (the broker client's thread) to its answer handed back to it",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.call_publish_seconds = Histogram(
            "hallq_call_publish_seconds",
            "From the commit of a call to its `calls` message handed to the broker client",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.commit_seconds = Histogram(
            "hallq_store_commit_seconds",
            "The store's commit of one batch (one SQLite transaction, fsynced)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_requests = Histogram(
            "hallq_batch_requests",
            "Requests committed together in one batch",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.requests = Counter(
            "hallq_requests",
            "Requests answered, by op and answer code (ok, an error code, or replayed)",
            ["op", "code"],
            registry=r,
        )
        self.tickets = {
            kind: Counter(
                f"hallq_tickets_{kind}",
                f"Tickets {kind.replace('_', '-')} per service (from committed events)",
                ["service", "department"],
                registry=r,
            )
            for kind in ("issued", "called", "served", "no_show")
        }
        ProcessCollector(registry=r)  # process_cpu_seconds_total, resident memory, open files
        Gauge(
            "hallq_hall_info", "The hall this server serves", ["site", "name"], registry=r
        ).labels(config.site.id, config.site.name).set(1)
        # A service's ticket counters appear with its first ticket: a prefecture hall has hundreds
        # of services, most of them quiet on a given day, and each series costs every scrape.
        self._department = {s.code: s.department for s in config.services}
        self._device_class = config.device_classes()
        # A window a bridge acts for is worked from a keypad: its terminal is counted only once
        # it has been seen, or every such window would be "offline" all day.
        self._bridged = frozenset(w for bridge in config.bridges for w in bridge.windows)
        self._lock = threading.Lock()  # the open alarms and device states: written by two threads
        self._open_alarms: set[tuple[str, str]] = set()  # (kind, subject)
        self._fed_alarms: dict[str, int] | None = None  # set_open_alarms' counts, once called
        self._online: dict[str, bool] = {}  # device -> its last status/{id}
        self._health: dict[str, str] = {}  # device -> its last device/{id}/health state
        self._server: Any = None
        self._core: HallCore | None = None  # set by watch(): the no-show's service is looked up

    # -- the worker: once per batch ------------------------------------------------------------
    def batch(
        self,
        arrived: Sequence[float],
        handed: float,
        replies: Sequence[Reply],
        events: Iterable[Event],
        commit_seconds: float,
        committed: float,
        calls_handed: float,
        calls: int,
    ) -> None:
        """A batch is answered: `arrived` are its requests' arrival times and `handed` when the
        answers were handed to the broker client (time.perf_counter); its `calls` calls were
        committed at `committed` and handed over at `calls_handed`."""
        self.batch_requests.observe(len(replies))
        observe = self.request_seconds.observe
        for at in arrived:
            observe(handed - at)
        if commit_seconds > 0:
            self.commit_seconds.observe(commit_seconds)
        if calls:
            wait = calls_handed - committed
            for _ in range(calls):
                self.call_publish_seconds.observe(wait)
        answers = Tally((reply.op, reply.code) for reply in replies)
        for (op, code), count in answers.items():
            self.requests.labels(op, code).inc(count)
        self.events(events)

    def events(self, events: Iterable[Event]) -> None:
        """Count tickets from committed events (a batch's, or the timers')."""
        tickets: Tally[tuple[str, str]] = Tally()
        for event in events:
            if isinstance(event, TicketIssued):
                tickets["issued", event.service] += 1
            elif isinstance(event, TicketCalled):  # first calls only: not recalls, call-backs
                tickets["called", event.service] += 1
            elif isinstance(event, TicketDone):
                tickets["served", event.service] += 1
            elif isinstance(event, TicketNoShow):
                tickets["no_show", self._service_of(event.ticket)] += 1
            elif isinstance(event, DayRolledOver):
                self.alarm_cleared("quota", None)  # a new day: every service issues from 0
        for (kind, service), count in tickets.items():
            department = self._department.get(service, "unknown")
            self.tickets[kind].labels(service, department).inc(count)

    def _service_of(self, ticket: str) -> str:
        core = self._core
        found = core.state.tickets.get(ticket) if core is not None else None
        return found.service if found is not None else "unknown"

    # -- alarms ---------------------------------------------------------------------------------
    def alarm_raised(self, kind: str, subject: str) -> None:
        """The service raised an alarm (until the alarms of #19 feed `set_open_alarms`)."""
        with self._lock:
            self._open_alarms.add((kind, subject))

    def alarm_cleared(self, kind: str, subject: str | None) -> None:
        """An alarm is over; `subject` None: every alarm of that kind."""
        with self._lock:
            self._open_alarms = {
                (k, s)
                for k, s in self._open_alarms
                if k != kind or (subject is not None and s != subject)
            }

    def set_open_alarms(self, open_alarms: Iterable[tuple[str, str]]) -> None:
        """THE feed for the hall's alarm state (#19): every open alarm as (kind, subject), given
        whole on each change (e.g. from the retained `alarms` list). Once called it replaces what
        alarm_raised/alarm_cleared tracked; hallq_alarms_open{kind} counts them."""
        counts = Tally(kind for kind, _ in open_alarms)
        with self._lock:
            self._fed_alarms = dict(counts)

    def open_alarms(self) -> dict[str, int]:
        with self._lock:
            if self._fed_alarms is not None:
                counts = dict(self._fed_alarms)
            else:
                counts = dict(Tally(kind for kind, _ in self._open_alarms))
        for kind in HALL_ALARM_KINDS:
            counts.setdefault(kind, 0)
        return counts

    # -- devices (paho's thread: the retained status/+ and device/+/health) ----------------------
    def device_status(self, device: str, payload: bytes) -> None:
        if device in self._device_class:
            self._online[device] = payload.strip() == b"online"

    def device_health(self, device: str, state: str | None) -> None:
        if device not in self._device_class:
            return
        if state is None:
            self._health.pop(device, None)
        else:
            self._health[device] = state

    # -- HTTP ------------------------------------------------------------------------------------
    def watch(
        self,
        core: HallCore,
        outbox_depth: Callable[[], int],
        broker_connected: Callable[[], bool],
    ) -> None:
        """Register the figures read at scrape time."""
        self._core = core
        self.registry.register(_ScrapeCollector(self, core, outbox_depth, broker_connected))

    def serve(self, host: str, port: int) -> tuple[str, int]:
        """Listen for Prometheus on host:port (port 0: a free one); the address bound."""
        server, _thread = start_http_server(port, host, registry=self.registry)
        self._server = server
        bound = server.server_address
        return str(bound[0]), int(bound[1])

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _thresholds(config: HallConfig) -> dict[str, float]:
    """Each department's longest-wait threshold in seconds, from the hall config's `[alarms]`
    (`wait_long_min`, overridden per department by `[[alarms.departments]]`); none without it."""
    alarms = getattr(config, "alarms", None)
    if alarms is None:
        return {}
    default = getattr(alarms, "wait_long_min", None)
    out = {d.code: float(default) * 60 for d in config.departments if default is not None}
    for override in getattr(alarms, "departments", None) or ():
        code = getattr(override, "department", None) or getattr(override, "code", None)
        minutes = getattr(override, "wait_long_min", None)
        if code is not None and minutes is not None:
            out[str(code)] = float(minutes) * 60
    return out


class _ScrapeCollector(Collector):
    """What is computed only when Prometheus asks (on the HTTP server's thread)."""

    def __init__(
        self,
        metrics: HallMetrics,
        core: HallCore,
        outbox_depth: Callable[[], int],
        broker_connected: Callable[[], bool],
    ) -> None:
        self.metrics = metrics
        self.core = core
        self.outbox_depth = outbox_depth
        self.broker_connected = broker_connected
        self.thresholds = _thresholds(core.config)

    def describe(self) -> Iterator[Metric]:
        return iter(())  # the metrics are only known when collected; no checks at registration

    def collect(self) -> Iterator[Metric]:
        yield from self._queues()
        outbox = GaugeMetricFamily(
            "hallq_outbox_depth", "Committed calls the broker has not acknowledged yet"
        )
        outbox.add_metric([], self.outbox_depth())
        yield outbox
        link = GaugeMetricFamily(
            "hallq_broker_connected", "1 while the hall server's link to the broker is up"
        )
        link.add_metric([], 1.0 if self.broker_connected() else 0.0)
        yield link
        alarms = GaugeMetricFamily("hallq_alarms_open", "Open alarms by kind", labels=["kind"])
        for kind, count in sorted(self.metrics.open_alarms().items()):
            alarms.add_metric([kind], count)
        yield alarms
        yield from self._devices()
        if self.thresholds:
            threshold = GaugeMetricFamily(
                "hallq_wait_threshold_seconds",
                "A department's longest-wait alarm threshold ([alarms] of the hall config)",
                labels=["department"],
            )
            for department, seconds in sorted(self.thresholds.items()):
                threshold.add_metric([department], seconds)
            yield threshold

    def _queues(self) -> Iterator[Metric]:
        state = self.core.state
        index = state.index
        waiting_by_service = index.waiting_by_service.copy()  # atomic under the GIL
        tickets = state.tickets
        now_ts = self.core.now().timestamp()
        oldest: dict[str, int] = {}
        heads: list[tuple[int, str]] = []
        for queue in list(index.services.values()):
            heads += queue.priority[:1] + queue.normal[:1]
            heads += [(order, ticket) for _, order, ticket in queue.appointments[:]]
        for at_window in list(index.windows.values()):
            heads += at_window[:1]
        for _, ticket_id in heads:
            ticket = tickets.get(ticket_id)
            if ticket is None:
                continue
            known = oldest.get(ticket.service)
            if known is None or ticket.issued_ts < known:
                oldest[ticket.service] = ticket.issued_ts
        labels = ["service", "department"]
        waiting = GaugeMetricFamily(
            "hallq_waiting", "Tickets waiting per service (as `queues` says)", labels=labels
        )
        longest = GaugeMetricFamily(
            "hallq_longest_wait_seconds",
            "How long the oldest waiting ticket of a service has waited (hall time)",
            labels=labels,
        )
        for service in self.core.config.services:
            pair = [service.code, service.department]
            waiting.add_metric(pair, waiting_by_service.get(service.code, 0))
            since = oldest.get(service.code)
            longest.add_metric(pair, max(0.0, now_ts - since) if since is not None else 0.0)
        yield waiting
        yield longest

    def _devices(self) -> Iterator[Metric]:
        metrics = self.metrics
        online_now = dict(metrics._online)
        health_now = dict(metrics._health)
        labels = ["device", "class"]
        online = GaugeMetricFamily(
            "hallq_device_online",
            "1 while a device of the config says `online` on its status topic",
            labels=labels,
        )
        for device, device_class in sorted(metrics._device_class.items()):
            if device in metrics._bridged and device not in online_now:
                continue
            online.add_metric([device, device_class], 1.0 if online_now.get(device) else 0.0)
        yield online
        healthy = GaugeMetricFamily(
            "hallq_device_healthy",
            "1 while a device's last health report is ok/ready (kiosk printer, bridge bus)",
            labels=labels,
        )
        state = GaugeMetricFamily(
            "hallq_device_health",
            "A device's last health state (1 for that state)",
            labels=[*labels, "state"],
        )
        for device, reported in sorted(health_now.items()):
            device_class = metrics._device_class[device]
            healthy.add_metric([device, device_class], 1.0 if reported in HEALTHY_STATES else 0.0)
            state.add_metric([device, device_class, reported], 1.0)
        yield healthy
        yield state


def subscribe_devices(metrics: HallMetrics, subscribe: Callable[..., Any], site: str) -> None:
    """Follow the retained presence and health of every device (paho's thread: dict writes only)."""
    from contract import messages, topics

    def on_status(message: Any) -> None:
        device = message.topic.rsplit("/", 1)[-1]
        metrics.device_status(device, message.payload)

    def on_health(message: Any) -> None:
        device = message.topic.rsplit("/", 2)[-2]
        try:
            health = messages.decode_health(message.payload)
        except Exception:  # a device's bad report must not reach paho's thread
            log.warning("device %s: unreadable health report: %r", device, message.payload[:100])
            return
        metrics.device_health(device, health.state if health is not None else None)

    subscribe(topics.all_status(site), on_status, qos=1)
    subscribe(topics.all_health(site), on_health, qos=1)
