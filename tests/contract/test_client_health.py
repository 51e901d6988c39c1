"""Device health is stamped with the hall's time once the client follows the hall's `clock`."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from contract import topics
from contract.client import HallClient
from contract.protocol import dumps
from contract.transport import LoopbackBroker, LoopbackTransport, Message

SITE = "testhall"
TZ = ZoneInfo("Asia/Shanghai")


def test_health_carries_the_halls_time_when_following_its_clock() -> None:
    broker = LoopbackBroker()
    # the hall's clock stands still at a simulated morning (speed 0)
    hall_time = datetime(2026, 11, 26, 9, 0, tzinfo=TZ)
    clock = {"v": 1, "at": hall_time.isoformat(), "speed": 0.0, "unix": 1.0}
    broker.publish(Message(topics.clock(SITE), dumps(clock), True))
    transport = LoopbackTransport(broker, "led-1", topics.status(SITE, "led-1"))
    client = HallClient(transport, SITE, "bridge", "led-1")
    transport.start()
    health = topics.device_health(SITE, "led-1")

    client.publish_health("ok")  # not following: its own time (today, not the simulated day)
    assert not json.loads(broker.retained[health])["at"].startswith("2026-11-26T09:00")
    client.follow_clock(TZ)
    client.publish_health("ok", {"1": "unknown"})
    assert json.loads(broker.retained[health])["at"].startswith("2026-11-26T09:00:00")
