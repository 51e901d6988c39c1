"""`hallq announcer --id ID`: the hall's speakers. Follows `calls` and says each call of the windows
of its areas: a chime, then the call in each of its languages in turn, `repeat` times.

The network thread only sorts messages (voice.order: in `seq` order, each once, a recall again) and
puts the calls to say on a queue; one worker thread renders and plays them, one announcement at a
time. Health (`device/{id}/health`): `ok` with where the audio goes, `no_sound_device` when there
is no sound card and no --wav-dir, `voice_error` while rendering fails.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from contract import topics
from hall.config.schema import Announcer as AnnouncerSettings
from voice.audio import silence
from voice.order import CallOrder, HeardFile, day_of
from voice.output import Output
from voice.voice import Announcement, Voice

log = logging.getLogger(__name__)

STOP = None  # put on the queue: the worker ends
PAUSE = 0.4  # seconds of silence after the chime and between the languages


class HallLink(Protocol):
    """The part of contract.client.HallClient the announcer uses."""

    def subscribe_json(
        self,
        topic_filter: str,
        callback: Callable[[str, dict[str, Any] | None], None],
        wait: float | None = None,
    ) -> object: ...

    def publish_health(self, state: str, detail: Any = None) -> None: ...


@dataclass
class Job:
    call: dict[str, Any]
    received: float  # time.perf_counter() when the call reached the announcer


@dataclass
class Spoken:
    """One announcement as it went (times from time.perf_counter())."""

    seq: int
    number: str
    window: int | None
    recall: int
    received: float
    started: float  # the worker took it off the queue
    first_sample: float  # its first sample was written (the chime, or the first words)
    first_words: float  # the first sample of speech was written
    done: float
    where: str


def window_number(call: dict[str, Any], numbers: dict[str, int]) -> int | None:
    """The window's number: from the catalog, else the digits its name starts with ("5号窗口")."""
    window = call.get("window") if isinstance(call.get("window"), dict) else {}
    window_id = str((window or {}).get("id", ""))
    if window_id in numbers:
        return numbers[window_id]
    found = re.match(r"\s*(\d{1,4})", str((window or {}).get("name", "")))
    return int(found.group(1)) if found else None


class Announcer:
    def __init__(
        self,
        site: str,
        settings: AnnouncerSettings,
        voice: Voice,
        output: Output,
        hall: HallLink,
        state: Path,
        window_numbers: dict[str, int] | None = None,
        health: tuple[str, dict[str, Any]] | None = None,
        catch_up_seconds: float = 30.0,
    ) -> None:
        self.site = site
        self.settings = settings
        self.voice = voice
        self.output = output
        self.hall = hall
        self.heard_file = HeardFile(state)
        self.order = CallOrder(self.heard_file.load(), catch_up_seconds)
        self.numbers = dict(window_numbers or {})
        self.health = health or ("ok", {"output": output.name})
        self.queue: queue.Queue[Job | None] = queue.Queue()
        self.spoken: deque[Spoken] = deque(maxlen=1000)
        self.skipped = 0  # calls of other areas
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._chime = voice.chime() if settings.chime else None

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"{self.settings.id} voice")
        self._thread.daemon = True
        self._thread.start()
        self.publish_health()
        self.hall.subscribe_json(topics.catalog(self.site), self._on_catalog, wait=5)
        # The board first: on a first start it sets where the day's history ends.
        self.hall.subscribe_json(topics.board(self.site), self._on_board, wait=5)
        self.hall.subscribe_json(topics.calls(self.site), self._on_call, wait=5)
        areas = ", ".join(self.settings.areas) or "every area"
        log.info("%s: announcing calls of %s in %s to %s", self.settings.id, areas,
                 "+".join(self.settings.languages), self.output.name)  # fmt: skip

    def stop(self, timeout: float = 30.0) -> None:
        """Finish what is queued, then stop."""
        self.queue.put(STOP)
        if self._thread is not None:
            self._thread.join(timeout)

    def publish_health(self) -> None:
        state, detail = self.health
        try:
            self.hall.publish_health(state, detail)
        except Exception:  # the broker may be away: it is republished after the reconnect
            log.exception("could not publish health")

    def _set_health(self, state: str, detail: dict[str, Any]) -> None:
        if (state, detail) != self.health:
            self.health = (state, detail)
            self.publish_health()

    # --- inputs (network thread: quick) -------------------------------------------------------
    def _on_catalog(self, topic: str, catalog: dict[str, Any] | None) -> None:
        for window in (catalog or {}).get("windows", []):
            if isinstance(window, dict) and isinstance(window.get("no"), int):
                self.numbers[str(window.get("id"))] = window["no"]

    def _on_board(self, topic: str, board: dict[str, Any] | None) -> None:
        if board:
            self._take(lambda: self.order.on_board(board))

    def _on_call(self, topic: str, call: dict[str, Any] | None) -> None:
        if call:
            self._take(lambda: self.order.on_call(call))

    def _take(self, sort: Callable[[], list[dict[str, Any]]]) -> None:
        received = time.perf_counter()
        with self._lock:
            before = self.order.heard.as_json()
            calls = sort()
            if self.order.heard.as_json() != before:
                try:
                    self.heard_file.save(self.order.heard)  # before saying it: never twice
                except OSError:  # a full or read-only disk: say the call all the same
                    log.exception("%s: could not save %s", self.settings.id, self.heard_file.path)
        for call in calls:
            if self.serves(call):
                self.queue.put(Job(call, received))
            else:
                self.skipped += 1

    def serves(self, call: dict[str, Any]) -> bool:
        if not self.settings.areas:
            return True
        window = call.get("window") if isinstance(call.get("window"), dict) else {}
        return str((window or {}).get("area", "")) in self.settings.areas

    # --- the worker ---------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            job = self.queue.get()
            if job is STOP:
                return
            try:
                self._say(job)
            except Exception as exc:
                log.exception(
                    "%s: could not say call seq %s", self.settings.id, job.call.get("seq")
                )
                self._set_health("voice_error", {"output": self.output.name, "error": str(exc)})

    def announcement(self, call: dict[str, Any]) -> Announcement:
        ticket = call.get("ticket") if isinstance(call.get("ticket"), dict) else {}
        number = str((ticket or {}).get("number", ""))
        recall = call.get("recall") if isinstance(call.get("recall"), int) else 0
        return Announcement(
            "recall" if recall else "call", number, window_number(call, self.numbers)
        )

    def _say(self, job: Job) -> None:
        started = time.perf_counter()
        said = self.announcement(job.call)
        seq = int(job.call.get("seq", 0))
        title = f"{day_of(job.call)}-{seq:05d}-{said.number}-w{said.window}"
        stream = self.output.open(title, self.voice.rate)
        first_sample = first_words = 0.0
        try:
            if self._chime is not None:
                stream.write(self._chime)
                first_sample = time.perf_counter()
            for _ in range(self.settings.repeat):
                for language in self.settings.languages:
                    if first_sample:
                        stream.write(silence(PAUSE, self.voice.rate))
                    phrase = said
                    if said.phrase == "recall" and not self.voice.knows("recall", language):
                        phrase = Announcement("call", said.number, said.window)
                    stream.write(self.voice.render(phrase, language))
                    if not first_words:
                        first_words = time.perf_counter()
                        first_sample = first_sample or first_words
        finally:
            where = str(stream.close())
        done = time.perf_counter()
        self.spoken.append(
            Spoken(
                seq,
                said.number,
                said.window,
                int(job.call.get("recall") or 0),
                job.received,
                started,
                first_sample,
                first_words,
                done,
                where,
            )
        )
        log.info("%s: seq %d %s %s to window %s: %s (%.0f ms queued, %.0f ms to speech)",
                 self.settings.id, seq, "recalled" if said.phrase == "recall" else "called",
                 said.number, said.window, where, (started - job.received) * 1000,
                 (first_words - job.received) * 1000)  # fmt: skip
        if self.health[0] == "voice_error":
            self._set_health("ok", {"output": self.output.name})
