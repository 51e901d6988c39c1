"""`hallq broker-config`: the files it writes, what it keeps across runs, and the ACL it derives."""

from __future__ import annotations

import json
import stat
import subprocess
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from paho.mqtt.client import topic_matches_sub

from contract import topics
from contract.device_env import DeviceEnvError, device_env, read_env_file
from hall.config.schema import HallConfig, load_config
from hall.tools.broker_config import (
    CHECK_USER,
    HALL_USER,
    PRODUCTION,
    Account,
    Settings,
    accounts,
    conf_text,
    generate,
    hash_password,
    main,
    parse_acl,
    password_matches,
)
from tests.fixtures.parts import require_program

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "deploy" / "examples"
SMALL = EXAMPLES / "small-hall.toml"


def settings(out: Path) -> Settings:
    return Settings(out=out, host="hall.lan", persistence=out / "data")


def secrets_of(out: Path) -> dict[str, str]:
    data = json.loads((out / "secrets.json").read_text())
    passwords: dict[str, str] = data["passwords"]
    return passwords


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def config_file(tmp_path: Path, replace: tuple[str, str] | None = None, extra: str = "") -> Path:
    text = SMALL.read_text(encoding="utf-8")
    if replace:
        assert replace[0] in text
        text = text.replace(*replace)
    path = tmp_path / "hall.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


NEW_KIOSK = '\n[[kiosks]]\nid = "k03"\nname = "新取号机"\n'


@pytest.fixture(scope="module")
def small() -> HallConfig:
    return load_config(SMALL)


@pytest.fixture(scope="module")
def prefecture() -> HallConfig:
    return load_config(EXAMPLES / "prefecture-hall.toml")


def test_writes_every_file_with_private_modes(tmp_path: Path, small: HallConfig) -> None:
    out = tmp_path / "broker"
    report = generate(small, settings(out))
    assert report.changes[0].startswith("new: 19 accounts (hall, hall-check + 17 devices)")
    assert mode(out / "secrets.json") == 0o600
    assert mode(out / "passwd") == 0o640
    assert mode(out / "env") == 0o700
    users = {a.user for a in accounts(small)}
    assert set(secrets_of(out)) == users
    assert {p.stem for p in (out / "env").glob("*.env")} == users
    assert all(mode(p) == 0o600 for p in (out / "env").glob("*.env"))
    passwords = secrets_of(out)
    assert len(set(passwords.values())) == len(passwords)  # every account its own
    assert all(len(p) >= 32 for p in passwords.values())


def test_env_files_carry_the_accounts_url_and_ca(tmp_path: Path, small: HallConfig) -> None:
    out = tmp_path / "broker"
    generate(small, settings(out))
    passwords = secrets_of(out)
    for account in accounts(small):
        env = dict(
            line.split("=", 1)
            for line in (out / "env" / f"{account.user}.env").read_text().splitlines()
            if line and not line.startswith("#")
        )
        url = urlsplit(env["HALLQ_MQTT_URL"])
        assert url.username == account.user and url.password == passwords[account.user]
        if account.user in (HALL_USER, CHECK_USER):
            assert (url.scheme, url.hostname, url.port) == ("mqtt", "127.0.0.1", 1883)
            assert "HALLQ_MQTT_CA" not in env  # loopback, no TLS
        else:
            assert (url.scheme, url.hostname, url.port) == ("mqtts", "hall.lan", 8883)
            assert env["HALLQ_MQTT_CA"] == "/etc/hallq/ca.crt"
            # with the site, id and class a device starts from, it needs no hall config
            assert env["HALLQ_SITE"] == small.site.id
            assert env["HALLQ_DEVICE_ID"] == account.user
            assert env["HALLQ_DEVICE_CLASS"] == account.device_class


def test_a_device_starts_from_its_env_file_alone(tmp_path: Path, small: HallConfig) -> None:
    out = tmp_path / "broker"
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    generate(small, replace(settings(out), device_ca=str(ca)))
    device = small.kiosks[0].id
    env = device_env(out / "env" / f"{device}.env", environ={})
    assert (env.site, env.device_id, env.device_class) == (small.site.id, device, "kiosk")
    assert env.address.tls and env.address.username == device and env.address.ca == str(ca)
    with pytest.raises(DeviceEnvError, match="use the env file of"):
        device_env(out / "env" / f"{device}.env", device_id="someone-else", environ={})
    with pytest.raises(DeviceEnvError, match="HALLQ_SITE and HALLQ_MQTT_URL not set"):
        device_env(environ={})


def test_the_hall_env_file_carries_the_check_account(tmp_path: Path, small: HallConfig) -> None:
    out = tmp_path / "broker"
    generate(small, settings(out))
    env = read_env_file(out / "env" / "hall.env")
    url = urlsplit(env["HALLQ_CHECK_URL"])
    assert (url.username, url.password) == (CHECK_USER, secrets_of(out)[CHECK_USER])
    assert (url.scheme, url.hostname, url.port) == ("mqtt", "127.0.0.1", 1883)


def test_password_file_is_mosquittos_format(tmp_path: Path, small: HallConfig) -> None:
    out = tmp_path / "broker"
    generate(small, settings(out))
    passwords = secrets_of(out)
    lines = (out / "passwd").read_text().splitlines()
    assert len(lines) == len(passwords)
    for line in lines:
        user, hashed = line.split(":", 1)
        assert hashed.startswith("$7$")
        assert password_matches(passwords[user], hashed)
        assert not password_matches(passwords[user] + "x", hashed)


def test_hashes_of_mosquitto_passwd_are_understood(tmp_path: Path) -> None:
    tool = require_program("mosquitto_passwd", "mosquitto")
    path = tmp_path / "pw"
    subprocess.run([tool, "-c", "-b", str(path), "alice", "s3cret"], check=True)
    hashed = path.read_text().strip().split(":", 1)[1]
    assert password_matches("s3cret", hashed)
    assert not password_matches("s3cre", hashed)
    assert password_matches("x", hash_password("x"))


def test_second_run_changes_nothing(tmp_path: Path, small: HallConfig) -> None:
    out = tmp_path / "broker"
    generate(small, settings(out))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    report = generate(small, settings(out))
    assert report.lines() == ["nothing changed"] + [f"warning: {w}" for w in report.warnings]
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_adding_a_kiosk_changes_no_other_password(tmp_path: Path) -> None:
    out = tmp_path / "broker"
    assert main(["--config", str(config_file(tmp_path)), "--out", str(out), "--host", "h"]) == 0
    before = secrets_of(out)
    env_before = {p.name: p.read_text() for p in (out / "env").glob("*.env")}
    hashes_before = set((out / "passwd").read_text().splitlines())
    report = generate(load_config(config_file(tmp_path, extra=NEW_KIOSK)), settings(out))
    after = secrets_of(out)
    assert {k: v for k, v in after.items() if k != "k03"} == before
    assert "k03" in after
    assert "kiosk k03: added with a new password" in report.lines()
    assert report.reload_broker
    # Only the new kiosk's hash line is new; the others are kept byte for byte.
    assert set((out / "passwd").read_text().splitlines()) - hashes_before == {
        line for line in (out / "passwd").read_text().splitlines() if line.startswith("k03:")
    }
    for name, text in env_before.items():
        if name != "hall.env":
            # The host given on the first run was "h": the env files show the new one.
            assert (out / "env" / name).read_text() == text.replace("@h:", "@hall.lan:")


def test_removing_a_device_deletes_its_credentials(tmp_path: Path) -> None:
    out = tmp_path / "broker"
    generate(load_config(config_file(tmp_path, extra=NEW_KIOSK)), settings(out))
    assert (out / "env" / "k03.env").exists()
    report = generate(load_config(config_file(tmp_path)), settings(out))
    assert "k03: removed from the config: password, ACL and env file deleted" in report.lines()
    assert "k03" not in secrets_of(out)
    assert not (out / "env" / "k03.env").exists()
    assert "user k03" not in (out / "acl").read_text()
    assert not any(line.startswith("k03:") for line in (out / "passwd").read_text().splitlines())


def test_rotate_gives_one_account_a_new_password(tmp_path: Path, small: HallConfig) -> None:
    out = tmp_path / "broker"
    generate(small, settings(out))
    before = secrets_of(out)
    report = generate(small, settings(out), rotate=["w002"])
    after = secrets_of(out)
    assert after["w002"] != before["w002"]
    assert {k: v for k, v in after.items() if k != "w002"} == {
        k: v for k, v in before.items() if k != "w002"
    }
    assert "window w002: new password (rotated)" in report.lines()
    with pytest.raises(ValueError, match="no account nobody"):
        generate(small, settings(out), rotate=["nobody"])


def test_a_changed_bridge_says_how_its_acl_changed(tmp_path: Path) -> None:
    bridge = '\n[[bridges]]\nid = "led-1"\nkind = "led"\nwindows = ["w001"]\n'
    out = tmp_path / "broker"
    generate(load_config(config_file(tmp_path, extra=bridge)), settings(out))
    wider = bridge.replace('["w001"]', '["w001", "w002"]')
    report = generate(load_config(config_file(tmp_path, extra=wider)), settings(out))
    [line] = [x for x in report.lines() if x.startswith("bridge led-1: ACL changed")]
    assert "+ write hallq/small/window/w002/req" in line


def test_a_changed_config_file_rewrites_the_conf_and_asks_for_a_restart(
    tmp_path: Path, small: HallConfig
) -> None:
    out = tmp_path / "broker"
    generate(small, settings(out))
    moved = Settings(out=out, host="hall.lan", persistence=out / "data", tls_port=8884)
    report = generate(small, moved)
    assert "mosquitto.conf: updated" in report.lines()
    assert report.lines()[-1].startswith("restart the broker")
    assert "listener 8884" in (out / "mosquitto.conf").read_text()


def test_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config_file(tmp_path, replace=('id = "k01"', 'id = "hall"'))
    assert main(["--config", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "reserved for the hall server" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_production_conf_in_the_repo_is_the_generators(tmp_path: Path) -> None:
    assert (ROOT / "broker_config" / "mosquitto.conf").read_text() == conf_text(PRODUCTION)


def test_production_conf_has_what_the_issue_asks() -> None:
    text = conf_text(PRODUCTION)
    for line in [
        "allow_anonymous false",
        "listener 1883 127.0.0.1",
        "listener 8883",
        "set_tcp_nodelay true",
        "persistence true",
        "max_packet_size 1048576",
        "max_inflight_messages 100",
        "password_file /etc/hallq/broker/passwd",
        "acl_file /etc/hallq/broker/acl",
        "certfile /etc/hallq/broker/tls/server.crt",
    ]:
        assert line in text.splitlines()


# --- the ACL: exactly what the contract grants --------------------------------------------------


def writes(account: Account) -> list[str]:
    return [g.topic for g in account.grants if g.access == "write"]


def reads(account: Account) -> list[str]:
    return [g.topic for g in account.grants if g.access == "read"]


def can_write(account: Account, topic: str) -> bool:
    return any(topic_matches_sub(f, topic) for f in writes(account))


def can_read(account: Account, topic: str) -> bool:
    return any(topic_matches_sub(f, topic) for f in reads(account))


HALL_STATE = [
    "window/w001/state",
    "window/w001/rating",
    "calls",
    "board",
    "catalog",
    "queues",
    "alarm",
    "status/hall",
    "kiosk/k01/resp",
    "window/w001/resp",
    "evaluator/e001/resp",
    "operator/op-1/resp",
    "device/k01/settings",
    "device/keypad-1/settings",
]


def test_only_the_hall_writes_hall_state(small: HallConfig) -> None:
    root = topics.root(small.site.id)
    for account in accounts(small):
        for topic in HALL_STATE:
            allowed = can_write(account, f"{root}/{topic}")
            assert allowed == (account.user == HALL_USER), (account.user, topic)


def test_each_device_writes_only_its_own_topics(prefecture: HallConfig) -> None:
    site = prefecture.site.id
    bridges = {b.id: b.windows for b in prefecture.bridges}
    for account in accounts(prefecture):
        if account.user in (HALL_USER, CHECK_USER):
            continue
        own = [topics.status(site, account.user), topics.device_health(site, account.user)]
        if account.device_class == "kiosk":
            own.append(topics.kiosk_req(site, account.user))
        elif account.device_class == "window":
            own.append(topics.window_req(site, account.user))
        elif account.device_class == "evaluator":
            own.append(topics.evaluator_req(site, account.user))
        elif account.device_class == "operator":
            own.append(topics.operator_req(site, account.user))
        elif account.device_class == "bridge":
            own += [topics.window_req(site, w) for w in bridges[account.user]]
        assert sorted(writes(account)) == sorted(own), account.user


def test_led_bridge_acts_for_its_windows_only(prefecture: HallConfig) -> None:
    [bridge] = [a for a in accounts(prefecture) if a.user == "led-2f"]
    site = prefecture.site.id
    windows = next(b.windows for b in prefecture.bridges if b.id == "led-2f")
    assert len(windows) == 34
    for w in prefecture.windows:
        assert can_write(bridge, topics.window_req(site, w.id)) == (w.id in windows)
        assert can_read(bridge, topics.response(site, "window", w.id)) == (w.id in windows)


def test_reads_are_what_each_class_needs(small: HallConfig) -> None:
    site = small.site.id
    by_user = {a.user: a for a in accounts(small)}
    display, kiosk, evaluator, window = (by_user[u] for u in ("screen-hall", "k01", "e001", "w001"))
    operator = by_user["op-1"]
    assert can_read(display, topics.board(site)) and can_read(display, topics.calls(site))
    assert not can_read(display, topics.response(site, "kiosk", "k01"))
    assert can_read(kiosk, topics.response(site, "kiosk", "k01"))
    assert not can_read(kiosk, topics.response(site, "kiosk", "k02"))
    assert can_read(evaluator, topics.window_rating(site, "w001"))
    assert not can_read(evaluator, topics.window_rating(site, "w002"))
    assert can_read(window, topics.window_rating(site, "w001"))
    assert not can_read(window, topics.response(site, "window", "w002"))
    assert can_read(operator, topics.device_health(site, "k01"))
    assert not can_read(kiosk, topics.device_health(site, "k02"))
    check = by_user.pop(CHECK_USER)  # reads who serves the site, and nothing else
    assert [g.line() for g in check.grants] == [
        f"topic read {topics.owner(site)}",
        f"topic read {topics.status(site, HALL_USER)}",
    ]
    assert can_write(by_user[HALL_USER], topics.owner(site))
    # issue 19: the monitoring room reads the open alarms and the figures; the hall writes them
    assert can_read(operator, topics.alarms(site)) and can_read(operator, topics.stats(site))
    assert not can_read(kiosk, topics.alarms(site))
    assert can_write(by_user[HALL_USER], topics.alarms(site))
    # issue 21: the open cases; operators and window terminals read them, the hall writes them
    assert can_read(operator, topics.cases(site)) and can_read(window, topics.cases(site))
    assert not any(can_read(d, topics.cases(site)) for d in (kiosk, display, evaluator))
    assert can_write(by_user[HALL_USER], topics.cases(site))
    assert not any(can_write(d, topics.cases(site)) for d in (operator, window))
    assert can_read(by_user[HALL_USER], topics.status(site, "k01"))
    assert can_read(by_user[HALL_USER], topics.device_health(site, "k01"))
    for account in by_user.values():
        assert can_read(account, topics.catalog(site)), account.user
        assert can_read(account, topics.status(site, HALL_USER)), account.user
    # each device its own settings, none another's (the hall reads its whole site)
    devices = [u for u in by_user if u != HALL_USER]
    for user in devices:
        for other in devices:
            assert can_read(by_user[user], topics.device_settings(site, other)) == (user == other)


def test_acl_file_parses_back_to_the_accounts(tmp_path: Path, small: HallConfig) -> None:
    out = tmp_path / "broker"
    generate(small, settings(out))
    text = (out / "acl").read_text()
    before_first_user = text.split("\nuser ", 1)[0]
    lines = before_first_user.splitlines()
    assert not [x for x in lines if x.startswith("topic")]  # nothing for anonymous clients
    assert parse_acl(text) == {a.user: [g.line() for g in a.grants] for a in accounts(small)}


def test_a_damaged_secrets_file_stops_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "broker"
    path = config_file(tmp_path)
    assert main(["--config", str(path), "--out", str(out), "--host", "h"]) == 0
    (out / "secrets.json").write_text('{"passwords": {"k01": ')
    before = (out / "passwd").read_text()
    assert main(["--config", str(path), "--out", str(out), "--host", "h"]) == 2
    assert "secrets.json is not valid JSON" in capsys.readouterr().err
    assert (out / "passwd").read_text() == before  # nothing was overwritten
