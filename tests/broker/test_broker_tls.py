"""The LAN listener: TLS with the hall CA, a device's env file is all it needs to connect."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from contract import topics
from contract.mqtt_url import CA_ENV, URL_ENV, broker_address
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


def test_make_ca_keeps_the_ca_and_renews_the_server_certificate_on_demand(tmp_path: Path) -> None:
    folder = make_ca(tmp_path / "tls", host="hall.lan")
    ca, server = (folder / "ca.crt").read_bytes(), (folder / "server.crt").read_bytes()
    make_ca(folder, host="hall.lan")  # a second run changes nothing
    assert (folder / "ca.crt").read_bytes() == ca and (folder / "server.crt").read_bytes() == server
    script = Path(__file__).resolve().parents[2] / "broker_config" / "make-ca.sh"
    subprocess.run(
        ["bash", str(script), str(folder), "hall.lan", "10.1.2.3", "DNS:broker.lan"],
        env={**os.environ, "RENEW": "1"},
        check=True,
        capture_output=True,
    )
    assert (folder / "ca.crt").read_bytes() == ca  # devices keep trusting the same CA
    assert (folder / "server.crt").read_bytes() != server
    text = subprocess.run(
        ["openssl", "x509", "-in", str(folder / "server.crt"), "-noout", "-ext", "subjectAltName"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for name in ("DNS:hall.lan", "DNS:localhost", "IP Address:127.0.0.1", "IP Address:10.1.2.3"):
        assert name in text
    assert "DNS:broker.lan" in text
    assert oct((folder / "ca.key").stat().st_mode & 0o777) == "0o600"
