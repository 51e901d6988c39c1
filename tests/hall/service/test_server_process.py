"""`hallq server` as a real process: config errors, clean stop on a signal, and idempotency across
a SIGKILL and a restart (the same request three times: one effect, three identical answers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract import topics
from contract.client import HallClient
from contract.mqtt_url import parse_url
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import HallServer, to_toml, wait_for
from tests.fixtures.halls import SITE, small_hall_data


def write_config(folder: Path, broker: Broker, **changes: Any) -> Path:
    data = small_hall_data()
    data["broker"] = {"url": broker.url, "keepalive": 10}
    data.update(changes)
    path = folder / "hall.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    return path


@pytest.fixture
def server(broker: Broker, tmp_path: Path) -> Iterator[HallServer]:
    running = HallServer(
        broker.url, SITE, write_config(tmp_path, broker), tmp_path / "data", tmp_path / "hall.log"
    )
    yield running
    running.close()


def run_server(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hallq", "server", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
    )


def test_config_errors_are_plain_and_exit_2(broker: Broker, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[site]\nid = "Bad Id"\n')
    done = run_server("--config", str(bad), "--data", str(tmp_path / "d"))
    assert done.returncode == 2
    assert "bad.toml" in done.stderr and "Traceback" not in done.stderr
    missing = run_server("--config", str(tmp_path / "nope.toml"), "--data", str(tmp_path))
    assert missing.returncode == 2 and "file not found" in missing.stderr
    good = write_config(tmp_path, broker)
    no_data = run_server("--config", str(good), env={"HALLQ_DATA_DIR": ""})
    assert no_data.returncode == 2 and "HALLQ_DATA_DIR" in no_data.stderr
    bad_url = run_server(
        "--config", str(good), "--data", str(tmp_path), env={"HALLQ_MQTT_URL": "http://x"}
    )
    assert bad_url.returncode == 2 and "HALLQ_MQTT_URL" in bad_url.stderr
    bad_clock = run_server("--config", str(good), "--data", str(tmp_path), "--clock", "soon")
    assert bad_clock.returncode == 2 and "clock" in bad_clock.stderr
    assert "Traceback" not in bad_url.stderr + bad_clock.stderr + no_data.stderr


def test_sigterm_stops_cleanly_and_says_offline(server: HallServer) -> None:
    server.start()
    assert server.terminate() == 0
    assert wait_for(lambda: server.status[-1:] == [b"offline"])
    assert "Traceback" not in server.log.read_text()


def test_idempotent_across_sigkill_and_restart(server: HallServer, broker: Broker) -> None:
    server.start()
    address = parse_url(broker.url)
    body = b'{"v":1,"id":"kill-1","op":"issue","service":"psb-id-card"}'
    answers = []
    with HallClient.connect(address, SITE, "kiosk", "k1") as kiosk:
        answers.append(kiosk.request_raw(body, "kill-1", timeout=5))
        for _ in range(2):
            server.kill()  # the last will says offline; a restart replays the store
            server.start()
            answers.append(kiosk.request_raw(body, "kill-1", timeout=5))
        assert answers[0] == answers[1] == answers[2]
        assert json.loads(answers[0])["result"]["ticket"]["number"] == "A001"
        # One effect: the next ticket is A002.
        nxt = kiosk.request("issue", service="psb-id-card", timeout=5)["ticket"]
        assert nxt["number"] == "A002"
    assert b"offline" in server.status  # the will arrived after each SIGKILL


def test_calls_keep_their_seq_across_restarts(server: HallServer, broker: Broker) -> None:
    server.start()
    address = parse_url(broker.url)
    calls: list[dict[str, Any]] = []
    display = HallClient.connect(address, SITE, "display", "d1")
    display.subscribe_json(topics.calls(SITE), lambda t, v: calls.append(v or {}), wait=5)
    with (
        HallClient.connect(address, SITE, "kiosk", "k1") as kiosk,
        HallClient.connect(address, SITE, "window", "w02") as window,
    ):
        window.request("login", clerk="c0201", timeout=5)
        for _ in range(4):
            kiosk.request("issue", service="psb-id-card", timeout=5)
        window.request("call_next", timeout=5)
        server.kill()
        server.start()
        window.request("call_next", timeout=5)
        window.request("recall", timeout=5)
        server.kill()
        server.start()
        window.request("call_next", timeout=5)
    assert wait_for(lambda: len({c["seq"] for c in calls}) == 4)
    seqs = sorted({c["seq"] for c in calls})
    assert seqs == [1, 2, 3, 4]
    by_seq: dict[int, bytes] = {}
    for c in calls:  # a repeat (after a crash) is the same message with the same seq
        key = json.dumps(c, sort_keys=True).encode()
        assert by_seq.setdefault(c["seq"], key) == key
    display.close()
    assert server.terminate() == 0


def test_a_gbk_config_or_a_folder_exits_2_with_a_plain_message(
    broker: Broker, tmp_path: Path
) -> None:
    # Before issue 13's fix: a traceback and exit 1, which systemd restarts every 2 s forever.
    gbk = tmp_path / "gbk.toml"
    gbk.write_bytes(write_config(tmp_path, broker).read_text("utf-8").encode("gb18030"))
    for config in (gbk, tmp_path):
        done = run_server("--config", str(config), "--data", str(tmp_path / "d"))
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
    assert "save it as UTF-8" in run_server("--config", str(gbk), "--data", "x").stderr
