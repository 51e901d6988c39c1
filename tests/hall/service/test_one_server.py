"""One hall server per site (issue 13, fault 1): a second `hallq server` of the same site on the same
broker (another data folder: a restored backup, an operator's mistake) finds the first through its
retained owner record before it connects as `hall`, and exits 2 naming it; the first serves on,
undisturbed. Two started at once: one serves, the other exits 2. This broker has no accounts: the
check reads the record as an anonymous client on another client id."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract import topics
from contract.client import HallClient
from contract.mqtt_url import parse_url
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import HallServer, to_toml, wait_for
from tests.fixtures.halls import SITE, small_hall_data


def write_config(folder: Path, broker: Broker) -> Path:
    data = small_hall_data()
    data["broker"] = {"url": broker.url, "keepalive": 10}
    path = folder / "hall.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    return path


@pytest.fixture
def two(broker: Broker, tmp_path: Path) -> Iterator[tuple[HallServer, HallServer]]:
    config = write_config(tmp_path, broker)
    first = HallServer(broker.url, SITE, config, tmp_path / "data-a", tmp_path / "a.log")
    second = HallServer(broker.url, SITE, config, tmp_path / "data-b", tmp_path / "b.log")
    yield first, second
    first.close()
    second.close()


def exit_status(server: HallServer, timeout: float = 30.0) -> int | None:
    assert server.process is not None
    try:
        return server.process.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def test_a_second_server_exits_2_naming_the_first_which_serves_on(
    two: tuple[HallServer, HallServer], broker: Broker, tmp_path: Path
) -> None:
    # Before the fix the second connected as `hall` and the two knocked each other off the broker.
    first, second = two
    first.start()
    online_at = len(first.status)
    second.spawn()
    assert exit_status(second) == 2, second.log.read_text()
    said = second.log.read_text()
    assert "another hall server serves this site" in said
    assert str((tmp_path / "data-a").resolve()) in said and "Traceback" not in said
    assert first.process is not None and first.process.poll() is None
    assert b"offline" not in first.status[online_at:]  # never knocked off, never said offline
    assert "lost the broker" not in first.log.read_text()
    with HallClient.connect(parse_url(broker.url), SITE, "kiosk", "k1") as kiosk:
        ticket = kiosk.request("issue", service="psb-id-card", timeout=5)["ticket"]
    assert ticket["number"] == "A001"
    record = json.loads(_retained(broker, topics.owner(SITE)))
    assert record["data"] == str((tmp_path / "data-a").resolve())


def test_two_started_at_once_one_serves_the_other_exits_2(
    two: tuple[HallServer, HallServer],
) -> None:
    first, second = two
    first.spawn()
    second.spawn()
    assert wait_for(
        lambda: any(s.process is not None and s.process.poll() is not None for s in two), 40
    ), first.log.read_text() + second.log.read_text()
    stopped = [s for s in two if s.process is not None and s.process.poll() is not None]
    assert len(stopped) == 1, first.log.read_text() + second.log.read_text()
    assert exit_status(stopped[0]) == 2
    serving = first if stopped[0] is second else second
    assert serving.process is not None and serving.process.poll() is None
    assert wait_for(lambda: serving.status[-1:] == [b"online"], 10)


def _retained(broker: Broker, topic: str) -> bytes:
    from contract.transport import Message, PahoTransport

    got: list[bytes] = []
    reader = PahoTransport(parse_url(broker.url), "test-owner-reader")

    def keep(message: Message) -> None:
        got.append(message.payload)

    reader.subscribe(topic, keep)
    reader.start(wait=10)
    try:
        assert wait_for(lambda: bool(got), 5)
    finally:
        reader.stop()
    return got[-1]
