"""`hallq server --config FILE [--data DIR] [--clock SPEC]`: the hall server, the queue authority.

The broker is the config's `[broker]`, overridden by HALLQ_MQTT_URL / HALLQ_MQTT_CA; the store's
folder is `--data` or HALLQ_DATA_DIR; the clock is `--clock` or HALLQ_CLOCK (a demo runs the hall's
day fast: `2026-11-26T09:00+08:00x60`). With a `[metrics]` section it also serves Prometheus metrics
on that address (hall/service/metrics.py). SIGTERM or SIGINT stops it cleanly: the batch in hand is
finished, `status/hall` says `offline`. A config it cannot use is reported plainly, with exit code 2;
a fault of its worker that repeats for 30 s ends it with exit code 3 (the store closed; systemd
restarts it).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from types import FrameType

from contract import topics
from contract.mqtt_url import BrokerAddress, BrokerUrlError, broker_address
from hall.config.schema import ConfigError, load_config
from hall.service.owner import Owner
from hall.store.clock import Clock, ClockSpecError, SystemClock, parse_clock_spec

log = logging.getLogger("hall.server")

DATA_ENV = "HALLQ_DATA_DIR"
CLOCK_ENV = "HALLQ_CLOCK"
LOG_ENV = "HALLQ_LOG_LEVEL"
# The worker hands each answer and call to paho's network thread, which writes them to the socket.
# While the worker goes on (the retained board, queues), that thread waits for the GIL up to the
# interpreter's switch interval (5 ms by default): the p99 of a call to a screen. 0.5 ms makes the
# hand-over prompt (bench/latency.py).
SWITCH_INTERVAL = 0.0005
FAULT_EXIT = 3  # a fault of the worker repeated for 30 s (HallService.fatal): restart the server
# s: a hall that is online but wrote no owner record yet (it has just connected) is given this long
# to write it; after that (an older hallq that writes none) the server starts, and its guard decides.
OWNER_SETTLE = 3.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hallq server",
        description="Run the hall server: the queue authority, on MQTT.",
        epilog=(
            "Environment: HALLQ_MQTT_URL (mqtt://user:password@127.0.0.1:1883 or mqtts://...) and "
            "HALLQ_MQTT_CA override the config's [broker]; HALLQ_DATA_DIR, HALLQ_CLOCK and "
            "HALLQ_LOG_LEVEL stand for the options."
        ),
    )
    parser.add_argument("--config", required=True, help="the hall config (TOML)")
    parser.add_argument("--data", help=f"the store's folder (default: ${DATA_ENV})")
    parser.add_argument(
        "--clock",
        help="the hall's clock: START[xSPEED], e.g. 2026-11-26T09:00+08:00x60 "
        f"(default: ${CLOCK_ENV}, else the system clock)",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get(LOG_ENV, "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
    )
    return parser


def _fail(message: str) -> int:
    print(f"hallq server: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sys.setswitchinterval(SWITCH_INTERVAL)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return _fail(f"the config cannot be used:\n{exc}")
    data = args.data or os.environ.get(DATA_ENV)
    if not data:
        return _fail(f"no data folder: give --data DIR or set {DATA_ENV}")
    try:
        address = broker_address(config.broker)
    except BrokerUrlError as exc:
        return _fail(str(exc))
    spec = args.clock if args.clock is not None else os.environ.get(CLOCK_ENV, "")
    try:
        clock: Clock = (
            parse_clock_spec(spec, config.site.tz) if spec else SystemClock(config.site.tz)
        )
    except ClockSpecError as exc:
        return _fail(str(exc))

    # Imported here: the config errors above are reported without loading the engine.
    from contract.transport import PahoTransport
    from hall.service.owner import OwnerGuard
    from hall.service.service import HallService
    from hall.store.core import HallCore
    from hall.store.store import StorageError, StoreMismatch

    site = config.site.id
    me = Owner.me(data)
    # The metrics port before the broker: a port that is taken is a config mistake, said at once.
    metrics = None
    if config.metrics is not None:
        from hall.service.metrics import HallMetrics

        metrics = HallMetrics(config)
        try:
            host, port = metrics.serve(config.metrics.host, config.metrics.port)
        except OSError as exc:
            return _fail(
                f"cannot serve metrics on {config.metrics.address} ([metrics] address): {exc}: "
                "choose a free port or remove the section"
            )
        log.info("hall %s: Prometheus metrics on http://%s:%d/metrics", site, host, port)
    try:
        checked, at_check = _check_owner(address, site, me)
    except OwnerRefusal as exc:
        if metrics is not None:
            metrics.close()
        return _fail(str(exc))

    try:
        core = HallCore(config, data, clock)
    except StoreMismatch as exc:
        return _fail(f"the data folder {data} cannot be used: {exc}")
    except StorageError as exc:
        print(f"hallq server: the store in {data} cannot be opened: {exc}", file=sys.stderr)
        return 1
    transport = PahoTransport(
        address,
        client_id=f"hall-{site}",
        status_topic=topics.status(site, topics.HALL_CLIENT_ID),
    )
    service = HallService(core, transport, metrics=metrics)
    stopping = threading.Event()
    exit_status = 0

    def on_lost(other: Owner) -> None:
        nonlocal exit_status
        exit_status = 2
        # Not `offline`: the other server is the hall now, and status/hall is its.
        transport.status_topic = None
        print(
            f"hallq server: another hall server took this site: {other.describe()}; stopping "
            "(exit 2: not restarted). Run only one hall server per site.",
            file=sys.stderr,
        )
        stopping.set()

    OwnerGuard(transport, site, me, at_check, checked, on_lost).install()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("hall %s: %s received: stopping", site, signal.Signals(signum).name)
        stopping.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    log.info("hall %s: broker %s, data %s, clock %r", site, address.redacted(), data, clock)
    try:
        service.start()
        while not stopping.wait(1.0) and service.fatal is None:
            pass
    finally:
        try:
            service.stop()
        finally:
            core.close()  # whatever happened before: the next hall process opens the store
            if metrics is not None:
                metrics.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if exit_status:
        return exit_status
    if service.fatal is not None:
        print(
            f"hallq server: exiting with status {FAULT_EXIT}: {service.fatal} (a supervisor "
            "restarts the server; the store recovers as after a crash)",
            file=sys.stderr,
        )
        return FAULT_EXIT
    return 0


class OwnerRefusal(Exception):
    """Another hall server serves the site."""


def _check_owner(address: BrokerAddress, site: str, me: Owner) -> tuple[bool, Owner | None]:
    """Before connecting as `hall` (which would take the serving hall's session): is another hall
    server serving this site? (checked, the record seen); raises OwnerRefusal if one is."""
    from hall.service.owner import CHECK_ENV, CheckRefused, check_address, read_owner, refusal

    try:
        where = check_address(address, dict(os.environ))
    except BrokerUrlError as exc:
        raise OwnerRefusal(str(exc)) from None
    if where is None:
        log.warning(
            "hall %s: no %s (the read-only hall-check account): cannot check that no other hall "
            "server serves this site before connecting; re-run `hallq broker-config`",
            site,
            CHECK_ENV,
        )
        return False, None
    delay, settle = 1.0, time.monotonic() + OWNER_SETTLE
    while True:
        try:
            seen = read_owner(where, site)
            if seen.online and seen.record is None and time.monotonic() < settle:
                time.sleep(0.2)  # a server that has just connected writes its record soon
                continue
            break
        except CheckRefused as exc:
            log.warning("hall %s: owner check not possible (%s): re-run broker-config", site, exc)
            return False, None
        except ConnectionError as exc:  # the broker is not up yet: wait for it, as the server would
            log.warning("hall %s: owner check: %s; retrying in %.0f s", site, exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
    reason = refusal(me, seen)
    if reason is not None:
        raise OwnerRefusal(reason.replace("/SITE/", f"/{site}/"))
    return True, seen.record


if __name__ == "__main__":
    sys.exit(main())
