"""The kiosk's spoken guidance: the phrases of the voice manifests (`choose_service`, `ticket_issued`,
`take_ticket`, `help_called`, `no_ticket_now`), in the visitor's language, through the same voice
package as the hall's announcer. A hall that records its own language records these phrases too
(docs/voice.md); a phrase its manifest lacks is left unsaid, once logged."""

from __future__ import annotations

import logging
from pathlib import Path

from voice.output import Alsa, Nowhere, Output, WavDir, sound_device_problem
from voice.voice import Announcement, Voice, make_voice

log = logging.getLogger(__name__)


class KioskSpeaker:
    def __init__(self, voice: Voice, output: Output) -> None:
        self.voice = voice
        self.output = output
        self.said = 0
        self._unknown: set[tuple[str, str]] = set()

    def say(self, phrase: str, lang: str, number: str = "") -> None:
        """Render and play one phrase (the kiosk's voice thread: it may take a second)."""
        if not self.voice.knows(phrase, lang):
            if (phrase, lang) not in self._unknown:
                self._unknown.add((phrase, lang))
                log.warning("the voice has no phrase %r in %r: not said", phrase, lang)
            return
        audio = self.voice.render(Announcement(phrase=phrase, number=number), lang)
        self.said += 1
        stream = self.output.open(f"{self.said:05d}-{lang}-{phrase}", audio.rate)
        stream.write(audio)
        stream.close()


def make_speaker(languages: tuple[str, ...], wav_dir: Path | None) -> KioskSpeaker | None:
    """The shipped clips in the kiosk's languages, to the sound card (or WAV files when asked);
    None, said in the log, when there is nowhere to play and no --wav-dir."""
    voice = make_voice("clips", list(languages))
    if wav_dir is not None:
        return KioskSpeaker(voice, WavDir(wav_dir))
    problem = sound_device_problem()
    if problem is not None:
        log.warning("no sound device (%s): the kiosk's guidance is not spoken", problem)
        return KioskSpeaker(voice, Nowhere(problem))
    return KioskSpeaker(voice, Alsa())
