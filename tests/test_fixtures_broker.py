import socket

from tests.fixtures.broker import Broker


def test_broker_fixture_listens(broker: Broker) -> None:
    with socket.create_connection(("127.0.0.1", broker.port), timeout=2):
        pass
    broker.restart()
    with socket.create_connection(("127.0.0.1", broker.port), timeout=2):
        pass
