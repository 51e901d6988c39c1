"""[[announcers]] in the hall config, the catalog and the ACL `hallq broker-config` writes for it;
the ACL checked on a real Mosquitto."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from contract import topics
from hall.config.schema import ConfigError, HallConfig, load_config, parse_config
from hall.tools.broker_config import Grant, Settings, generate, grants_for
from tests.broker.conftest import SMALL, SecuredHall, make_ca, token, two_free_ports
from tests.fixtures.broker import running_broker, wait_for_port
from tests.fixtures.halls import SITE, small_hall_data

SPEAKERS = '\n[[announcers]]\nid = "spk-1f"\nareas = ["1F"]\nlanguages = ["zh", "en"]\n'


def with_announcers(*announcers: dict[str, object]) -> HallConfig:
    data = small_hall_data()
    data["announcers"] = list(announcers)
    return parse_config(data, "hall.toml")


def test_an_announcer_section_with_defaults_is_a_device() -> None:
    config = with_announcers({"id": "spk-1f", "areas": ["1F"]})
    (speakers,) = config.announcers
    assert (speakers.languages, speakers.repeat, speakers.chime, speakers.backend) == (
        ["zh"], 1, True, "clips"
    )  # fmt: skip
    assert config.devices()["announcers"] == ["spk-1f"]
    assert config.device_class("spk-1f") == "announcer"


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ({"id": "spk", "areas": ["3F"]}, "announcers[0].areas[0]: no window is in area '3F'"),
        ({"id": "spk", "areas": ["1f"]}, "the areas are 1F, 2F"),
        ({"id": "spk", "languages": ["zh", "zh"]}, "announcers[0].languages[1]: language 'zh'"),
        ({"id": "spk", "languages": []}, "announcers[0].languages: List should have at least 1"),
        ({"id": "spk", "repeat": 0}, "announcers[0].repeat"),
        ({"id": "spk", "backend": "festival"}, "announcers[0].backend"),
        ({"id": "k1"}, "device id 'k1' is already used"),
        ({"id": "spk", "volume": 3}, "announcers[0].volume: unknown key"),
    ],
)
def test_config_mistakes_are_named(section: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        with_announcers(section)
    assert problem in str(refused.value)


def test_the_catalog_lists_announcers() -> None:
    from hall.engine.engine import Engine  # the hall's side: the catalog is the hall's view
    from hall.engine.views import catalog
    from tests.fixtures.halls import MORNING

    config = with_announcers({"id": "spk-1f"})
    engine = Engine(config)
    engine.state.business_day = MORNING.date()
    assert catalog(engine)["devices"]["announcers"] == ["spk-1f"]


def test_the_acl_reads_calls_board_catalog_clock_and_its_own_settings_only() -> None:
    config = with_announcers({"id": "spk-1f"}, {"id": "spk-2f"})
    grants = grants_for(config, "spk-1f")
    writes = {g.topic for g in grants if g.access == "write"}
    reads = {g.topic for g in grants if g.access == "read"}
    assert writes == {topics.status(SITE, "spk-1f"), topics.device_health(SITE, "spk-1f")}
    assert {topics.calls(SITE), topics.board(SITE), topics.catalog(SITE), topics.clock(SITE),
            topics.status(SITE, "hall"), topics.device_settings(SITE, "spk-1f")} <= reads  # fmt: skip
    assert topics.device_settings(SITE, "spk-2f") not in reads
    assert Grant("read", topics.queues(SITE)) not in grants  # nothing it does not use


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredHall]:
    folder = tmp_path_factory.mktemp("secured-voice")
    make_ca(folder / "tls")
    path = folder / "hall.toml"
    path.write_text(SMALL.read_text(encoding="utf-8") + SPEAKERS, encoding="utf-8")
    config = load_config(path)
    local_port, tls_port = two_free_ports()
    settings = Settings(
        out=folder / "out", host="localhost", local_port=local_port, tls_port=tls_port,
        tls_dir=folder / "tls", device_ca=str(folder / "tls" / "ca.crt"),
        persistence=folder / "data", broker_user="root" if os.geteuid() == 0 else "mosquitto",
    )  # fmt: skip
    (folder / "data").mkdir()
    generate(config, settings)
    passwords = json.loads((settings.out / "secrets.json").read_text())["passwords"]
    with ExitStack() as stack:
        conf = (settings.out / "mosquitto.conf").read_text()
        broker = stack.enter_context(running_broker(folder / "run", conf, port=local_port))
        wait_for_port(tls_port)
        yield SecuredHall(config, settings, broker, passwords)


@pytest.mark.broker
def test_on_mosquitto_the_announcer_reads_calls_and_board_and_writes_only_its_own(
    secured: SecuredHall, tmp_path: Path
) -> None:
    site = secured.site
    with secured.probe("hall") as hall, secured.probe("spk-1f") as speakers:
        hall.subscribe(f"{topics.root(site)}/#")
        speakers.subscribe(f"{topics.root(site)}/#")  # granted; it gets only what it may read
        call, board, answer = token("call"), token("board"), token("answer")
        hall.publish(topics.response(site, "kiosk", "k01"), answer)
        hall.publish(topics.board(site), board, retain=True)
        hall.publish(topics.calls(site), call)
        seen = speakers.until(topics.calls(site), call)
        assert (topics.board(site), board) in seen
        assert all(p != answer for _, p in seen)
        denied = {t: token("denied") for t in (topics.calls(site), topics.board(site),
                  topics.window_req(site, "w001"), topics.device_health(site, "k01"))}  # fmt: skip
        for topic, payload in denied.items():
            speakers.publish(topic, payload)
        proof = token("health")
        speakers.publish(topics.device_health(site, "spk-1f"), proof)
        arrived = hall.until(topics.device_health(site, "spk-1f"), proof)
        assert not [(t, p) for t, p in arrived if denied.get(t) == p]
