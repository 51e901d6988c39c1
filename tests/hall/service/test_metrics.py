"""The hall's Prometheus metrics (hall/service/metrics.py) over its real HTTP endpoint, with the service on
the loopback transport: what a scrape says after real requests, device reports and alarms."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from contract import topics
from contract.client import RequestRefused
from hall.config.schema import ConfigError, parse_config
from hall.service.metrics import HallMetrics
from hall.store.clock import FixedClock
from hall.store.core import HallCore
from tests.fixtures.hall_server import to_toml, wait_for
from tests.fixtures.halls import CLERK_PIN, SITE, small_hall, small_hall_data
from tests.hall.service.loopback_hall import LoopbackHall
from tests.hall.service.test_service import START

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[tuple[LoopbackHall, str]]:
    config = small_hall()
    metrics = HallMetrics(config)
    host, port = metrics.serve("127.0.0.1", 0)
    running = LoopbackHall(
        config, tmp_path / "data", FixedClock(START), queues_interval=0.05, metrics=metrics
    )
    assert running.service.wait_idle()
    yield running, f"http://{host}:{port}/metrics"
    running.close()
    metrics.close()


def scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape_registry(metrics: HallMetrics) -> Samples:
    text = generate_latest(metrics.registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, metric: str, /, **labels: str) -> float:
    return samples[(metric, tuple(sorted(labels.items())))]


def test_a_scrape_shows_requests_tickets_and_queues(hall: tuple[LoopbackHall, str]) -> None:
    setup, url = hall
    kiosk, window = setup.client("kiosk", "k1"), setup.client("window", "w01")
    for _ in range(3):
        kiosk.request("issue", service="psb-id-card")
    kiosk.request("issue", service="psb-hukou")
    window.request("login", clerk="c0101", pin=CLERK_PIN)
    window.request("call_next")
    window.request("no_show")
    with pytest.raises(RequestRefused):
        window.request("finish")  # nothing at the window: refused
    assert setup.service.wait_idle()
    samples = scrape(url)

    assert value(samples, "hallq_requests_total", op="issue", code="ok") == 4
    assert value(samples, "hallq_requests_total", op="call_next", code="ok") == 1
    assert sum(v for (n, labels), v in samples.items() if n == "hallq_requests_total") == 8
    refused = [labels for (n, labels), v in samples.items() if n == "hallq_requests_total"]
    assert any(
        dict(labels)["op"] == "finish" and dict(labels)["code"] != "ok" for labels in refused
    )
    card = {"service": "psb-id-card", "department": "psb"}
    assert value(samples, "hallq_tickets_issued_total", **card) == 3
    assert value(samples, "hallq_tickets_called_total", **card) == 1
    assert value(samples, "hallq_tickets_no_show_total", **card) == 1
    assert ("hallq_tickets_served_total", tuple(sorted(card.items()))) not in samples  # none yet
    # Waiting per service is what the retained `queues` says.
    assert wait_for(lambda: topics.queues(SITE) in setup.broker.retained)
    assert wait_for(
        lambda: setup.retained(topics.queues(SITE))["services"]["psb-id-card"]["waiting"] == 2
    )
    queues = setup.retained(topics.queues(SITE))["services"]
    for service, entry in queues.items():
        department = setup.config.service(service).department  # type: ignore[union-attr]
        labels = {"service": service, "department": department}
        assert value(samples, "hallq_waiting", **labels) == entry["waiting"]
    # The clock stands still at START, and the tickets were issued at START: no wait yet.
    assert value(samples, "hallq_longest_wait_seconds", **card) == 0
    assert value(samples, "hallq_request_seconds_count") == 8
    assert value(samples, "hallq_batch_requests_sum") == 8
    assert value(samples, "hallq_store_commit_seconds_count") >= 7
    assert value(samples, "hallq_call_publish_seconds_count") == 1
    assert value(samples, "hallq_broker_connected") == 1
    assert value(samples, "hallq_outbox_depth") == 0
    assert value(samples, "hallq_hall_info", site=SITE, name="测试大厅") == 1
    assert value(samples, "process_cpu_seconds_total") > 0
    # No [alarms] in the config: no thresholds.
    assert not any(n == "hallq_wait_threshold_seconds" for n, _ in samples)


def test_devices_presence_and_health_follow_their_retained_topics(
    hall: tuple[LoopbackHall, str],
) -> None:
    setup, url = hall
    samples = scrape(url)
    assert value(samples, "hallq_device_online", device="k1", **{"class": "kiosk"}) == 0
    kiosk = setup.client("kiosk", "k1")  # its transport says `online` on status/k1
    kiosk.transport.publish(
        topics.device_health(SITE, "k1"),
        json.dumps({"v": 1, "state": "paper_out", "detail": {}, "at": START.isoformat()}).encode(),
        qos=1,
        retain=True,
    )
    kiosk.transport.publish(topics.status(SITE, "nobody"), b"online", qos=1, retain=True)
    kiosk.transport.publish(topics.device_health(SITE, "d1"), b"{not json", qos=1, retain=True)
    k1 = {"device": "k1", "class": "kiosk"}
    assert wait_for(lambda: value(scrape(url), "hallq_device_online", **k1) == 1)
    assert wait_for(lambda: ("hallq_device_healthy", tuple(sorted(k1.items()))) in scrape(url))
    samples = scrape(url)
    assert value(samples, "hallq_device_healthy", **k1) == 0
    assert value(samples, "hallq_device_health", state="paper_out", **k1) == 1
    assert not any(dict(labels).get("device") == "nobody" for _, labels in samples)
    assert ("hallq_device_healthy", (("class", "display"), ("device", "d1"))) not in samples


def test_a_window_a_bridge_acts_for_counts_once_its_terminal_is_seen(tmp_path: Path) -> None:
    data = small_hall_data()
    data["bridges"] = [{"id": "kp1", "kind": "keypad", "windows": ["w01"]}]
    metrics = HallMetrics(parse_config(data))
    with HallCore(metrics.config, tmp_path / "data", FixedClock(START)) as core:
        metrics.watch(core, lambda: 0, lambda: True)
        samples = scrape_registry(metrics)
        assert ("hallq_device_online", (("class", "window"), ("device", "w01"))) not in samples
        assert value(samples, "hallq_device_online", device="w02", **{"class": "window"}) == 0
        assert value(samples, "hallq_device_online", device="kp1", **{"class": "bridge"}) == 0
        metrics.device_status("w01", b"online")
        samples = scrape_registry(metrics)
        assert value(samples, "hallq_device_online", device="w01", **{"class": "window"}) == 1


def test_open_alarms_by_kind(hall: tuple[LoopbackHall, str]) -> None:
    setup, url = hall
    metrics = setup.service.metrics
    assert metrics is not None
    samples = scrape(url)
    for kind in ("quota", "storage_error", "worker_fault"):
        assert value(samples, "hallq_alarms_open", kind=kind) == 0
    # The open alarms reach the metrics as the retained `alarms` goes out (the worker's next step).
    setup.service._storage_state(True, False)  # what a failed commit does
    assert wait_for(lambda: value(scrape(url), "hallq_alarms_open", kind="storage_error") == 1)
    setup.service._storage_state(False, True)  # a batch written again
    assert wait_for(lambda: value(scrape(url), "hallq_alarms_open", kind="storage_error") == 0)
    # The whole open set is fed at once (as the service does from its open alarms).
    metrics.set_open_alarms([("queue_long", "psb"), ("queue_long", "tax"), ("kiosk_help", "k1")])
    samples = scrape(url)
    assert value(samples, "hallq_alarms_open", kind="queue_long") == 2
    assert value(samples, "hallq_alarms_open", kind="kiosk_help") == 1
    assert value(samples, "hallq_alarms_open", kind="quota") == 0


def test_thresholds_come_from_the_alarms_section(
    hall: tuple[LoopbackHall, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Until [alarms] (#19) is in the config, a stand-in of its shape shows what is exported.
    from types import SimpleNamespace

    from hall.service import metrics as module

    setup, _ = hall
    alarms = SimpleNamespace(
        wait_long_min=30, departments=[SimpleNamespace(department="tax", wait_long_min=10)]
    )
    stand_in = SimpleNamespace(departments=setup.config.departments, alarms=alarms)
    assert module._thresholds(stand_in) == {"psb": 1800.0, "tax": 600.0, "amr": 1800.0}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("address", "host", "port"),
    [
        ("127.0.0.1:9464", "127.0.0.1", 9464),
        ("[::1]:9100", "::1", 9100),
        ("0.0.0.0:1", "0.0.0.0", 1),
    ],
)
def test_the_metrics_section(address: str, host: str, port: int) -> None:
    config = parse_config({**small_hall_data(), "metrics": {"address": address}})
    assert config.metrics is not None
    assert (config.metrics.host, config.metrics.port) == (host, port)
    assert parse_config(small_hall_data()).metrics is None  # no section: no listener


@pytest.mark.parametrize("address", ["9464", "localhost:", "host:99999", ":9464"])
def test_a_bad_metrics_address_says_what_to_write(address: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({**small_hall_data(), "metrics": {"address": address}}, "hall.toml")
    assert "hall.toml: metrics.address" in str(caught.value)
    assert "HOST:PORT" in str(caught.value)


def test_the_server_says_when_its_metrics_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "hall.toml"
        data = {**small_hall_data(), "metrics": {"address": f"127.0.0.1:{port}"}}
        config.write_text(to_toml(data), encoding="utf-8")
        args = ["server", "--config", str(config), "--data", str(tmp_path / "data")]
        done = subprocess.run(
            [sys.executable, "-m", "hallq", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2, done.stderr
    assert f"cannot serve metrics on 127.0.0.1:{port} ([metrics] address)" in done.stderr
    assert "Traceback" not in done.stderr
