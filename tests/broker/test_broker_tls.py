"""The LAN listener: TLS with the hall CA, a device's env file is all it needs to connect."""

from __future__ import annotations

from pathlib import Path

import pytest

from hall import topics
from hall.mqtt_url import CA_ENV, URL_ENV, broker_address
from tests.broker.conftest import Probe, SecuredHall, make_ca, token

pytestmark = pytest.mark.broker


def env_file(secured: SecuredHall, device: str) -> dict[str, str]:
    text = (secured.settings.out / "env" / f"{device}.env").read_text()
    return dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
    )


def test_device_connects_over_mqtts_with_its_env_file(secured: SecuredHall) -> None:
    env = env_file(secured, "k01")
    assert env[URL_ENV].startswith("mqtts://k01:")
    address = broker_address(secured.config.broker, env)  # as every hallq program reads it
    assert address.tls and address.port == secured.settings.tls_port
    assert address.ca == str(secured.ca)
    site = secured.site
    with secured.probe("hall") as hall:
        hall.subscribe(topics.kiosk_req(site, "k01"))
        with Probe(
            address.username, address.password, address.port, host=address.host, ca=address.ca
        ) as kiosk:
            proof = token("over-tls")
            kiosk.publish(topics.kiosk_req(site, "k01"), proof)
            hall.until(topics.kiosk_req(site, "k01"), proof)


def test_hall_env_file_uses_the_loopback_listener(secured: SecuredHall) -> None:
    env = env_file(secured, "hall")
    assert CA_ENV not in env
    address = broker_address(secured.config.broker, env)
    assert not address.tls and address.host == "127.0.0.1"
    with Probe(address.username, address.password, address.port) as hall:
        assert hall.client.is_connected()


def test_client_trusting_another_ca_is_refused(secured: SecuredHall, tmp_path: Path) -> None:
    other = make_ca(tmp_path / "other-ca")
    port = secured.settings.tls_port
    good = Probe("k01", secured.passwords["k01"], port, host="localhost", ca=secured.ca)
    assert good.connect()  # the positive control: same account, the hall's CA
    good.close()
    stranger = Probe("k01", secured.passwords["k01"], port, host="localhost", ca=other / "ca.crt")
    assert not stranger.connect()
    assert "certificate verify failed" in str(stranger.error)
    stranger.close()


def test_tls_listener_refuses_wrong_credentials_and_plain_mqtt(secured: SecuredHall) -> None:
    port = secured.settings.tls_port
    for user, password in (("k01", "wrong"), (None, None)):
        probe = Probe(user, password, port, host="localhost", ca=secured.ca)
        assert not probe.connect()
        probe.close()
    plain = Probe("k01", secured.passwords["k01"], port, host="localhost")  # no TLS at all
    assert not plain.connect()
    plain.close()


def test_server_certificate_is_checked_against_the_address(secured: SecuredHall) -> None:
    # 127.0.0.1 is among the certificate's names, 127.0.0.2 (the same machine) is not: the CA alone
    # is not enough, the name must match too.
    port, password = secured.settings.tls_port, secured.passwords["k01"]
    listed = Probe("k01", password, port, host="127.0.0.1", ca=secured.ca)
    assert listed.connect()
    listed.close()
    unlisted = Probe("k01", password, port, host="127.0.0.2", ca=secured.ca)
    assert not unlisted.connect()
    assert "127.0.0.2" in str(unlisted.error) or "mismatch" in str(unlisted.error)
    unlisted.close()
