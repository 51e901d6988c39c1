"""The hall service on the in-memory loopback transport, with its devices on the same bus: the
service's publishing rules, tested without a broker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contract import topics
from contract.client import HallClient
from contract.transport import LoopbackBroker, LoopbackTransport
from hall.config.schema import HallConfig
from hall.service.metrics import HallMetrics
from hall.service.service import HallService
from hall.store.clock import Clock
from hall.store.core import HallCore
from tests.fixtures.hall_server import wait_for


class LoopbackHall:
    def __init__(
        self,
        config: HallConfig,
        data: Path,
        clock: Clock,
        *,
        queues_interval: float,
        metrics: HallMetrics | None = None,
    ) -> None:
        self.site = config.site.id
        self.broker = LoopbackBroker()
        self.config = config
        self.clock = clock
        self.core = HallCore(config, data, clock)
        self.transport = LoopbackTransport(
            self.broker, topics.HALL_CLIENT_ID, topics.status(self.site, topics.HALL_CLIENT_ID)
        )
        self.service = HallService(
            self.core, self.transport, queues_interval=queues_interval, metrics=metrics
        )
        self.service.start()
        # Up once it published every retained topic (catalog comes after the window states);
        # `queues` may have gone out before, held while the transport was not yet started.
        assert wait_for(lambda: topics.catalog(self.site) in self.broker.retained)

    def client(self, device_class: str, device_id: str) -> HallClient:
        transport = LoopbackTransport(self.broker, device_id, topics.status(self.site, device_id))
        client = HallClient(transport, self.site, device_class, device_id)
        transport.start()
        return client

    def retained(self, topic: str) -> dict[str, Any]:
        value = json.loads(self.broker.retained[topic])
        assert isinstance(value, dict)
        return value

    def published(self, topic: str) -> list[bytes]:
        return [m.payload for m in self.broker.log if m.topic == topic]

    def close(self) -> None:
        self.service.stop()
        self.core.close()
