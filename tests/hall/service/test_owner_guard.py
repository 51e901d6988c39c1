"""The owner guard's rule (issue 13, fault 1), on the in-memory broker: of two hall servers that
both passed the check, the one whose record is not the last the broker delivered stops; a record
of another server arriving after ours means another server took the site."""

from __future__ import annotations

import threading

from contract import topics
from contract.transport import LoopbackBroker, LoopbackTransport, Message
from hall.service.owner import Owner, OwnerGuard
from tests.fixtures.hall_server import wait_for

SITE = "testhall"


class Server:
    def __init__(self, broker: LoopbackBroker, name: str, at_check: Owner | None = None) -> None:
        self.me = Owner("host-" + name, "/data/" + name, 100, "2026-11-26T09:00:00+0800")
        self.transport = LoopbackTransport(broker, "hall")
        self.lost: list[Owner] = []
        self.stopped = threading.Event()

        def on_lost(other: Owner) -> None:
            self.lost.append(other)
            self.stopped.set()

        self.guard = OwnerGuard(self.transport, SITE, self.me, at_check, True, on_lost)
        self.guard.install()


def test_two_started_at_once_exactly_one_serves() -> None:
    broker = LoopbackBroker()
    first, second = Server(broker, "a"), Server(broker, "b")
    first.transport.start()
    second.transport.start()
    assert wait_for(lambda: first.stopped.is_set() or second.stopped.is_set(), 5)
    assert wait_for(lambda: first.guard.holding or second.guard.holding, 5)
    serving, stopped = (first, second) if first.guard.holding else (second, first)
    assert not serving.lost and stopped.lost == [serving.me]
    assert broker.retained[topics.owner(SITE)] == serving.me.payload()


def test_a_record_of_another_server_after_ours_stops_us() -> None:
    broker = LoopbackBroker()
    server = Server(broker, "a")
    server.transport.start()
    assert wait_for(lambda: server.guard.holding, 5)
    other = Owner("host-b", "/data/b", 200, "2026-11-26T10:00:00+0800")
    broker.publish(Message(topics.owner(SITE), other.payload(), True))
    assert server.lost == [other]


def test_the_record_the_check_saw_is_replaced_and_ours_from_before_too() -> None:
    broker = LoopbackBroker()
    old = Owner("host-old", "/data/old", 1, "2026-11-25T09:00:00+0800")
    broker.publish(Message(topics.owner(SITE), old.payload(), True))
    server = Server(broker, "a", at_check=old)  # the check saw it, with status/hall offline
    server.transport.start()
    assert wait_for(lambda: server.guard.holding, 5)
    assert not server.lost
    # A restart of the same hall (same host and data folder, another pid) takes its place too.
    again = Server(broker, "a")
    again.me = Owner(server.me.host, server.me.data, 101, "2026-11-26T11:00:00+0800")
    again.guard.me = again.me
    server.transport.stop()
    again.transport.start()
    assert wait_for(lambda: again.guard.holding, 5) and not again.lost
