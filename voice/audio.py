"""Mono 16-bit PCM in memory, WAV files in and out, with the standard library only.

Every clip of a voice is brought to one format when it loads (`to_format`): mono, 16-bit, the
voice's sample rate. A stereo clip is mixed down and another rate is resampled (linear: fine for
speech clips); other sample widths are refused with the sox command that converts them.
"""

from __future__ import annotations

import io
import math
import struct
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

SAMPLE_WIDTH = 2  # bytes: 16-bit signed little-endian


class AudioFormatError(ValueError):
    """A WAV file this package cannot use; the message says how to convert it."""


@dataclass(frozen=True)
class Audio:
    """Mono 16-bit little-endian PCM at `rate` samples a second."""

    frames: bytes
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.frames) / SAMPLE_WIDTH / self.rate

    def wav(self) -> bytes:
        out = io.BytesIO()
        with wave.open(out, "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(SAMPLE_WIDTH)
            handle.setframerate(self.rate)
            handle.writeframes(self.frames)
        return out.getvalue()


def silence(seconds: float, rate: int) -> Audio:
    return Audio(bytes(int(seconds * rate) * SAMPLE_WIDTH), rate)


def join(parts: list[Audio], rate: int) -> Audio:
    if any(p.rate != rate for p in parts):
        raise ValueError("join: every part must be at the same rate")
    return Audio(b"".join(p.frames for p in parts), rate)


def _samples(frames: bytes) -> array[int]:
    samples = array("h")
    samples.frombytes(frames)
    return samples


def rms_dbfs(audio: Audio) -> float:
    """Loudness as RMS relative to full scale (-inf for silence)."""
    samples = _samples(audio.frames)
    if not samples:
        return -math.inf
    power = sum(s * s for s in samples) / len(samples)
    return 20 * math.log10(math.sqrt(power) / 32768) if power else -math.inf


def resample(audio: Audio, rate: int) -> Audio:
    """Linear interpolation to `rate` (speech clips; no anti-alias filter needed for 16-22 kHz)."""
    if audio.rate == rate:
        return audio
    src = _samples(audio.frames)
    count = int(len(src) * rate / audio.rate)
    out = array("h", bytes(count * SAMPLE_WIDTH))
    step = audio.rate / rate
    last = len(src) - 1
    for i in range(count):
        pos = i * step
        j = int(pos)
        frac = pos - j
        a = src[min(j, last)]
        b = src[min(j + 1, last)]
        out[i] = int(a + (b - a) * frac)
    return Audio(out.tobytes(), rate)


def _mixdown(frames: bytes, channels: int) -> bytes:
    samples = _samples(frames)
    mono = array("h", bytes(len(samples) // channels * SAMPLE_WIDTH))
    for i in range(len(mono)):
        mono[i] = sum(samples[i * channels : (i + 1) * channels]) // channels
    return mono.tobytes()


def read_wav(source: Path | bytes, rate: int | None = None) -> Audio:
    """A WAV file (path or bytes) as mono 16-bit, resampled to `rate` when given."""
    name = str(source) if isinstance(source, Path) else "<wav bytes>"
    handle: BinaryIO = source.open("rb") if isinstance(source, Path) else io.BytesIO(source)
    with handle:
        data = handle.read()
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            channels, width, framerate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise AudioFormatError(
            f"{name}: not a PCM WAV file ({exc}): convert it with "
            f"`sox IN -r 16000 -c 1 -b 16 {name}`"
        ) from None
    if width != SAMPLE_WIDTH:
        raise AudioFormatError(
            f"{name}: {8 * width}-bit samples: convert it to 16-bit with "
            f"`sox IN -r 16000 -c 1 -b 16 {name}`"
        )
    if channels > 1:
        frames = _mixdown(frames, channels)
    audio = Audio(frames[: len(frames) - len(frames) % SAMPLE_WIDTH], framerate)
    return resample(audio, rate) if rate else audio


def read_streamed_wav(data: bytes) -> Audio:
    """A WAV written to a pipe (espeak-ng --stdout): its sizes say 'unknown', so the data chunk
    runs to the end of what was read."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFormatError("not a WAV stream")
    pos = 12
    channels, rate, width = 1, 0, SAMPLE_WIDTH
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = pos + 8
        if chunk == b"fmt ":
            _, channels, rate, _, _, bits = struct.unpack("<HHIIHH", data[body : body + 16])
            width = bits // 8
        elif chunk == b"data":
            frames = data[body:]
            if width != SAMPLE_WIDTH or not rate:
                raise AudioFormatError(f"WAV stream of {8 * width}-bit samples: 16-bit expected")
            if channels > 1:
                frames = _mixdown(frames, channels)
            return Audio(frames[: len(frames) - len(frames) % SAMPLE_WIDTH], rate)
        pos = body + size + (size & 1)
    raise AudioFormatError("WAV stream without a data chunk")


class WavStream:
    """A WAV file written as the audio comes (the header's sizes are set when it closes), so the
    first samples are on disk before the rest is rendered, as they would be in a sound card."""

    def __init__(self, path: Path, rate: int) -> None:
        self.path = path
        self.rate = rate
        self._partial = path.with_name(f".{path.name}.part")
        self._file = self._partial.open("wb")
        self._handle = wave.open(self._file, "wb")  # noqa: SIM115  (closed in close())
        self._handle.setnchannels(1)
        self._handle.setsampwidth(SAMPLE_WIDTH)
        self._handle.setframerate(rate)

    def write(self, audio: Audio) -> None:
        if audio.rate != self.rate:
            audio = resample(audio, self.rate)
        self._handle.writeframes(audio.frames)
        self._file.flush()  # on disk now, not at close

    def close(self) -> Path:
        self._handle.close()
        self._file.close()
        self._partial.replace(self.path)  # complete files only under their final name
        return self.path
