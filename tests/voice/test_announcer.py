"""The announcer with a fake hall link (no broker): what one announcement holds (chime, languages,
repeat, recall), areas, window numbers, health when rendering fails."""

from __future__ import annotations

import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from contract import topics
from hall.config.schema import Announcer as Settings
from tests.fixtures.hall_server import wait_for
from voice.announcer import PAUSE, Announcer
from voice.audio import Audio, read_wav
from voice.clips import ClipsVoice
from voice.output import WavDir
from voice.voice import Announcement, make_voice

SITE = "testhall"


class FakeLink:
    """Subscriptions and health as HallClient keeps them, delivered by hand."""

    def __init__(self) -> None:
        self.callbacks: dict[str, list[Callable[[str, dict[str, Any] | None], None]]] = {}
        self.health: list[tuple[str, Any]] = []

    def subscribe_json(self, topic_filter: str, callback: Any, wait: float | None = None) -> None:
        self.callbacks.setdefault(topic_filter, []).append(callback)

    def publish_health(self, state: str, detail: Any = None) -> None:
        self.health.append((state, detail))

    def deliver(self, topic: str, payload: dict[str, Any]) -> None:
        for callback in self.callbacks.get(topic, []):
            callback(topic, payload)


def call(seq: int, number: str, window: str = "w05", name: str = "5号窗口", area: str = "1F",
         recall: int = 0) -> dict[str, Any]:  # fmt: skip
    return {"v": 1, "seq": seq, "at": "2026-11-26T09:00:00+08:00",
            "ticket": {"id": f"20261126-{number}", "number": number},
            "window": {"id": window, "name": name, "area": area}, "recall": recall}  # fmt: skip


@pytest.fixture(scope="module")
def voice() -> ClipsVoice:
    made = make_voice("clips", ["zh", "en"])
    assert isinstance(made, ClipsVoice)
    return made


def start(tmp_path: Path, voice: Any, **settings: Any) -> tuple[Announcer, FakeLink]:
    link = FakeLink()
    announcer = Announcer(SITE, Settings(id="spk", **settings), voice, WavDir(tmp_path / "wav"),
                          link, tmp_path / "state.json")  # fmt: skip
    announcer.start()
    return announcer, link


def said_frames(announcer: Announcer, count: int) -> list[Audio]:
    assert wait_for(lambda: len(announcer.spoken) >= count, 20)
    return [read_wav(Path(s.where)) for s in list(announcer.spoken)[:count]]


def test_chime_then_each_language_in_turn_repeated(tmp_path: Path, voice: ClipsVoice) -> None:
    announcer, link = start(tmp_path, voice, languages=["zh", "en"], repeat=2)
    try:
        link.deliver(topics.calls(SITE), call(1, "A012"))
        (audio,) = said_frames(announcer, 1)
    finally:
        announcer.stop()
    said = Announcement("call", "A012", 5)  # the window number from its name: no catalog here
    chime = voice.chime()
    assert chime is not None
    pause = int(PAUSE * voice.rate) * 2
    parts = [voice.render(said, "zh"), voice.render(said, "en")] * 2
    assert len(audio.frames) == len(chime.frames) + sum(pause + len(p.frames) for p in parts)
    assert audio.frames.startswith(chime.frames)
    assert audio.frames.endswith(parts[-1].frames)


def test_a_recall_says_the_recall_phrase_and_no_chime_when_off(
    tmp_path: Path, voice: ClipsVoice
) -> None:
    announcer, link = start(tmp_path, voice, chime=False)
    try:
        link.deliver(topics.catalog(SITE), {"windows": [{"id": "w05", "no": 15}]})
        link.deliver(topics.calls(SITE), call(1, "B7"))
        link.deliver(topics.calls(SITE), call(2, "B7", recall=1))
        first, second = said_frames(announcer, 2)
    finally:
        announcer.stop()
    assert first.frames == voice.render(Announcement("call", "B7", 15), "zh").frames
    assert second.frames == voice.render(Announcement("recall", "B7", 15), "zh").frames
    assert [s.recall for s in announcer.spoken] == [0, 1]


def test_only_the_windows_of_its_areas(tmp_path: Path, voice: ClipsVoice) -> None:
    announcer, link = start(tmp_path, voice, areas=["2F"])
    try:
        link.deliver(topics.calls(SITE), call(1, "A001", area="1F"))
        link.deliver(topics.calls(SITE), call(2, "A002", window="w09", name="9号窗口", area="2F"))
        said_frames(announcer, 1)
        time.sleep(0.2)
    finally:
        announcer.stop()
    assert [(s.number, s.window) for s in announcer.spoken] == [("A002", 9)]
    assert announcer.skipped == 1


class Failing:
    """A voice that fails once (a broken clip, espeak-ng gone), then works."""

    def __init__(self, real: ClipsVoice) -> None:
        self.real, self.rate, self.failures = real, real.rate, 1

    def render(self, announcement: Announcement, language: str) -> Audio:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("espeak-ng died")
        return self.real.render(announcement, language)

    def chime(self) -> Audio | None:
        return None

    def knows(self, phrase: str, language: str) -> bool:
        return self.real.knows(phrase, language)


def test_a_failing_render_shows_in_health_and_the_next_call_is_said(
    tmp_path: Path, voice: ClipsVoice
) -> None:
    announcer, link = start(tmp_path, Failing(voice))
    try:
        link.deliver(topics.calls(SITE), call(1, "A001"))
        assert wait_for(lambda: link.health[-1][0] == "voice_error", 10), link.health
        assert link.health[-1][1]["error"] == "espeak-ng died"
        link.deliver(topics.calls(SITE), call(2, "A002"))
        said_frames(announcer, 1)
        assert wait_for(lambda: link.health[-1][0] == "ok", 10), link.health
    finally:
        announcer.stop()
    assert link.health[0] == ("ok", {"output": f"wav files in {tmp_path / 'wav'}"})
    assert [s.number for s in announcer.spoken] == ["A002"]
    with wave.open(str(announcer.spoken[0].where)) as wav:
        assert wav.getframerate() == voice.rate and wav.getnchannels() == 1
    assert not list((tmp_path / "wav").glob(".*.part"))  # nothing half-written left under a name
