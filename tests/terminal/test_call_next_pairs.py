"""Two window terminals press call-next at the same instant for the same service, 1,000 times: never
the same ticket. Two real clients (what terminal/link.py sends) against a real `hallq server` and
Mosquitto, windows w01 and w02 both serving psb-id-card."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from contract.client import HallClient
from contract.mqtt_url import parse_url
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import HallServer, to_toml
from tests.fixtures.halls import CLERK_PIN, SITE, small_hall_data

PAIRS = 1000


@pytest.mark.slow
def test_two_terminals_calling_at_once_never_get_the_same_ticket(broker: Broker, tmp_path: Path) -> None:  # fmt: skip
    data = small_hall_data(number_width=4)
    data["broker"] = {"url": broker.url, "keepalive": 10}
    config = tmp_path / "hall.toml"
    config.write_text(to_toml(data), encoding="utf-8")
    server = HallServer(broker.url, SITE, config, tmp_path / "data", tmp_path / "hall.log")
    server.start()
    address = parse_url(broker.url)
    clients = [HallClient.connect(address, SITE, "window", w) for w in ("w01", "w02")]
    kiosks = [HallClient.connect(address, SITE, "kiosk", k) for k in ("k1", "k2")]
    try:
        with ThreadPoolExecutor(8) as pool:  # 2 x PAIRS tickets, issued by two kiosks
            list(pool.map(lambda n: kiosks[n % 2].request("issue", service="psb-id-card", timeout=10), range(2 * PAIRS)))  # fmt: skip
        clients[0].request("login", clerk="c0101", pin=CLERK_PIN)
        clients[1].request("login", clerk="c0201")
        barrier = threading.Barrier(2)
        called: list[list[str]] = [[], []]

        def terminal(side: int) -> None:
            for _ in range(PAIRS):
                barrier.wait(30)
                answer = clients[side].request("call_next", timeout=10)
                called[side].append(answer["ticket"]["id"])

        threads = [threading.Thread(target=terminal, args=(side,)) for side in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        assert len(called[0]) == len(called[1]) == PAIRS
        assert not set(called[0]) & set(called[1]), "a ticket was called at two windows"
        assert len(set(called[0] + called[1])) == 2 * PAIRS
    finally:
        for client in clients + kiosks:
            client.close()
        server.close()
