"""Where an announcement's audio goes: the sound card (ALSA, through `aplay`), WAV files in a
folder (`--wav-dir`, as on machines without a sound device), or nowhere, said in the log.

Each announcement is one stream: opened, written part by part as it is rendered (the chime is
heard while the first language renders), closed.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path
from typing import Protocol

from voice.audio import Audio, WavStream, resample

log = logging.getLogger(__name__)


class Stream(Protocol):
    def write(self, audio: Audio) -> None: ...

    def close(self) -> object: ...  # where it went (a path, 'played' ...), for the log


class Output(Protocol):
    name: str  # for health and logs

    def open(self, title: str, rate: int) -> Stream: ...


def sound_device_problem(aplay: str | None = None) -> str | None:
    """None when ALSA has a sound card to play on, else why not (for health and the log)."""
    program = aplay or shutil.which("aplay")
    if program is None:
        return "aplay is not installed (apt-get install alsa-utils)"
    try:
        listed = subprocess.run([program, "-l"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"aplay -l failed: {exc}"
    if "card " not in listed.stdout:
        return "aplay -l lists no sound card"
    return None


class WavDir:
    """Each announcement as a WAV file in `folder`, named by its title."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.name = f"wav files in {folder}"

    def open(self, title: str, rate: int) -> WavStream:
        return WavStream(self.folder / f"{title}.wav", rate)


class _AplayStream:
    def __init__(self, program: str, rate: int) -> None:
        self.rate = rate
        self.process = subprocess.Popen(
            [program, "-q", "-t", "raw", "-f", "S16_LE", "-c", "1", "-r", str(rate)],
            stdin=subprocess.PIPE,
        )

    def write(self, audio: Audio) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(resample(audio, self.rate).frames)
        self.process.stdin.flush()

    def close(self) -> str:
        assert self.process.stdin is not None
        self.process.stdin.close()
        code = self.process.wait()
        return "played" if code == 0 else f"aplay exited {code}"


class Alsa:
    """The default ALSA sound card, through `aplay` reading raw PCM from a pipe."""

    name = "alsa"

    def __init__(self, aplay: str = "aplay") -> None:
        program = shutil.which(aplay)
        if program is None:
            raise RuntimeError("aplay is not installed (apt-get install alsa-utils)")
        self.program = program

    def open(self, title: str, rate: int) -> _AplayStream:
        return _AplayStream(self.program, rate)


class _Dropped:
    def __init__(self, title: str) -> None:
        self.title = title

    def write(self, audio: Audio) -> None:
        pass

    def close(self) -> str:
        return "not played: no sound device"


class Nowhere:
    """No sound device and no --wav-dir: each announcement is rendered and logged, not heard."""

    def __init__(self, reason: str) -> None:
        self.name = f"none ({reason})"

    def open(self, title: str, rate: int) -> _Dropped:
        return _Dropped(title)
