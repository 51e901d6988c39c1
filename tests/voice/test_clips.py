"""The clips back-end joins exactly the manifest's clips in order; the shipped sets are complete;
a manifest naming a missing clip is refused at start with its name and the file looked for."""

from __future__ import annotations

import contextlib
import math
import re
import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from tests.fixtures.parts import require_program
from voice.audio import read_wav
from voice.clips import ClipsVoice
from voice.manifest import SHIPPED, ManifestError, find_manifests, load_manifest
from voice.voice import Announcement, make_voice

ZH_DIGITS = dict(zip("0123456789", "零一二三四五六七八九", strict=True))


@pytest.fixture(scope="module")
def voice() -> ClipsVoice:
    made = make_voice("clips", ["zh", "en"])
    assert isinstance(made, ClipsVoice)
    return made


def zh_cardinal(n: int) -> list[str]:
    """An independent reading of 1..9999, written from the rules of Chinese numerals (used to
    check voice.words from another side)."""
    text = ""
    units = [(1000, "千"), (100, "百"), (10, "十")]
    rest, gap = n, False
    for value, unit in units:
        digit = rest // value
        rest %= value
        if digit:
            if gap:
                text += "0"
            text += ("" if (value == 10 and digit == 1 and not text) else str(digit)) + unit
            gap = False
        elif text:
            gap = True
    if rest:
        text += ("0" if gap and text else "") + str(rest)
    return re.findall(r"\d|[十百千]", text)


NUMBERS = ["A1", "B12", "A012", "C0123", "AB1", "AB99", "AB012", "ZY1234", "Q0007"]


@pytest.mark.parametrize("number", NUMBERS)
@pytest.mark.parametrize("window", [*range(1, 21), 30, 99, 100, 101, 105])
def test_zh_call_is_the_manifest_order_with_number_and_window_expanded(
    voice: ClipsVoice, number: str, window: int
) -> None:
    sequence = voice.sequence(Announcement("call", number, window), "zh")
    letters = [c for c in number if c.isalpha()]
    digits = [c for c in number if c.isdigit()]
    assert sequence == ["请", *letters, *digits, "号", "到", *zh_cardinal(window), "号窗口", "办理"]


@pytest.mark.parametrize("number", NUMBERS)
@pytest.mark.parametrize("window", [1, 9, 10, 15, 42, 100, 105])
def test_en_call_reads_digits_one_by_one(voice: ClipsVoice, number: str, window: int) -> None:
    sequence = voice.sequence(Announcement("call", number, window), "en")
    assert sequence == ["number", *number, "please go to window", *str(window)]


def test_every_window_1_to_105_in_both_languages_has_its_clips(voice: ClipsVoice) -> None:
    for window in range(1, 106):
        for language in ("zh", "en"):
            sequence = voice.sequence(Announcement("call", "A001", window), language)
            assert all(word in voice.clips[language] for word in sequence), (window, sequence)
    said = [ZH_DIGITS.get(w, w) for w in voice.sequence(Announcement("call", "A1", 105), "zh")]
    assert "".join(said[5:-2]) == "一百零五"


def test_recall_and_kiosk_phrases(voice: ClipsVoice) -> None:
    assert voice.sequence(Announcement("recall", "A1", 2), "zh")[:2] == ["再次呼叫", "A"]
    assert voice.sequence(Announcement("ticket_issued", "B07"), "zh") == [
        "您的号码是", "B", "0", "7", "号", "请等候叫号"
    ]  # fmt: skip
    assert voice.sequence(Announcement("welcome"), "en") == ["welcome", "please choose a service"]


def test_render_joins_the_clips_with_the_manifest_gap(voice: ClipsVoice) -> None:
    said = Announcement("call", "A012", 5)
    audio = voice.render(said, "zh")
    clips = [voice.clips["zh"][w] for w in voice.sequence(said, "zh")]
    gap = voice.manifests["zh"].gap_ms / 1000 * voice.rate * 2
    expected = sum(len(c.frames) for c in clips) + int(gap) * (len(clips) - 1)
    assert len(audio.frames) == expected
    assert audio.frames.startswith(clips[0].frames)
    assert audio.frames.endswith(clips[-1].frames)


def sox_stat(path: Path) -> dict[str, float]:
    sox = require_program("sox", "sox")
    result = subprocess.run(
        [sox, str(path), "-n", "stat"], capture_output=True, text=True, check=True
    )
    stats = {}
    for line in result.stderr.splitlines():
        key, _, value = line.partition(":")
        with contextlib.suppress(ValueError):
            stats[key.strip()] = float(value.strip())
    return stats


def clip_seconds(path: Path) -> float:
    return sox_stat(path)["Length (seconds)"]


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize(("number", "window"), [("A012", 5), ("AB1234", 105), ("B7", 12)])
def test_a_call_lasts_the_sum_of_its_clips_and_is_not_silent(
    voice: ClipsVoice, tmp_path: Path, language: str, number: str, window: int
) -> None:
    said = Announcement("call", number, window)
    path = tmp_path / "call.wav"
    path.write_bytes(voice.render(said, language).wav())
    manifest = voice.manifests[language]
    clips = sum(clip_seconds(manifest.folder / manifest.clips[w]) for w in voice.sequence(said, language))  # fmt: skip
    stats = sox_stat(path)
    assert abs(stats["Length (seconds)"] - clips) <= 0.2 * clips, (stats, clips)
    rms_db = 20 * math.log10(stats["RMS     amplitude"])
    assert rms_db > -40, rms_db


def test_shipped_clip_sets_are_small_and_in_one_format() -> None:
    total = sum(p.stat().st_size for p in SHIPPED.glob("*/*.wav"))
    assert total < 2 * 1024 * 1024, total
    for path in SHIPPED.glob("*/*.wav"):
        with wave.open(str(path)) as wav:
            assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)


def _copy_set(tmp_path: Path, language: str = "zh") -> Path:
    folder = tmp_path / "clips" / language
    shutil.copytree(SHIPPED / language, folder)
    return folder


def test_a_manifest_naming_a_missing_clip_is_refused_with_its_name_and_file(tmp_path: Path) -> None:
    folder = _copy_set(tmp_path)
    (folder / "hao-chuangkou.wav").unlink()
    with pytest.raises(ManifestError) as refused:
        make_voice("clips", ["zh"], tmp_path / "clips")
    message = str(refused.value)
    assert "'号窗口'" in message and str(folder / "hao-chuangkou.wav") in message


def test_a_phrase_word_without_a_clip_is_refused(tmp_path: Path) -> None:
    folder = _copy_set(tmp_path)
    text = (folder / "manifest.toml").read_text(encoding="utf-8")
    (folder / "manifest.toml").write_text(text.replace('"办理"]', '"办理", "谢谢"]', 1), "utf-8")
    with pytest.raises(ManifestError, match="'谢谢' is missing from \\[clips\\]"):
        ClipsVoice(find_manifests(tmp_path / "clips", ["zh"]))


def test_a_language_without_a_clip_set_is_refused_naming_the_ones_there(tmp_path: Path) -> None:
    _copy_set(tmp_path)
    with pytest.raises(
        ManifestError, match=r"no clip set for language 'bouyei' \(there are: en, zh\)"
    ):
        make_voice("clips", ["zh", "bouyei"], tmp_path / "clips")


def test_a_hall_adds_a_language_with_clips_and_a_manifest_only(tmp_path: Path) -> None:
    """A made-up language recorded by a hall: its own words, its own order, no code."""
    folder = tmp_path / "clips" / "pcc"
    folder.mkdir(parents=True)
    zh = SHIPPED / "zh"
    words = {"chime": "chime.wav", "qing": "qing.wav", "dao": "dao.wav"}
    for name in words.values():
        shutil.copy(zh / name, folder / name)
    for d in range(10):
        shutil.copy(zh / f"digit-{d}.wav", folder / f"d{d}.wav")
    for c in map(chr, range(65, 91)):
        shutil.copy(zh / f"letter-{c}.wav", folder / f"l{c}.wav")
    clips = "\n".join(f'"{w}" = "{n}"' for w, n in words.items())
    clips += "\n" + "\n".join(f'"{d}" = "d{d}.wav"' for d in range(10))
    clips += "\n" + "\n".join(f'"{c}" = "l{c}.wav"' for c in map(chr, range(65, 91)))
    (folder / "manifest.toml").write_text(
        'language = "pcc"\nwindow_style = "digits"\n[phrases]\n'
        'call = ["{number}", "qing", "{window}", "dao"]\n[clips]\n' + clips + "\n",
        encoding="utf-8",
    )
    assert load_manifest(folder).missing() == []
    voice = make_voice("clips", ["zh", "pcc"], tmp_path / "clips")
    assert isinstance(voice, ClipsVoice)
    assert voice.sequence(Announcement("call", "A12", 7), "pcc") == [
        "A",
        "1",
        "2",
        "qing",
        "7",
        "dao",
    ]
    assert voice.render(Announcement("call", "A12", 7), "pcc").seconds > 0.5


def test_a_clip_at_another_rate_or_stereo_is_brought_to_the_manifest_format(tmp_path: Path) -> None:
    sox = require_program("sox", "sox")
    folder = _copy_set(tmp_path)
    clip = folder / "qing.wav"
    subprocess.run([sox, str(SHIPPED / "zh" / "qing.wav"), "-r", "44100", "-c", "2", str(clip)], check=True)  # fmt: skip
    voice = make_voice("clips", ["zh"], tmp_path / "clips")
    assert isinstance(voice, ClipsVoice)
    loaded = voice.clips["zh"]["请"]
    original = read_wav(SHIPPED / "zh" / "qing.wav")
    assert loaded.rate == 16000
    assert abs(loaded.seconds - original.seconds) < 0.01
