"""Announcer latency: from a call leaving the hall (its `calls` message published) to the first
audio sample written, for each back-end, and the queue's delay under a burst of 20 calls.

    .venv/bin/python bench/voice.py [--calls 50] [--burst 20]

A private Mosquitto on loopback; the announcer in this process (the real one: HallClient, call
order, queue, worker, WavDir output into a temp folder) speaking Mandarin then English, with the
chime. `calls` messages are published as the hall publishes them, one at a time for the idle
figures (each waits until the previous announcement is written), then `--burst` back to back.
Figures: to the first sample (the chime) and to the first sample of speech. Baselines measured in
the same run: a bare MQTT publish -> receive, a bare WAV write of the chime, the raw espeak-ng
process for the same text. Goal (issue #15): p99 under 300 ms for calls that find the announcer
idle; the burst's delay is reported, with no goal (the 20th call waits behind 19).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
# This file is named like the `voice` package: the bench folder goes last, so `voice` is the package.
sys.path[:] = (
    [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH] + [str(BENCH)]
)

from _latency_procs import mosquitto  # noqa: E402

from contract import topics  # noqa: E402
from contract.client import HallClient  # noqa: E402
from contract.mqtt_url import parse_url  # noqa: E402
from contract.protocol import dumps  # noqa: E402
from contract.transport import PahoTransport  # noqa: E402
from hall.config.schema import Announcer as AnnouncerSettings  # noqa: E402
from voice.announcer import Announcer  # noqa: E402
from voice.audio import WavStream  # noqa: E402
from voice.espeak import EspeakVoice  # noqa: E402
from voice.output import WavDir  # noqa: E402
from voice.voice import Announcement, make_voice  # noqa: E402

SITE = "bench"
GOAL = 0.300  # seconds, p99, idle announcer, to the first audio sample


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def ms(values: Sequence[float]) -> str:
    return f"p50 {statistics.median(values) * 1000:7.1f} ms  p99 {percentile(values, 0.99) * 1000:7.1f} ms"


def call(seq: int) -> dict[str, Any]:
    number = f"A{seq:03d}"
    return {"v": 1, "seq": seq, "at": "2026-11-26T09:00:00+08:00",
            "ticket": {"id": f"20261126-{number}", "number": number, "status": "called"},
            "window": {"id": "w05", "name": "5号窗口", "area": "1F"}, "recall": 0}  # fmt: skip


def wait_for(predicate: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the announcer did not finish in time")
        time.sleep(0.001)


def bare_mqtt(port: int, runs: int) -> list[float]:
    """Publish -> receive on the same broker, nothing else."""
    got = threading.Event()
    subscriber = PahoTransport(parse_url(f"mqtt://127.0.0.1:{port}"), "bench-bare-sub")
    subscriber.subscribe("bench/bare", lambda m: got.set())
    subscriber.start(wait=10)
    publisher = PahoTransport(parse_url(f"mqtt://127.0.0.1:{port}"), "bench-bare-pub")
    publisher.start(wait=10)
    times = []
    for _ in range(runs):
        got.clear()
        start = time.perf_counter()
        publisher.publish("bench/bare", dumps(call(1)), qos=1)
        got.wait(5)
        times.append(time.perf_counter() - start)
        time.sleep(0.005)
    publisher.stop()
    subscriber.stop()
    return times


def bare_wav_write(folder: Path, voice: Any, runs: int) -> list[float]:
    chime = voice.chime()
    times = []
    for i in range(runs):
        start = time.perf_counter()
        stream = WavStream(folder / f"bare-{i}.wav", voice.rate)
        stream.write(chime)
        times.append(time.perf_counter() - start)
        stream.close()
    return times


def bare_espeak(voice: EspeakVoice, runs: int) -> list[float]:
    text = voice.text(Announcement("call", "A012", 5), "zh")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([voice.program, "-v", "cmn-latn-pinyin", "--stdout", text],
                       capture_output=True, check=True)  # fmt: skip
        times.append(time.perf_counter() - start)
    return times


class Run:
    """One announcer on one back-end, fed by a publisher standing in for the hall."""

    def __init__(self, port: int, backend: str, folder: Path) -> None:
        settings = AnnouncerSettings(id=f"bench-{backend}", languages=["zh", "en"],
                                     backend=backend)  # type: ignore[arg-type]  # fmt: skip
        url = parse_url(f"mqtt://127.0.0.1:{port}")
        self.client = HallClient.connect(url, SITE, "announcer", settings.id)
        self.voice = make_voice(settings.backend, settings.languages)
        self.announcer = Announcer(SITE, settings, self.voice, WavDir(folder / backend),
                                   self.client, folder / f"{backend}.json", {"w05": 5})  # fmt: skip
        self.announcer.start()
        self.hall = PahoTransport(url, f"bench-hall-{backend}")
        self.hall.start(wait=10)
        self.seq = 0
        self.sent: dict[int, float] = {}

    def publish(self) -> None:
        self.seq += 1
        payload = dumps(call(self.seq))
        self.sent[self.seq] = time.perf_counter()
        self.hall.publish(topics.calls(SITE), payload, qos=1)

    def spoken_since(self, count: int) -> list[Any]:
        return list(self.announcer.spoken)[count:]

    def idle(self, calls: int) -> tuple[list[float], list[float]]:
        first, words = [], []
        for _ in range(calls):
            before = len(self.announcer.spoken)
            self.publish()
            wait_for(lambda b=before: len(self.announcer.spoken) > b)
            spoken = self.spoken_since(before)[0]
            first.append(spoken.first_sample - self.sent[spoken.seq])
            words.append(spoken.first_words - self.sent[spoken.seq])
            time.sleep(0.01)
        return first, words

    def burst(self, calls: int) -> tuple[list[float], list[float]]:
        before = len(self.announcer.spoken)
        for _ in range(calls):
            self.publish()
        wait_for(lambda: len(self.announcer.spoken) >= before + calls, 300)
        spoken = self.spoken_since(before)
        queued = [s.started - s.received for s in spoken]
        first = [s.first_sample - self.sent[s.seq] for s in spoken]
        assert [s.seq for s in spoken] == sorted(s.seq for s in spoken)
        return queued, first

    def close(self) -> None:
        self.announcer.stop(60)
        self.hall.stop()
        self.client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50, help="idle calls per back-end")
    parser.add_argument("--burst", type=int, default=20)
    args = parser.parse_args(argv)
    failed = False
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hallq-voice-")))
        port = stack.enter_context(mosquitto(folder))
        mqtt = bare_mqtt(port, args.calls)
        print(f"voice bench: {args.calls} idle calls per back-end, then a burst of {args.burst}; "
              "zh + en with the chime; WAV files in a temp folder")  # fmt: skip
        print(f"  baseline: bare MQTT publish -> receive      {ms(mqtt)}")
        for backend in ("clips", "espeak"):
            run = Run(port, backend, folder)
            try:
                write = bare_wav_write(folder, run.voice, args.calls)
                first, words = run.idle(args.calls)
                queued, burst_first = run.burst(args.burst)
            finally:
                run.close()
            bare = [m + w for m, w in zip(mqtt, write, strict=False)]
            print(f"{backend}:")
            print(f"  baseline: bare MQTT + bare WAV write of the chime  {ms(bare)}")
            print(f"  idle, to the first sample (chime)   {ms(first)}  "
                  f"x{statistics.median(first) / statistics.median(bare):.1f} of the baseline")  # fmt: skip
            if isinstance(run.voice, EspeakVoice):
                raw = bare_espeak(run.voice, args.calls)
                print(f"  baseline: raw espeak-ng process (zh call)    {ms(raw)}")
                ratio = statistics.median(words) / (
                    statistics.median(raw) + statistics.median(bare)
                )
                print(f"  idle, to the first sample of speech {ms(words)}  "
                      f"x{ratio:.1f} of MQTT + write + raw espeak-ng")  # fmt: skip
            else:
                print(f"  idle, to the first sample of speech {ms(words)}  "
                      f"x{statistics.median(words) / statistics.median(bare):.1f} of the baseline")  # fmt: skip
            print(f"  burst of {args.burst}: queue delay {ms(queued)}, the last waited "
                  f"{queued[-1]:.2f} s; to its first sample {burst_first[-1]:.2f} s")  # fmt: skip
            with wave.open(str(run.announcer.spoken[-1].where)) as wav:
                lasts = wav.getnframes() / wav.getframerate()
            print(f"  (WAV files take no playing time; through a sound card each announcement lasts "
                  f"{lasts:.1f} s, so the last of the burst would wait ~{(args.burst - 1) * lasts:.0f} s)")  # fmt: skip
            ok = percentile(first, 0.99) < GOAL and percentile(words, 0.99) < GOAL
            print(f"  goal p99 < {GOAL * 1000:.0f} ms idle: {'met' if ok else 'MISSED'}")
            failed |= not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
