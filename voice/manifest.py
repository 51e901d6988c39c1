"""A language's manifest: its clips (one WAV file per word), the words of its phrases, its style.

One folder per language holds `manifest.toml` and the WAV files it names:

    language = "zh"              # the name the hall config's `languages` uses
    rate = 16000                 # every clip is brought to this rate at load
    gap_ms = 30                  # silence between two clips
    number_style = "digits"      # "A012": A 零 一 二 ("cardinal-zh": A 十二)
    window_style = "cardinal-zh" # window 105: 一百零五 ("digits": 一零五)
    espeak_voice = "cmn-latn-pinyin"
    [phrases]                    # the words of each phrase, in order; `call` is required
    call = ["请", "{number}", "号", "到", "{window}", "号窗口", "办理"]
    [clips]                      # word -> its file in this folder
    "请" = "qing.wav"
    [text]                       # word -> what espeak-ng says for it (default: the word itself)
    "0" = "零"

`{number}` is the ticket number's words (letters, digits), `{window}` the window number's; the clip
`chime` (if listed) is played before an announcement. Nothing here reads a file at import time.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from voice.words import (
    DIGITS,
    LETTERS,
    ZH_UNITS,
    NumberStyle,
    WindowStyle,
    ticket_words,
    window_words,
)

MANIFEST = "manifest.toml"
CHIME = "chime"
PLACEHOLDERS = ("{number}", "{window}")
SHIPPED = Path(__file__).resolve().parent / "clips"  # the project's own sets, one folder a language


class ManifestError(ValueError):
    """A manifest or clip set that cannot be used; the message names the file and what to fix."""


@dataclass(frozen=True)
class Manifest:
    folder: Path
    language: str
    rate: int
    gap_ms: int
    number_style: NumberStyle
    window_style: WindowStyle
    espeak_voice: str
    phrases: dict[str, list[str]]
    clips: dict[str, str]  # word -> file name in `folder`
    text: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.folder / MANIFEST

    def words(self, phrase: str, number: str = "", window: int | None = None) -> list[str]:
        """The words (clip names) of `phrase` with its placeholders filled in."""
        if phrase not in self.phrases:
            raise ManifestError(f"{self.path}: no phrase {phrase!r} in [phrases]: add it")
        out: list[str] = []
        for word in self.phrases[phrase]:
            if word == "{number}":
                out += ticket_words(number, self.number_style)
            elif word == "{window}":
                if window is None:
                    raise ValueError(f"phrase {phrase!r} needs a window number")
                out += window_words(window, self.window_style)
            else:
                out.append(word)
        return out

    def spoken(self, word: str) -> str:
        """What espeak-ng says for a word."""
        return self.text.get(word, word)

    def required_words(self) -> list[str]:
        """Every word a phrase can need: those written in the phrases, every digit and letter,
        and 十 百 千 when a number is read as a Mandarin cardinal."""
        words = [w for phrase in self.phrases.values() for w in phrase if w not in PLACEHOLDERS]
        words += DIGITS + LETTERS
        if "cardinal-zh" in (self.number_style, self.window_style):
            words += ZH_UNITS
        return list(dict.fromkeys(words))

    def missing(self) -> list[str]:
        """What keeps this clip set from working: each problem names the word and the file."""
        problems = []
        for word in self.required_words():
            if word not in self.clips:
                problems.append(
                    f"{self.path}: the clip {word!r} is missing from [clips]: "
                    f'record it and add `"{word}" = "FILE.wav"`'
                )
        for word, name in self.clips.items():
            if not (self.folder / name).is_file():
                problems.append(
                    f"{self.path}: the clip {word!r} names {name!r}, but "
                    f"{self.folder / name} does not exist: record it or fix [clips]"
                )
        return problems


def _need(data: dict[str, Any], key: str, kind: type, path: Path, default: Any = None) -> Any:
    value = data.get(key, default)
    if value is None:
        raise ManifestError(f"{path}: {key}: required key is missing: add it")
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        raise ManifestError(f"{path}: {key}: expected a {kind.__name__}, got {value!r}")
    return value


def _strings(table: Any, key: str, path: Path) -> dict[str, str]:
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in table.items()
    ):
        raise ManifestError(f'{path}: [{key}]: write one `"word" = "text"` line per entry')
    return dict(table)


def load_manifest(folder: Path) -> Manifest:
    """Read `folder/manifest.toml`; raises ManifestError saying what to fix. Clips are not
    checked here: see Manifest.missing()."""
    path = folder / MANIFEST
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path}: no manifest: write one (see docs/voice.md)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: not valid TOML: {exc}") from None
    known = {"language", "name", "rate", "gap_ms", "number_style", "window_style"}
    known |= {"espeak_voice", "phrases", "clips", "text"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ManifestError(f"{path}: unknown key(s) {', '.join(unknown)}: remove or fix them")
    number_style = _need(data, "number_style", str, path, "digits")
    window_style = _need(data, "window_style", str, path, "digits")
    if number_style not in get_args(NumberStyle):
        raise ManifestError(f"{path}: number_style: one of {', '.join(get_args(NumberStyle))}")
    if window_style not in get_args(WindowStyle):
        raise ManifestError(f"{path}: window_style: one of {', '.join(get_args(WindowStyle))}")
    phrases = data.get("phrases")
    if not isinstance(phrases, dict) or not all(
        isinstance(words, list) and words and all(isinstance(w, str) and w for w in words)
        for words in phrases.values()
    ):
        raise ManifestError(f'{path}: [phrases]: write each as a list of words, e.g. call = ["请"]')
    if "call" not in phrases:
        raise ManifestError(f"{path}: [phrases]: the phrase `call` is required: add it")
    rate = _need(data, "rate", int, path, 16000)
    if not 8000 <= rate <= 48000:
        raise ManifestError(f"{path}: rate: {rate} Hz: use 8000 to 48000 (16000 is usual)")
    return Manifest(
        folder=folder,
        language=_need(data, "language", str, path),
        rate=rate,
        gap_ms=_need(data, "gap_ms", int, path, 30),
        number_style=number_style,
        window_style=window_style,
        espeak_voice=_need(data, "espeak_voice", str, path, "en"),
        phrases={k: list(v) for k, v in phrases.items()},
        clips=_strings(data.get("clips", {}), "clips", path),
        text=_strings(data.get("text", {}), "text", path),
    )


def find_manifests(root: Path, languages: list[str]) -> dict[str, Manifest]:
    """The manifest of each language: in `root` (a hall's clips, one folder a language, named by
    it), else in the shipped sets (so a hall that records only its own language keeps Mandarin)."""
    found: dict[str, Manifest] = {}
    for language in languages:
        folder = next(
            (r / language for r in (root, SHIPPED) if (r / language / MANIFEST).is_file()), None
        )
        if folder is None:
            have = sorted({p.parent.name for r in (root, SHIPPED) for p in r.glob(f"*/{MANIFEST}")})
            raise ManifestError(
                f"{root / language / MANIFEST}: no clip set for language {language!r} "
                f"(there are: {', '.join(have) or 'none'}): record one or fix `languages`"
            )
        manifest = load_manifest(folder)
        if manifest.language != language:
            raise ManifestError(
                f"{manifest.path}: language = {manifest.language!r}, but its folder says "
                f"{language!r}: make them agree"
            )
        found[language] = manifest
    return found
