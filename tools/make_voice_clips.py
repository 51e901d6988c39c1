#!/usr/bin/env python3
"""Make the clips a manifest names, with espeak-ng and sox: `tools/make_voice_clips.py [FOLDER...]`.

For each word of the manifest's [clips] (default: every shipped language under voice/clips/), it
speaks the word's [text] with the manifest's espeak voice, converts it to the manifest's format
(mono, 16-bit, its rate) and trims the silence at both ends (sox), into the file [clips] names.
The clip `chime` is a two-tone chime drawn here. A hall that records its own voice does not run
this: it puts its recordings under the same names (docs/voice.md).
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import tempfile
from array import array
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voice.audio import Audio  # noqa: E402
from voice.manifest import CHIME, SHIPPED, Manifest, load_manifest  # noqa: E402

# sox: trim leading silence, reverse, trim again, reverse back (the trailing silence goes).
TRIM = ["silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse"]


def chime(rate: int) -> Audio:
    """Ding-dong: two decaying tones (E5, C5), 0.9 s, at -6 dBFS peak."""
    samples = array("h")
    for freq, length in ((659.25, 0.45), (523.25, 0.45)):
        count = int(length * rate)
        for i in range(count):
            t = i / rate
            envelope = math.exp(-4 * t) * min(1.0, i / (0.01 * rate))
            samples.append(int(16000 * envelope * math.sin(2 * math.pi * freq * t)))
    return Audio(samples.tobytes(), rate)


def make(manifest: Manifest, espeak: str, sox: str) -> int:
    made = 0
    with tempfile.TemporaryDirectory() as temp:
        raw = Path(temp) / "raw.wav"
        for word, name in manifest.clips.items():
            out = manifest.folder / name
            if word == CHIME:
                out.write_bytes(chime(manifest.rate).wav())
                made += 1
                continue
            text = manifest.spoken(word)
            subprocess.run([espeak, "-v", manifest.espeak_voice, "-w", str(raw), text], check=True)
            subprocess.run(
                [
                    sox,
                    "-G",
                    "-D",
                    str(raw),
                    "-r",
                    str(manifest.rate),
                    "-c",
                    "1",
                    "-b",
                    "16",
                    str(out),
                    *TRIM,
                ],
                check=True,
            )
            made += 1
    return made


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, help="clip folders (default: shipped)")
    args = parser.parse_args(argv)
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if espeak is None or sox is None:
        print("needs espeak-ng and sox: apt-get install espeak-ng sox", file=sys.stderr)
        return 2
    folders = args.folders or sorted(p.parent for p in SHIPPED.glob("*/manifest.toml"))
    for folder in folders:
        manifest = load_manifest(folder)
        count = make(manifest, espeak, sox)
        size = sum((folder / n).stat().st_size for n in set(manifest.clips.values()))
        print(f"{folder}: {count} clips, {size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
