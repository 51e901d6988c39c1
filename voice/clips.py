"""The recorded-clips back-end: a call is the manifest's clips joined in order (pure Python).

Every clip is loaded, checked and brought to the manifest's format once, at start; a manifest that
names a missing clip is refused then, with the clip's name and the file looked for.
"""

from __future__ import annotations

from voice.audio import Audio, AudioFormatError, join, read_wav, silence
from voice.manifest import CHIME, Manifest, ManifestError
from voice.voice import Announcement


class ClipsVoice:
    def __init__(self, manifests: dict[str, Manifest]) -> None:
        if not manifests:
            raise ManifestError("no language to speak: name at least one")
        rates = {m.rate for m in manifests.values()}
        self.rate = max(rates)  # every language is brought to one rate: one output stream
        self.manifests = manifests
        problems = [p for m in manifests.values() for p in m.missing()]
        if problems:
            raise ManifestError("\n".join(problems))
        self.clips: dict[str, dict[str, Audio]] = {}
        for language, manifest in manifests.items():
            loaded: dict[str, Audio] = {}
            for word, name in manifest.clips.items():
                try:
                    loaded[word] = read_wav(manifest.folder / name, self.rate)
                except AudioFormatError as exc:
                    raise ManifestError(f"{manifest.path}: clip {word!r}: {exc}") from None
            self.clips[language] = loaded

    def sequence(self, announcement: Announcement, language: str) -> list[str]:
        """The clips of an announcement, in order (what render joins)."""
        manifest = self._manifest(language)
        return manifest.words(announcement.phrase, announcement.number, announcement.window)

    def render(self, announcement: Announcement, language: str) -> Audio:
        clips = self.clips[self._manifest(language).language]
        gap = silence(self.manifests[language].gap_ms / 1000, self.rate)
        parts: list[Audio] = []
        for word in self.sequence(announcement, language):
            if parts:
                parts.append(gap)
            parts.append(clips[word])
        return join(parts, self.rate)

    def knows(self, phrase: str, language: str) -> bool:
        manifest = self.manifests.get(language)
        return manifest is not None and phrase in manifest.phrases

    def chime(self) -> Audio | None:
        for language in self.manifests:
            clip = self.clips[language].get(CHIME)
            if clip is not None:
                return clip
        return None

    def _manifest(self, language: str) -> Manifest:
        try:
            return self.manifests[language]
        except KeyError:
            raise ManifestError(
                f"no clips for language {language!r}: have {', '.join(self.manifests)}"
            ) from None
