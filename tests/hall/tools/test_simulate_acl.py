"""`hallq simulate --credentials DIR` on a locked-down broker: each kiosk, window and evaluator it
plays connects over TLS with its own credentials from `hallq broker-config`, under the generated ACL,
against the real hall server on its loopback account."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.device_env import read_env_file
from contract.mqtt_url import broker_address
from hall.config.schema import load_config
from hall.tools.broker_config import Settings, generate
from tests.broker.conftest import make_ca, two_free_ports
from tests.fixtures.broker import Broker, running_broker, wait_for_port
from tests.fixtures.hall_server import HallServer
from tests.hall.tools.test_simulate import SMALL, simulate_cmd

pytestmark = pytest.mark.broker

SITE = "small"


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[Settings, Broker]]:
    make_ca(tmp_path / "tls")
    config = load_config(SMALL)
    for attempt in range(3):  # another process may take a free port before the broker binds it
        local_port, tls_port = two_free_ports()
        settings = Settings(
            out=tmp_path / "out",
            host="localhost",
            local_port=local_port,
            tls_port=tls_port,
            tls_dir=tmp_path / "tls",
            device_ca=str(tmp_path / "tls" / "ca.crt"),
            persistence=tmp_path / "persist",
            broker_user="root" if os.geteuid() == 0 else "mosquitto",
        )
        (tmp_path / "persist").mkdir(exist_ok=True)
        generate(config, settings)
        conf = (settings.out / "mosquitto.conf").read_text()
        try:
            with running_broker(tmp_path / f"run{attempt}", conf, port=local_port) as broker:
                wait_for_port(tls_port)
                yield settings, broker
                return
        except TimeoutError:
            if attempt == 2:
                raise


def test_simulate_plays_each_device_with_its_own_credentials(
    secured: tuple[Settings, Broker], tmp_path: Path
) -> None:
    settings, _ = secured
    hall_env = read_env_file(settings.out / "env" / "hall.env")
    hall_env.pop("HALLQ_MQTT_CA", None)
    # Watched as a display would (the hall's own account is taken by the hall: one client id).
    display = load_config(SMALL).displays[0].id
    watch = broker_address(
        load_config(SMALL).broker, read_env_file(settings.out / "env" / f"{display}.env")
    )
    data, log = tmp_path / "data", tmp_path / "hall.log"
    hall = HallServer(
        watch, "small", SMALL, data, log, speed=600, log_level="WARNING", env=hall_env
    )
    try:
        hall.start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HALLQ_MQTT")}
        done = subprocess.run(
            simulate_cmd(
                *("--config", str(SMALL), "--credentials", str(settings.out), "--hours", "0.5"),
                *("--seed", "5", "--speed-from-hall", "--visitors-per-hour", "60"),
            ),
            capture_output=True,
            text=True,
            timeout=90,
            env=env,
        )
    finally:
        hall.close()
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    # Every played device got through the ACL: kiosks issued, windows called, evaluators rated,
    # and the hall's clock (x600) reached them.
    assert "hall clock x600" in out, out[-2000:]
    assert re.search(r"issued [1-9]", out) and re.search(r"called [1-9]", out), out[-2000:]
    assert re.search(r"rated [1-9]", out), out[-2000:]
    assert "no answer: none" in out
    assert " k01 issued " in out and " w001 calls " in out
