"""One hall server per site on the production broker (ACLs, `use_username_as_clientid`): the second
server reads the owner record through the read-only `hall-check` account from the hall's env file,
so it never takes the serving hall's session; it exits 2 naming the first, which serves on."""

from __future__ import annotations

import subprocess
from pathlib import Path

from contract import topics
from contract.mqtt_url import BrokerAddress
from hall.broker_config import read_env_file
from tests.broker.conftest import SecuredHall, token
from tests.fixtures.hall_server import HallServer


def test_a_second_server_exits_2_without_disturbing_the_first(
    secured: SecuredHall, tmp_path: Path
) -> None:
    env = read_env_file(secured.settings.out / "env" / "hall.env")
    assert "HALLQ_CHECK_URL" in env
    config = secured.settings.out.parent / "hall.toml"
    watch = BrokerAddress(
        "127.0.0.1",
        secured.settings.local_port,
        username="op-1",
        password=secured.passwords["op-1"],
    )
    first = HallServer(watch, secured.site, config, tmp_path / "a", tmp_path / "a.log", env=env)
    second = HallServer(watch, secured.site, config, tmp_path / "b", tmp_path / "b.log", env=env)
    try:
        first.start()
        online_at = len(first.status)
        second.spawn()
        assert second.process is not None
        try:
            status = second.process.wait(30)
        except subprocess.TimeoutExpired:
            status = None
        said = second.log.read_text()
        assert status == 2, said
        assert "another hall server serves this site" in said
        assert str((tmp_path / "a").resolve()) in said
        assert first.process is not None and first.process.poll() is None
        assert b"offline" not in first.status[online_at:]
        assert "lost the broker" not in first.log.read_text()  # its session was never taken
    finally:
        second.close()
        first.close()


def test_the_check_account_reads_the_owner_record_and_writes_nothing(
    secured: SecuredHall,
) -> None:
    owner = topics.owner(secured.site)
    with secured.probe("hall") as hall, secured.probe("hall-check") as check:
        check.subscribe(owner)
        denied, allowed = token("denied"), token("allowed")
        check.publish(owner, denied, retain=False)  # dropped by the ACL
        hall.publish(owner, allowed, retain=False)
        seen = check.until(owner, allowed)
        assert (owner, denied) not in seen
