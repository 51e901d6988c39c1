"""A real Prometheus (the Debian package) scrapes a real `hallq server` through a busy hour played by
`hallq simulate` in half a minute; with the simulator paused, Prometheus's query API says what the
hall's retained `queues` says (issue #20's acceptance)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract import topics
from contract.mqtt_url import parse_url
from contract.transport import Message, PahoTransport
from tests.fixtures.broker import Broker, free_port
from tests.fixtures.hall_server import HallServer, example_config, wait_for
from tests.fixtures.parts import require_program

SPEED = 120  # a hall hour in 30 real seconds


class Prometheus:
    """`prometheus` on a free loopback port, with its own config and data folder (never a system one)."""

    def __init__(self, folder: Path, target: str) -> None:
        binary = require_program("prometheus", "prometheus")
        folder.mkdir()
        config = folder / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: hallq\n    scrape_timeout: 1s\n"
            f"    static_configs:\n      - targets: ['{target}']\n",
            encoding="utf-8",
        )
        self.port = free_port()
        self.log = folder / "prometheus.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={folder / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--storage.tsdb.retention.time=1h",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        ready = wait_for(self._ready, 60)
        assert ready, self.log.read_text(errors="replace")[-3000:]

    def _ready(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.port}/-/ready"
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode(
            {"query": expr}
        )
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


class Retained:
    """The hall's retained `queues`, as a device sees it."""

    def __init__(self, url: str, site: str) -> None:
        self.lock = threading.Lock()
        self.queues: dict[str, Any] | None = None
        self.changed = time.monotonic()
        self.transport = PahoTransport(parse_url(url), "test-queues-watcher")
        self.transport.subscribe(topics.queues(site), self._on_queues)
        self.transport.start(wait=10)

    def _on_queues(self, message: Message) -> None:
        waiting = {s: e["waiting"] for s, e in json.loads(message.payload)["services"].items()}
        with self.lock:
            if waiting != self.queues:
                self.queues, self.changed = waiting, time.monotonic()

    def settled(self, seconds: float) -> dict[str, Any] | None:
        """The waiting counts once they have not changed for `seconds`."""
        with self.lock:
            quiet = time.monotonic() - self.changed >= seconds
            return dict(self.queues) if quiet and self.queues is not None else None


@pytest.fixture
def prometheus_hall(broker: Broker, tmp_path: Path) -> Iterator[tuple[HallServer, Prometheus]]:
    require_program("prometheus", "prometheus")
    metrics_port = free_port()
    config = example_config("small-hall", tmp_path, broker.url)
    config.write_text(
        config.read_text("utf-8") + f'\n[metrics]\naddress = "127.0.0.1:{metrics_port}"\n', "utf-8"
    )
    hall = HallServer(
        broker.url,
        "small",
        config,
        tmp_path / "data",
        tmp_path / "hall.log",
        speed=SPEED,
        log_level="WARNING",
    )
    hall.start()
    prometheus = Prometheus(tmp_path / "prometheus", f"127.0.0.1:{metrics_port}")
    yield hall, prometheus
    prometheus.close()
    hall.close()


@pytest.mark.slow
@pytest.mark.broker
def test_prometheus_sees_the_waiting_counts_of_queues(
    prometheus_hall: tuple[HallServer, Prometheus], broker: Broker
) -> None:
    hall, prometheus = prometheus_hall
    retained = Retained(broker.url, "small")
    args = ["--config", str(hall.config), "--url", broker.url, "--hours", "1", "--seed", "5"]
    args += ["--visitors-per-hour", "240", "--speed-from-hall", "--quiet"]
    simulator = subprocess.Popen(
        [sys.executable, "-m", "hallq", "simulate", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # Most of the busy hour (40 hall minutes), then the simulator pauses mid-day.
        time.sleep(20)
        assert simulator.poll() is None, simulator.stderr.read() if simulator.stderr else ""
        simulator.send_signal(signal.SIGSTOP)
        assert wait_for(lambda: retained.settled(3.0) is not None, 30)
        queues = retained.settled(3.0)
        assert queues is not None and sum(queues.values()) > 0, queues  # a busy hour: a queue

        def scraped() -> dict[str, float]:
            return {
                row["metric"]["service"]: float(row["value"][1])
                for row in prometheus.query('hallq_waiting{job="hallq"}')
            }

        assert wait_for(lambda: scraped() == queues, 30), (scraped(), queues)
        # The rest of the hall's figures reached Prometheus as well.
        issued = prometheus.query("sum(hallq_tickets_issued_total)")
        assert float(issued[0]["value"][1]) >= sum(queues.values())
        assert prometheus.query("hallq_broker_connected == 1")
        assert prometheus.query('up{job="hallq"} == 1')
        assert prometheus.query("hallq_request_seconds_count > 0")
    finally:
        simulator.send_signal(signal.SIGCONT)
        simulator.terminate()
        try:
            simulator.wait(30)
        except subprocess.TimeoutExpired:
            simulator.kill()
            simulator.wait(5)
        retained.transport.stop()
