"""deploy/prometheus and deploy/grafana: promtool accepts them, and every metric the alert rules and
the dashboard name is one the hall exports."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from hall.service import metrics as metrics_module
from hall.service.metrics import HallMetrics
from hall.store.clock import FixedClock
from hall.store.core import HallCore
from tests.fixtures.halls import small_hall
from tests.fixtures.parts import require_program
from tests.hall.service.test_service import START

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SCRAPE_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
RULES = DEPLOY / "prometheus" / "hallq-rules.yml"
DASHBOARD = DEPLOY / "grafana" / "hallq-hall.json"
METRIC = re.compile(r"\b((?:hallq|process)_[a-z0-9_]+)")


def exported_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Every sample name a hall exports once each kind of figure exists (a device's health report,
    and department thresholds: those of the [alarms] section, stood in for here)."""
    monkeypatch.setattr(metrics_module, "_thresholds", lambda config: {"psb": 1800.0})
    config = small_hall()
    metrics = HallMetrics(config)
    with HallCore(config, tmp_path / "data", FixedClock(START)) as core:
        metrics.watch(core, lambda: 0, lambda: True)
        metrics.device_health("k1", "ready")
        metrics.requests.labels("issue", "ok").inc()  # a labelled counter shows once used
        for counter in metrics.tickets.values():
            counter.labels("psb-id-card", "psb").inc()
        text = generate_latest(metrics.registry).decode()
    return {
        sample.name for family in text_string_to_metric_families(text) for sample in family.samples
    }


def named_in_rules() -> set[str]:
    return set(METRIC.findall(RULES.read_text(encoding="utf-8")))


def named_in_dashboard() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    exprs += [str(v.get("query", "")) for v in dashboard["templating"]["list"]]
    return {name for expr in exprs for name in METRIC.findall(expr)}


def test_promtool_accepts_the_scrape_config_and_the_rules() -> None:
    promtool = require_program("promtool", "prometheus")
    for args in (["check", "config", str(SCRAPE_CONFIG)], ["check", "rules", str(RULES)]):
        done = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr


def test_every_metric_the_rules_and_dashboard_name_is_exported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported = exported_names(tmp_path, monkeypatch)
    rules, dashboard = named_in_rules(), named_in_dashboard()
    assert {"hallq_broker_connected", "hallq_outbox_depth", "hallq_device_online"} <= rules
    assert "hallq_wait_threshold_seconds" in rules and "hallq_longest_wait_seconds" in rules
    assert {
        "hallq_waiting",
        "hallq_tickets_called_total",
        "hallq_request_seconds_bucket",
    } <= dashboard
    assert rules - exported == set()
    assert dashboard - exported == set()


def test_the_dashboard_is_importable_grafana_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] == "hallq-hall" and dashboard["panels"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
