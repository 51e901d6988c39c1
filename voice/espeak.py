"""The espeak-ng back-end: the manifest's words of a phrase, as text, spoken by espeak-ng.

Our code spells the ticket and window numbers (voice.words), so "A012" is read "A 零 一 二" (or as
the hall's style says) whatever espeak-ng would make of "A012"; the manifest's [text] table gives
each word's text ("0" -> "零"). One espeak-ng process per language of an announcement (~15 ms).
"""

from __future__ import annotations

import shutil
import subprocess

from voice.audio import Audio, AudioFormatError, read_streamed_wav, read_wav
from voice.manifest import CHIME, Manifest, ManifestError
from voice.voice import Announcement

ESPEAK = "espeak-ng"
RATE = 22050  # what espeak-ng renders at


class EspeakVoice:
    def __init__(self, manifests: dict[str, Manifest], program: str = ESPEAK) -> None:
        found = shutil.which(program)
        if found is None:
            raise ManifestError(
                f"{program} is not installed: apt-get install espeak-ng, or use the clips backend"
            )
        self.program = found
        self.manifests = manifests
        self.rate = RATE
        self._chime: Audio | None = None
        for manifest in manifests.values():
            name = manifest.clips.get(CHIME)
            if name and (manifest.folder / name).is_file():
                try:
                    self._chime = read_wav(manifest.folder / name, RATE)
                except AudioFormatError as exc:
                    raise ManifestError(f"{manifest.path}: clip 'chime': {exc}") from None
                break

    def text(self, announcement: Announcement, language: str) -> str:
        """What espeak-ng is given: each word's text, separated by spaces."""
        manifest = self.manifests[language]
        words = manifest.words(announcement.phrase, announcement.number, announcement.window)
        return " ".join(manifest.spoken(word) for word in words)

    def render(self, announcement: Announcement, language: str) -> Audio:
        return self.say(self.text(announcement, language), self.manifests[language].espeak_voice)

    def say(self, text: str, voice: str) -> Audio:
        result = subprocess.run(
            [self.program, "-v", voice, "--stdout", text],
            capture_output=True,
            check=False,
            timeout=30,
        )
        if result.returncode != 0 or not result.stdout:
            raise RuntimeError(
                f"{self.program} -v {voice} failed ({result.returncode}): "
                f"{result.stderr.decode(errors='replace').strip()}"
            )
        return read_streamed_wav(result.stdout)

    def knows(self, phrase: str, language: str) -> bool:
        manifest = self.manifests.get(language)
        return manifest is not None and phrase in manifest.phrases

    def chime(self) -> Audio | None:
        return self._chime
