"""`hallq announcer` against a real Mosquitto and a real `hallq server`: calls said in seq order,
each once, a recall again, only the windows of its areas; nothing said twice when `calls` or the
retained board is replayed, after a broker restart, or after a restart of the announcer."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from contract import topics
from contract.client import HallClient
from contract.mqtt_url import parse_url
from contract.transport import PahoTransport
from hall.config.schema import HallConfig, load_config
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import HallServer, to_toml, wait_for
from tests.fixtures.halls import SITE, small_hall_data
from voice.announcer import Announcer
from voice.manifest import SHIPPED
from voice.output import WavDir
from voice.voice import make_voice

SPEAKERS = {"id": "spk-1f", "name": "一楼喇叭", "areas": ["1F"], "languages": ["zh", "en"]}


@dataclass
class Rig:
    broker: Broker
    folder: Path
    config: HallConfig
    server: HallServer
    clients: list[HallClient] = field(default_factory=list)
    announcers: list[Announcer] = field(default_factory=list)
    calls: list[bytes] = field(default_factory=list)
    watcher: PahoTransport | None = None

    def connect(self, device_class: str, device_id: str) -> HallClient:
        client = HallClient.connect(parse_url(self.broker.url), SITE, device_class, device_id)
        self.clients.append(client)
        return client

    def announcer(self, wav_dir: str = "wav") -> Announcer:
        settings = next(a for a in self.config.announcers if a.id == SPEAKERS["id"])
        client = self.connect("announcer", settings.id)
        voice = make_voice(settings.backend, settings.languages)
        state = self.folder / "state" / "announcer.json"
        announcer = Announcer(SITE, settings, voice, WavDir(self.folder / wav_dir), client, state)
        announcer.start()
        self.announcers.append(announcer)
        return announcer


@pytest.fixture
def rig(broker: Broker, tmp_path: Path) -> Iterator[Rig]:
    data = small_hall_data()
    data["broker"] = {"url": broker.url, "keepalive": 10}
    data["announcers"] = [SPEAKERS]
    path = tmp_path / "hall.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    server = HallServer(broker.url, SITE, path, tmp_path / "data", tmp_path / "hall.log")
    server.start()
    rig = Rig(broker, tmp_path, load_config(path), server)
    watcher = PahoTransport(parse_url(broker.url), "test-calls-watcher")
    watcher.subscribe(topics.calls(SITE), lambda m: rig.calls.append(m.payload))
    watcher.start(wait=10)
    rig.watcher = watcher
    try:
        yield rig
    finally:
        for announcer in rig.announcers:
            announcer.stop(5)
        for client in rig.clients:
            client.close()
        watcher.stop()
        server.close()


def said(announcer: Announcer) -> list[tuple[int, str, int | None, int]]:
    return [(s.seq, s.number, s.window, s.recall) for s in announcer.spoken]


def settle(announcer: Announcer, count: int, timeout: float = 20.0) -> None:
    assert wait_for(lambda: len(announcer.spoken) >= count, timeout), said(announcer)
    time.sleep(0.5)  # anything said twice would have arrived by now
    assert announcer.queue.empty()


def test_a_burst_a_recall_and_areas_in_seq_order_each_once(rig: Rig) -> None:
    announcer = rig.announcer()
    kiosk = rig.connect("kiosk", "k1")
    w01, w02, w04 = (
        rig.connect("window", "w01"),
        rig.connect("window", "w02"),
        rig.connect("window", "w04"),
    )
    tickets = [kiosk.request("issue", service="psb-id-card")["ticket"]["number"] for _ in range(6)]
    license_ = kiosk.request("issue", service="amr-license")["ticket"]["number"]
    w01.request("login", clerk="c0201")
    w02.request("login", clerk="c0101", pin="1234")
    w04.request("login", clerk="c0401")
    # A burst: both 1F windows call at once, window 4 (2F: not this announcer's) in between.
    sent = [w01.request_answer("call_next"), w02.request_answer("call_next"),
            w04.request_answer("call_next"), w01.request_answer("recall")]  # fmt: skip
    for _ in range(3):
        w01.request("finish")
        w01.request("call_next")
    assert all(a["ok"] for a in sent), sent
    settle(announcer, 6)
    spoken = said(announcer)
    assert [s[0] for s in spoken] == sorted({s[0] for s in spoken})  # in seq order, each once
    assert [(n, w, r) for _, n, w, r in spoken] == [
        (tickets[0], 1, 0), (tickets[1], 2, 0), (tickets[0], 1, 1),
        (tickets[2], 1, 0), (tickets[3], 1, 0), (tickets[4], 1, 0),
    ]  # fmt: skip
    assert license_ not in {n for _, n, _, _ in spoken} and announcer.skipped == 1
    files = sorted((rig.folder / "wav").glob("*.wav"))
    assert len(files) == 6 and all(f.stat().st_size > 100_000 for f in files)


def replay(rig: Rig) -> None:
    replayer = PahoTransport(parse_url(rig.broker.url), "test-replayer")
    replayer.start(wait=10)
    payloads = list(rig.calls)
    for payload in payloads:
        replayer.publish(topics.calls(SITE), payload, qos=1)
    # delivered: the watcher got the copies too
    assert wait_for(lambda: len(rig.calls) >= 2 * len(payloads), 10)
    replayer.stop()


def test_replays_after_a_broker_restart_and_an_announcer_restart_say_nothing_twice(
    rig: Rig,
) -> None:
    announcer = rig.announcer()
    kiosk = rig.connect("kiosk", "k1")
    w01 = rig.connect("window", "w01")
    for _ in range(4):
        kiosk.request("issue", service="psb-id-card")
    w01.request("login", clerk="c0201")
    w01.request("call_next")
    w01.request("recall")
    settle(announcer, 2)
    assert wait_for(lambda: len(rig.calls) >= 2, 5)

    # `calls` replayed as the hall's outbox would after a crash (the same bytes again), before
    # and after the broker restarts (everyone reconnects, the retained board arrives again).
    replay(rig)
    rig.broker.restart()
    assert wait_for(lambda: all(c.connected for c in rig.clients), 20)
    assert rig.watcher is not None and rig.watcher.wait_ready(20)
    del rig.calls[2:]
    replay(rig)
    settle(announcer, 2)
    assert len(announcer.spoken) == 2
    w01.request("finish")
    w01.request("call_next")
    settle(announcer, 3)
    assert [s.seq for s in announcer.spoken] == [1, 2, 3]

    # The announcer restarts; meanwhile one call was made: said once (caught up from the board),
    # and the rest of the board is not said again.
    announcer.stop(5)
    rig.clients[0].close()
    w01.request("finish")
    missed = w01.request("call_next")["ticket"]["number"]
    again = rig.announcer(wav_dir="wav-2")
    settle(again, 1)
    assert said(again) == [(4, missed, 1, 0)]
    w01.request("recall")
    settle(again, 2)
    assert [s.seq for s in again.spoken] == [4, 5]
    state = json.loads((rig.folder / "state" / "announcer.json").read_text())
    assert state["day"] == "20261126" and 5 in state["seen"]


def test_the_cli_writes_wav_files_publishes_health_and_stops_on_sigterm(rig: Rig) -> None:
    health: list[dict[str, Any]] = []
    watcher = PahoTransport(parse_url(rig.broker.url), "test-health-watcher")
    watcher.subscribe(
        topics.device_health(SITE, SPEAKERS["id"]), lambda m: health.append(json.loads(m.payload))
    )
    watcher.start(wait=10)
    wav = rig.folder / "cli-wav"
    process = subprocess.Popen(
        [sys.executable, "-m", "hallq", "announcer", "--id", SPEAKERS["id"], "--config",
         str(rig.server.config), "--wav-dir", str(wav), "--state-dir", str(rig.folder / "cli")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert wait_for(lambda: bool(health) and health[-1]["state"] == "ok", 20), health
        assert health[-1]["detail"] == {"output": f"wav files in {wav}"}
        kiosk = rig.connect("kiosk", "k1")
        w01 = rig.connect("window", "w01")
        number = kiosk.request("issue", service="psb-id-card")["ticket"]["number"]
        w01.request("login", clerk="c0201")
        w01.request("call_next")
        assert wait_for(lambda: len(list(wav.glob("*.wav"))) == 1, 20)
        (path,) = wav.glob("*.wav")
        assert path.name == f"20261126-00001-{number}-w1.wav"
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=20)
        watcher.stop()
    assert process.returncode == 0, out
    assert f"WAV files in {wav}" in out
    assert wait_for(lambda: health[-1]["state"] == "offline", 5)


def test_the_cli_refuses_an_unknown_announcer_and_a_missing_clip(rig: Rig, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hallq", "announcer", "--id", "nobody", "--config",
         str(rig.server.config)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "no [[announcers]] section with id 'nobody'" in result.stderr
    assert "spk-1f" in result.stderr
    # The hall's own clips, one of them missing: refused at start, naming it and its file.
    clips = tmp_path / "clips"
    shutil.copytree(SHIPPED / "zh", clips / "zh")
    (clips / "zh" / "banli.wav").unlink()
    data = small_hall_data()
    data["broker"] = {"url": rig.broker.url}
    data["announcers"] = [{**SPEAKERS, "clips": str(clips)}]
    config = tmp_path / "hall-own-clips.toml"
    config.write_text(to_toml(data), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "hallq", "announcer", "--id", SPEAKERS["id"], "--config",
         str(config)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "the clip '办理' names 'banli.wav'" in result.stderr
    assert str(clips / "zh" / "banli.wav") in result.stderr


def test_settings_come_from_the_config_when_given_else_from_the_halls_retained_topic(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voice import announcer_cli

    monkeypatch.setattr(announcer_cli, "SETTINGS_WAIT", 2.0)
    client = rig.connect("announcer", SPEAKERS["id"])
    # --config (the demo) is the announcer's settings when given, whatever the hall publishes.
    section = rig.config.announcers[0].model_copy(update={"areas": ["2F"], "repeat": 2})
    own = rig.config.model_copy(update={"announcers": [section]})
    from_config = announcer_cli.announcer_settings(client, SPEAKERS["id"], own)
    assert (from_config.areas, from_config.repeat) == (["2F"], 2)
    # Without it, the hall's retained device/{id}/settings: its [[announcers]] section.
    from_hall = announcer_cli.announcer_settings(client, SPEAKERS["id"], None)
    assert (from_hall.areas, from_hall.languages) == (SPEAKERS["areas"], SPEAKERS["languages"])
    with pytest.raises(announcer_cli.SettingsError, match="no settings for announcer 'spk-2f'"):
        announcer_cli.announcer_settings(rig.connect("announcer", "spk-2f"), "spk-2f", None)


def test_a_burst_from_three_windows_at_once_is_said_in_seq_order_each_once(rig: Rig) -> None:
    announcer = rig.announcer()
    kiosk = rig.connect("kiosk", "k1")
    for service in ["psb-id-card"] * 8 + ["tax-invoice"] * 4:
        kiosk.request("issue", service=service)
    windows = {w: rig.connect("window", w) for w in ("w01", "w02", "w03")}
    windows["w01"].request("login", clerk="c0201")
    windows["w02"].request("login", clerk="c0101", pin="1234")
    windows["w03"].request("login", clerk="c0301")

    def work(client: HallClient) -> None:
        for _ in range(4):
            client.request_answer("call_next")
            client.request_answer("recall")
            client.request_answer("finish")

    threads = [threading.Thread(target=work, args=(c,)) for c in windows.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    calls = [json.loads(p) for p in rig.calls]
    assert wait_for(lambda: len(announcer.spoken) >= len(calls) > 12, 30), (
        len(calls),
        said(announcer),
    )
    settle(announcer, len(calls))
    spoken = [s.seq for s in announcer.spoken]
    assert spoken == sorted(c["seq"] for c in calls) == list(range(1, len(calls) + 1))
    assert sum(1 for s in announcer.spoken if s.recall) == sum(1 for c in calls if c["recall"])
