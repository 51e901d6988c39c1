"""The espeak-ng back-end: our code spells the numbers; espeak-ng renders a non-silent WAV."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.fixtures.parts import require_program
from voice.audio import rms_dbfs
from voice.espeak import EspeakVoice
from voice.voice import Announcement, make_voice


@pytest.fixture(scope="module")
def voice() -> EspeakVoice:
    require_program("espeak-ng", "espeak-ng")
    made = make_voice("espeak", ["zh", "en"])
    assert isinstance(made, EspeakVoice)
    return made


def test_the_text_spells_the_ticket_and_reads_the_window_as_a_number(voice: EspeakVoice) -> None:
    assert (
        voice.text(Announcement("call", "A012", 105), "zh")
        == "请 A 零 一 二 号 到 一 百 零 五 号窗口 办理"
    )
    assert voice.text(Announcement("call", "A012", 5), "en") == (
        "number [[eI]] zero one two please go to window five"
    )  # fmt: skip


@pytest.mark.parametrize("language", ["zh", "en"])
def test_espeak_renders_a_call_that_is_not_silent(
    voice: EspeakVoice, tmp_path: Path, language: str
) -> None:
    audio = voice.render(Announcement("call", "A012", 5), language)
    assert audio.rate == 22050 and 2.0 < audio.seconds < 8.0
    assert rms_dbfs(audio) > -40
    path = tmp_path / "call.wav"
    path.write_bytes(audio.wav())
    sox = require_program("sox", "sox")
    stat = subprocess.run(
        [sox, str(path), "-n", "stat"], capture_output=True, text=True, check=True
    )
    rms = next(line for line in stat.stderr.splitlines() if line.startswith("RMS     amplitude"))
    assert float(rms.split(":")[1]) > 0.01  # -40 dBFS


def test_the_chime_comes_from_the_clip_set_at_espeak_rate(voice: EspeakVoice) -> None:
    chime = voice.chime()
    assert chime is not None and chime.rate == 22050 and chime.seconds > 0.5
