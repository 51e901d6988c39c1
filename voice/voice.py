"""The one interface of both back-ends, and what they are asked to say."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from voice.audio import Audio
from voice.manifest import SHIPPED, ManifestError, find_manifests

Backend = Literal["clips", "espeak"]


@dataclass(frozen=True)
class Announcement:
    """A phrase of the manifests (`call`, or a kiosk phrase) with what fills its placeholders."""

    phrase: str = "call"
    number: str = ""  # the ticket number, "A012"
    window: int | None = None  # the window number, 5


class Voice(Protocol):
    rate: int  # samples a second of everything it renders

    def render(self, announcement: Announcement, language: str) -> Audio: ...

    def chime(self) -> Audio | None: ...

    def knows(self, phrase: str, language: str) -> bool: ...


def make_voice(backend: Backend, languages: list[str], clips: Path | None = None) -> Voice:
    """The back-end a config names, for its languages, from a hall's clip folder or the shipped
    one; a clip set that names a missing clip is refused here (ManifestError)."""
    from voice.clips import ClipsVoice
    from voice.espeak import EspeakVoice

    manifests = find_manifests(clips or SHIPPED, languages)
    if backend == "clips":
        return ClipsVoice(manifests)
    if backend == "espeak":
        return EspeakVoice(manifests)
    raise ManifestError(f"unknown voice backend {backend!r}: use clips or espeak")
