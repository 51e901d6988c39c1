"""Where audio goes: ALSA through aplay (a stand-in aplay here: these machines have no sound
card), and why not when there is none."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from voice.announcer_cli import choose_output
from voice.audio import Audio
from voice.output import Alsa, Nowhere, sound_device_problem

APLAY = """#!/bin/sh
if [ "$1" = "-l" ]; then printf '%s\\n' "$APLAY_LIST"; exit 0; fi
echo "$@" > "$APLAY_OUT.args"
cat > "$APLAY_OUT"
"""


@pytest.fixture
def fake_aplay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aplay").write_text(APLAY)
    (bin_dir / "aplay").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")
    monkeypatch.setenv("APLAY_OUT", str(tmp_path / "played.raw"))
    return tmp_path / "played.raw"


def test_with_a_sound_card_audio_is_piped_to_aplay(
    fake_aplay: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APLAY_LIST", "card 0: PCH [HDA Intel PCH], device 0: ALC892 Analog")
    assert sound_device_problem() is None
    output, health = choose_output(None)
    assert isinstance(output, Alsa) and health == ("ok", {"output": "alsa"})
    stream = output.open("A012", 16000)
    audio = Audio(bytes(range(256)) * 64, 16000)
    stream.write(audio)
    assert stream.close() == "played"
    assert fake_aplay.read_bytes() == audio.frames
    assert Path(f"{fake_aplay}.args").read_text().split() == [
        "-q", "-t", "raw", "-f", "S16_LE", "-c", "1", "-r", "16000"
    ]  # fmt: skip


def test_no_sound_card_is_said_in_health(fake_aplay: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APLAY_LIST", "aplay: device_list:274: no soundcards found...")
    output, health = choose_output(None)
    assert isinstance(output, Nowhere)
    assert health == ("no_sound_device", {"reason": "aplay -l lists no sound card"})
    assert output.open("A012", 16000).close() == "not played: no sound device"


def test_no_aplay_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert sound_device_problem() == "aplay is not installed (apt-get install alsa-utils)"
