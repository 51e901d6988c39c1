"""`hallq server --config FILE [--data DIR] [--clock SPEC]`: the hall server, the queue authority.

The broker is the config's `[broker]`, overridden by HALLQ_MQTT_URL / HALLQ_MQTT_CA; the store's
folder is `--data` or HALLQ_DATA_DIR; the clock is `--clock` or HALLQ_CLOCK (a demo runs the hall's
day fast: `2026-11-26T09:00+08:00x60`). With a `[metrics]` section it also serves Prometheus metrics
on that address (hall/metrics.py). SIGTERM or SIGINT stops it cleanly: the batch in hand is
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
from types import FrameType

from contract import topics
from contract.mqtt_url import BrokerUrlError, broker_address
from hall.clock import Clock, ClockSpecError, SystemClock, parse_clock_spec
from hall.config import ConfigError, load_config

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
    from hall.core import HallCore
    from hall.service import HallService
    from hall.store import StorageError, StoreMismatch

    try:
        core = HallCore(config, data, clock)
    except StoreMismatch as exc:
        return _fail(f"the data folder {data} cannot be used: {exc}")
    except StorageError as exc:
        print(f"hallq server: the store in {data} cannot be opened: {exc}", file=sys.stderr)
        return 1
    site = config.site.id
    transport = PahoTransport(
        address,
        client_id=f"hall-{site}",
        status_topic=topics.status(site, topics.HALL_CLIENT_ID),
    )
    metrics = None
    if config.metrics is not None:
        from hall.metrics import HallMetrics

        metrics = HallMetrics(config)
        try:
            host, port = metrics.serve(config.metrics.host, config.metrics.port)
        except OSError as exc:
            core.close()
            return _fail(
                f"cannot serve metrics on {config.metrics.address} ([metrics] address): {exc}: "
                "choose a free port or remove the section"
            )
        log.info("hall %s: Prometheus metrics on http://%s:%d/metrics", site, host, port)
    service = HallService(core, transport, metrics=metrics)
    stopping = threading.Event()

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
    if service.fatal is not None:
        print(
            f"hallq server: exiting with status {FAULT_EXIT}: {service.fatal} (a supervisor "
            "restarts the server; the store recovers as after a crash)",
            file=sys.stderr,
        )
        return FAULT_EXIT
    return 0


if __name__ == "__main__":
    sys.exit(main())
