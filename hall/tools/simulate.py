"""`hallq simulate --config FILE`: play a day's visitors, clerks and evaluators against a running hall.

A load generator on the client library (contract/client.py), the way real devices talk to the hall:

- kiosks: visitors arrive (Poisson, --visitors-per-hour, most for the first departments of the
  config) and each takes a ticket for a service a played window serves;
- windows: the roster's first clerk logs in, then call_next, the visitor walks up, start, a service
  time drawn around the service's avg_minutes, finish; now and then a recall, a no_show, a transfer,
  a hold and a later unhold;
- evaluators: when a ticket of their window is done (the retained window/{id}/rating), most visitors
  rate it.

It follows the hall's clock (the retained `clock` topic): against a hall on a scaled clock every wait
is scaled too. With --credentials DIR it connects as each device it plays with that device's own
env file of `hallq broker-config` (so it works under the ACLs); else to --url, HALLQ_MQTT_URL or the
config's broker, one connection per played window (which also rates for its evaluator) and kiosk.
It prints one line per event and queue lengths every 15 hall minutes, stops after --hours of hall
time or on Ctrl-C / SIGTERM, joins every thread it started, and prints a summary.
"""

from __future__ import annotations

import argparse
import heapq
import logging
import os
import random
import signal
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from contract import topics
from contract.client import HallClient, RequestRefused, RequestTimeout
from contract.device_env import read_env_file
from contract.hall_clock import HallClock
from contract.mqtt_url import URL_ENV, BrokerAddress, BrokerUrlError, broker_address
from hall.config.schema import ConfigError, HallConfig, Window, load_config
from hall.tools import simulate_traffic as traffic

log = logging.getLogger(__name__)

REPORT_EVERY = timedelta(minutes=15)  # hall time between queue-length lines
CONNECT_WAIT = 15.0  # real seconds for every played device to be connected


@dataclass(frozen=True)
class Options:
    hours: float = 8.0  # hall time to play
    seed: int | None = None
    visitors_per_hour: float | None = None  # None: traffic.default_visitors_per_hour
    windows: int | None = None  # play the first N windows of the config (None: all)
    quiet: bool = False  # only the summary
    speed_from_hall: bool = False  # refuse to run without the hall's `clock`
    speed: float = 1.0  # the speed to assume while the hall publishes no `clock`
    clock_wait: float = 3.0  # real seconds to wait for the hall's `clock` at start
    timeout: float = 2.0  # real seconds per request attempt
    retries: int = 2  # extra attempts under the same id


@dataclass(frozen=True)
class Issued:
    kiosk: str
    ticket_id: str
    number: str
    service: str
    department: str
    issued_at: str


@dataclass(frozen=True)
class Called:
    window: str
    ticket_id: str
    number: str
    op: str  # call_next or unhold


@dataclass
class Tally:
    """What happened, for the summary and for tests (thread-safe through `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    ops: Counter[str] = field(default_factory=Counter)  # answered ok, by op
    refused: Counter[str] = field(default_factory=Counter)  # "op:code"
    timeouts: Counter[str] = field(default_factory=Counter)  # by op
    issued: list[Issued] = field(default_factory=list)
    called: list[Called] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)  # hall minutes from issue to first call
    latencies: list[float] = field(default_factory=list)  # real ms per answered request

    def ok(self, op: str, ms: float) -> None:
        with self.lock:
            self.ops[op] += 1
            self.latencies.append(ms)


Say = Callable[[str], None]
# A rating an evaluator will send: (due, n, evaluator, ticket, window); n orders equal due times.
_DueRating = tuple[datetime, int, str, str, str]


class Simulation:
    """The played devices and their threads: start(), then run_until_done() or stop()."""

    def __init__(
        self,
        config: HallConfig,
        address_of: Callable[[str], BrokerAddress],
        options: Options = Options(),
        *,
        shared_connections: bool = True,
        say: Say | None = None,
    ) -> None:
        self.config = config
        self.site = config.site.id
        self.options = options
        self.address_of = address_of
        # Without per-device credentials a window's connection also rates for its evaluator.
        self.shared = shared_connections
        self._say_to = say or (lambda line: print(line, flush=True))
        self.rng = random.Random(options.seed)
        played = config.windows[: options.windows] if options.windows else config.windows
        self.windows: list[Window] = list(played)
        if not self.windows:
            raise ValueError("no window to play")
        self.kiosks = [k.id for k in config.kiosks]
        if not self.kiosks:
            raise ValueError("the hall config has no kiosk to issue tickets from")
        self.mix = traffic.visitor_mix(config, self.windows)
        self.visitors_per_hour = options.visitors_per_hour or traffic.default_visitors_per_hour(
            config, self.windows
        )
        self.clock = HallClock(config.site.zone, options.speed)
        self.tally = Tally()
        self.stop_event = threading.Event()
        self._clients: dict[str, HallClient] = {}
        self._threads: list[threading.Thread] = []
        self._ratings: list[_DueRating] = []  # a heap: the next rating to send first
        self._ratings_lock = threading.Lock()
        self._rating_seen: set[str] = set()
        self._rating_n = 0
        self._queues: dict[str, Any] = {}
        self._issued_at: dict[str, datetime] = {}
        self._say_lock = threading.Lock()
        self.started_at: datetime | None = None

    # -- output
    def say(self, text: str) -> None:
        if self.options.quiet:
            return
        line = f"{self.clock.now():%H:%M:%S} {text}"
        with self._say_lock:
            self._say_to(line)

    # -- connections
    def _connect_all(self) -> None:
        """One connection per played device (window + evaluator share one without credentials)."""
        wanted: list[tuple[str, str, list[tuple[str, str]]]] = []
        for kiosk in self.kiosks:
            wanted.append(("kiosk", kiosk, []))
        for window in self.windows:
            evaluator = self.config.evaluator_of(window.id)
            if evaluator is not None and self.shared:
                wanted.append(("window", window.id, [("evaluator", evaluator)]))
            else:
                wanted.append(("window", window.id, []))
                if evaluator is not None:
                    wanted.append(("evaluator", evaluator, []))
        for device_class, device_id, acts_for in wanted:
            client = HallClient.connect(
                self.address_of(device_id),
                self.site,
                device_class,
                device_id,
                acts_for=acts_for,
                client_id=device_id if not self.shared else f"sim-{device_id}",
                wait=None,  # connect them all at once, then wait for all
            )
            self._clients[device_id] = client
        deadline = time.monotonic() + CONNECT_WAIT
        for device_id, client in self._clients.items():
            if not client.transport.wait_ready(max(0.1, deadline - time.monotonic())):
                raise ConnectionError(
                    f"{device_id}: no connection to {self.address_of(device_id).redacted()}"
                )
        log.info("simulate: %d connections", len(self._clients))

    def _follow_hall(self) -> None:
        """The hall's clock, the queues, and the ratings, each read by a device allowed to."""
        clock_readers = [self.kiosks[0], self.windows[0].id]
        if not self.shared and self.config.evaluator_of(self.windows[0].id):
            clock_readers.append(str(self.config.evaluator_of(self.windows[0].id)))
        for device_id in clock_readers:
            self._clients[device_id].subscribe_json(topics.clock(self.site), self.clock.on_clock)
        self._clients[self.kiosks[0]].subscribe_json(topics.queues(self.site), self._on_queues)
        for window in self.windows:
            evaluator = self.config.evaluator_of(window.id)
            if evaluator is None:
                continue
            reader = self._clients[window.id if self.shared else evaluator]
            reader.subscribe_json(
                topics.window_rating(self.site, window.id), self._rating_listener(evaluator)
            )

    # -- life cycle
    def start(self) -> None:
        try:
            self._connect_all()
            self._follow_hall()
        except Exception:
            self._close_clients()
            raise
        if not self.clock.wait_received(self.options.clock_wait):
            if self.options.speed_from_hall:
                self._close_clients()
                raise ConnectionError(
                    "the hall publishes no clock (retained `clock` topic): is it an older hall "
                    "server, or does the ACL not let these devices read it?"
                )
            log.warning("no hall clock received: assuming speed %g", self.options.speed)
        self.started_at = self.clock.now()
        self.say(
            f"simulating {len(self.windows)} windows, {len(self.kiosks)} kiosks, "
            f"{self.visitors_per_hour:.0f} visitors/h, hall clock x{self.clock.speed:g}"
        )
        workers: list[tuple[str, Callable[[], None]]] = []
        for index, kiosk in enumerate(self.kiosks):
            workers.append((f"sim-{kiosk}", self._kiosk_worker(kiosk, index)))
        for index, window in enumerate(self.windows):
            workers.append((f"sim-{window.id}", self._window_worker(window, index)))
        workers.append(("sim-ratings", self._rate_loop))
        workers.append(("sim-report", self._report_loop))
        for name, target in workers:
            thread = threading.Thread(target=self._guarded(target), name=name)
            self._threads.append(thread)
            thread.start()

    def run_until_done(self) -> None:
        """Until --hours of hall time have passed or stop() (a signal) was called."""
        assert self.started_at is not None
        end = self.started_at + timedelta(hours=self.options.hours)
        self.clock.sleep_until(end, self.stop_event)

    def stop(self) -> None:
        """Stop every worker (each finishes the request in hand), join them, disconnect all."""
        self.stop_event.set()
        budget = self.options.timeout * (1 + self.options.retries) + 2.0
        for thread in self._threads:
            thread.join(budget)
            if thread.is_alive():
                log.error("simulate: %s did not stop within %.0f s", thread.name, budget)
        self._close_clients()

    def _close_clients(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def _guarded(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except Exception:  # a bug in one player must not hang the others
                log.exception("simulate: %s failed", threading.current_thread().name)

        return run

    # -- requests
    def request(
        self, device_id: str, op: str, device: tuple[str, str] | None = None, **fields: Any
    ) -> tuple[dict[str, Any] | None, str | None]:
        """(result, None) on success, (None, code) on a refusal or a timeout."""
        client = self._clients[device_id]
        started = time.perf_counter()
        try:
            result = client.request(
                op,
                timeout=self.options.timeout,
                retries=self.options.retries,
                device=device,
                **fields,
            )
        except RequestRefused as refused:
            with self.tally.lock:
                self.tally.refused[f"{op}:{refused.code}"] += 1
            return None, refused.code
        except RequestTimeout:
            with self.tally.lock:
                self.tally.timeouts[op] += 1
            self.say(f"{device[1] if device else device_id} {op}: no answer from the hall")
            return None, "timeout"
        self.tally.ok(op, (time.perf_counter() - started) * 1000)
        return result, None

    # -- kiosks
    def _kiosk_worker(self, kiosk: str, index: int) -> Callable[[], None]:
        rng = random.Random(self.rng.random() + index)
        per_second = self.visitors_per_hour / len(self.kiosks) / 3600.0
        green = any(k.id == kiosk and k.allow_priority for k in self.config.kiosks)

        def run() -> None:
            while self.clock.sleep(rng.expovariate(per_second), self.stop_event):
                service = self.mix.draw(rng)
                priority = green and rng.random() < traffic.P_PRIORITY
                kind = "priority" if priority else "normal"
                result, code = self.request(kiosk, "issue", service=service, priority=kind)
                if result is None:
                    self.say(f"{kiosk} issue {service}: refused {code}")
                    continue
                ticket = result["ticket"]
                issued = Issued(
                    kiosk,
                    ticket["id"],
                    ticket["number"],
                    ticket["service"],
                    ticket["department"],
                    ticket["issued_at"],
                )
                with self.tally.lock:
                    self.tally.issued.append(issued)
                    self._issued_at[ticket["id"]] = self.clock.now()
                self.say(
                    f"{kiosk} issued {ticket['number']}{' (priority)' if priority else ''} "
                    f"for {service} "
                    f"({ticket.get('ahead', 0)} ahead, ~{ticket.get('est_wait_min', 0)} min)"
                )

        return run

    # -- windows
    def _window_worker(self, window: Window, index: int) -> Callable[[], None]:
        rng = random.Random(self.rng.random() + 1000 + index)
        return lambda: self._window_loop(window, rng)

    def _login(self, window: Window) -> bool:
        clerk = window.clerks[0]
        result, code = self.request(window.id, "login", clerk=clerk)
        if code == "already_logged_in":  # another clerk here, or ours at another window
            self.request(window.id, "logout")
            result, code = self.request(window.id, "login", clerk=clerk)
        if result is None:
            self.say(f"{window.id} login {clerk}: refused {code}: not played")
            return False
        self.say(f"{window.id} open: clerk {clerk}")
        return True

    def _window_loop(self, window: Window, rng: random.Random) -> None:
        # Clerks do not all sit down at the same second.
        if not self.clock.sleep(rng.uniform(0, 60), self.stop_event) or not self._login(window):
            return
        held: list[str] = []
        w = window.id
        while not self.stop_event.is_set():
            if held and rng.random() < traffic.P_UNHOLD:
                op, result, code = "unhold", *self.request(w, "unhold", ticket=held.pop(0))
            else:
                op, result, code = "call_next", *self.request(w, "call_next")
            if result is None:
                if code == "not_logged_in" and not self._login(window):
                    return
                if code == "window_paused":
                    self.request(w, "resume")
                elif code not in ("not_logged_in", "unknown_ticket", "invalid_transition"):
                    self.clock.sleep(traffic.IDLE_POLL_SECONDS, self.stop_event)
                continue
            ticket = result["ticket"]
            self._note_call(w, ticket, op)
            if not self._serve(w, ticket, rng, held):
                return

    def _note_call(self, window: str, ticket: dict[str, Any], op: str) -> None:
        with self.tally.lock:
            self.tally.called.append(Called(window, ticket["id"], ticket["number"], op))
            issued = self._issued_at.pop(ticket["id"], None)
            if issued is not None:
                self.tally.waits.append((self.clock.now() - issued).total_seconds() / 60.0)
        verb = "calls back" if op == "unhold" else "calls"
        self.say(f"{window} {verb} {ticket['number']} ({ticket['service']})")

    def _serve(self, w: str, ticket: dict[str, Any], rng: random.Random, held: list[str]) -> bool:
        """One called ticket to its end; False once the simulation stops."""
        number, sleep, stop = ticket["number"], self.clock.sleep, self.stop_event
        if not sleep(rng.uniform(*traffic.WALK_SECONDS), stop):
            return False
        if rng.random() < traffic.P_RECALL:
            if self.request(w, "recall")[0] is not None:
                self.say(f"{w} recalls {number}")
            if not sleep(rng.uniform(*traffic.WALK_SECONDS), stop):
                return False
            if rng.random() < traffic.P_NO_SHOW / traffic.P_RECALL:
                if self.request(w, "no_show")[0] is not None:
                    self.say(f"{w} {number}: no show")
                return True
        if self.request(w, "start")[0] is None:
            return True  # closed meanwhile (an operator, a restart): call the next one
        duration = traffic.service_seconds(self.config, ticket["service"], rng)
        if not sleep(duration, stop):
            return False
        draw = rng.random()
        if draw < traffic.P_TRANSFER:
            target = traffic.transfer_target(self.config, self.windows, ticket["service"], rng)
            if target is not None and self.request(w, "transfer", service=target)[0] is not None:
                self.say(f"{w} transfers {number} to {target}")
                return True
        elif draw < traffic.P_TRANSFER + traffic.P_HOLD and self.request(w, "hold")[0] is not None:
            held.append(ticket["id"])
            self.say(f"{w} holds {number}")
            return True
        if self.request(w, "finish")[0] is not None:
            self.say(f"{w} finished {number} after {duration / 60:.1f} min")
        return True

    # -- evaluators
    def _rating_listener(self, evaluator: str) -> Callable[[str, dict[str, Any] | None], None]:
        rng = random.Random(self.rng.random())
        limit = float(self.config.limits.rating_seconds)

        def on_rating(topic: str, value: dict[str, Any] | None) -> None:
            # paho's network thread: only note it, the rating thread sends it.
            ticket = (value or {}).get("ticket")
            window = topics.parse_window(self.site, topic)
            if not isinstance(ticket, dict) or window is None:
                return
            ticket_id = str(ticket.get("id"))
            with self._ratings_lock:
                if ticket_id in self._rating_seen:
                    return  # the retained copy again, after a reconnect
                self._rating_seen.add(ticket_id)
                if rng.random() >= traffic.P_RATE:
                    return
                due = self.clock.now() + timedelta(seconds=rng.uniform(3.0, 0.5 * limit))
                self._rating_n += 1
                entry = (due, self._rating_n, evaluator, ticket_id, window)
                heapq.heappush(self._ratings, entry)

        return on_rating

    def _rate_loop(self) -> None:
        rng = random.Random(self.rng.random())
        while not self.stop_event.is_set():
            with self._ratings_lock:
                due = self._ratings[0] if self._ratings else None
                if due is not None and due[0] <= self.clock.now():
                    heapq.heappop(self._ratings)
                else:
                    due = None
            if due is None:
                self.stop_event.wait(0.02)
                continue
            _, _, evaluator, ticket_id, window = due
            score = traffic.score(rng)
            via = window if self.shared else evaluator
            device = ("evaluator", evaluator) if self.shared else None
            result, code = self.request(via, "rate", device=device, ticket=ticket_id, score=score)
            if result is not None:
                self.say(f"{evaluator} rates {window}'s last visitor {score}")
            elif code not in ("not_rateable", "already_rated"):
                self.say(f"{evaluator} rate: refused {code}")

    # -- queue lengths
    def _on_queues(self, topic: str, value: dict[str, Any] | None) -> None:
        if value is not None:
            self._queues = value

    def waiting_by_department(self) -> dict[str, int]:
        services = self._queues.get("services", {})
        waiting: Counter[str] = Counter()
        for code, entry in services.items():
            service = self.config.service(code)
            if service is not None and isinstance(entry, dict):
                waiting[service.department] += int(entry.get("waiting", 0))
        return dict(waiting)

    def _report_loop(self) -> None:
        while self.clock.sleep(REPORT_EVERY.total_seconds(), self.stop_event):
            waiting = self.waiting_by_department()
            shown = ", ".join(f"{d} {n}" for d, n in sorted(waiting.items(), key=lambda x: -x[1]))
            self.say(f"waiting: {sum(waiting.values())} ({shown or 'none'})")

    # -- the end
    def summary(self) -> str:
        t = self.tally
        with t.lock:
            ops, refused, timeouts = Counter(t.ops), Counter(t.refused), Counter(t.timeouts)
            waits, latencies = list(t.waits), sorted(t.latencies)
            by_department = Counter(i.department for i in t.issued)
        played = (
            f"{(self.clock.now() - self.started_at).total_seconds() / 3600:.2f} hall hours"
            if self.started_at
            else "nothing"
        )
        lines = [
            f"summary: {played}, {len(self.windows)} windows, {len(self.kiosks)} kiosks",
            f"  issued {ops['issue']} ("
            + ", ".join(f"{d} {n}" for d, n in by_department.most_common())
            + ")",
            f"  called {ops['call_next']} (+{ops['unhold']} called back), recalled "
            f"{ops['recall']}, started {ops['start']}, finished {ops['finish']}, no-show "
            f"{ops['no_show']}, transferred {ops['transfer']}, held {ops['hold']}, rated "
            f"{ops['rate']}",
        ]
        if waits:
            lines.append(
                f"  wait from ticket to call: mean {statistics.fmean(waits):.1f} min, "
                f"max {max(waits):.1f} min"
            )
        if latencies:
            p50 = latencies[len(latencies) // 2]
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
            lines.append(
                f"  answers: {len(latencies)}, p50 {p50:.1f} ms, p99 {p99:.1f} ms (real time)"
            )
        if refused:
            lines.append("  refused: " + ", ".join(f"{k} {n}" for k, n in sorted(refused.items())))
        lines.append(
            "  no answer: "
            + (", ".join(f"{k} {n}" for k, n in sorted(timeouts.items())) if timeouts else "none")
        )
        waiting = self.waiting_by_department()
        lines.append(f"  waiting at the end: {sum(waiting.values())}")
        return "\n".join(lines)


@contextmanager
def simulation(sim: Simulation) -> Iterator[Simulation]:
    """start() ... stop(), whatever happens in between."""
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


# -- the command ------------------------------------------------------------------------------------


def credentials_reader(config: HallConfig, folder: Path) -> Callable[[str], BrokerAddress]:
    """Each device's address from its env file (DIR/env/{id}.env, or DIR/{id}.env)."""
    cache: dict[str, BrokerAddress] = {}

    def address_of(device_id: str) -> BrokerAddress:
        if device_id not in cache:
            for path in (folder / "env" / f"{device_id}.env", folder / f"{device_id}.env"):
                if path.is_file():
                    cache[device_id] = broker_address(config.broker, read_env_file(path))
                    break
            else:
                raise BrokerUrlError(
                    f"no credentials for {device_id!r} in {folder} (env/{device_id}.env): "
                    "run `hallq broker-config` for this config"
                )
        return cache[device_id]

    return address_of


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hallq simulate",
        description="Play a day's visitors, clerks and evaluators against a running hall.",
    )
    parser.add_argument("--config", required=True, help="the hall config (TOML)")
    parser.add_argument(
        "--credentials",
        type=Path,
        help="`hallq broker-config --out` folder: connect as each device with its env file",
    )
    parser.add_argument("--url", help=f"broker URL without --credentials (default ${URL_ENV})")
    parser.add_argument("--hours", type=float, default=8.0, help="hall hours to play (default 8)")
    parser.add_argument(
        "--speed-from-hall",
        action="store_true",
        help="require the hall's clock topic (fail if it is not published)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="speed of the hall's clock to assume if it publishes none (default 1)",
    )
    parser.add_argument("--seed", type=int, help="random seed: the same seed plays the same day")
    parser.add_argument("--visitors-per-hour", type=float, help="default: ~85%% of capacity")
    parser.add_argument("--windows", type=int, help="play only the first N windows")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"hallq simulate: the config cannot be used:\n{exc}", file=sys.stderr)
        return 2
    if args.speed <= 0 or args.hours <= 0 or (args.windows is not None and args.windows < 1):
        print("hallq simulate: --speed, --hours and --windows must be above 0", file=sys.stderr)
        return 2
    try:
        if args.credentials is not None:
            address_of = credentials_reader(config, args.credentials)
        else:
            env = dict(os.environ)
            if args.url:
                env[URL_ENV] = args.url
            address = broker_address(config.broker, env)

            def address_of(device_id: str) -> BrokerAddress:
                return address

        options = Options(
            hours=args.hours,
            seed=args.seed,
            visitors_per_hour=args.visitors_per_hour,
            windows=args.windows,
            quiet=args.quiet,
            speed_from_hall=args.speed_from_hall,
            speed=args.speed,
        )
        sim = Simulation(config, address_of, options, shared_connections=args.credentials is None)
    except (BrokerUrlError, ValueError) as exc:
        print(f"hallq simulate: {exc}", file=sys.stderr)
        return 2

    def on_signal(signum: int, frame: FrameType | None) -> None:
        sim.stop_event.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        sim.start()
    except (ConnectionError, BrokerUrlError) as exc:
        print(f"hallq simulate: {exc}", file=sys.stderr)
        return 1
    try:
        sim.run_until_done()
    finally:
        sim.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(sim.summary(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
