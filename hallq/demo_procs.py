"""The demo's child processes: each in its own process group, logged to its own file, stopped for
sure.

A child is started with `process_group=0` (its own group, so a Ctrl-C in the terminal reaches only
the demo, which then stops the children in order) and, on Linux, with PR_SET_PDEATHSIG = SIGKILL
(if the demo itself is killed, the kernel kills the children: no orphan even then). Stopping a
group: SIGINT (every hallq program stops cleanly on it), then SIGTERM, then SIGKILL, each after a
timeout, so a child that hangs cannot keep the demo from ending. A child's stdout and stderr go to
logs/{name}.log; for a child whose lines the demo shows, the demo reads its stdout through a pipe,
writes each line to the log and passes it to `on_line`.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
STDIN_GRACE = 1.0  # seconds for a child whose input was closed to end by itself
STOP_STEPS = ((signal.SIGINT, 5.0), (signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0))


def _die_with_parent() -> None:
    """In the child, before exec: the kernel sends SIGKILL when the demo's process dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the signal path below still stops them
        pass


@dataclass(frozen=True)
class Spec:
    """What to run: `name` names its log file and its lines."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)  # added to the demo's environment
    on_line: Callable[[str], None] | None = None  # read stdout line by line (else: to the log)
    stdin_pipe: bool = False  # keep a pipe to its stdin open (an emulator that reads keys)
    critical: bool = False  # the demo cannot go on without it


class Child:
    def __init__(self, spec: Spec, log_path: Path, cwd: Path | None = None) -> None:
        self.spec = spec
        self.log_path = log_path
        self.log_file: IO[bytes] = log_path.open("ab", buffering=0)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **spec.env}
        self.process = subprocess.Popen(
            list(spec.argv),
            stdin=subprocess.PIPE if spec.stdin_pipe else subprocess.DEVNULL,
            stdout=subprocess.PIPE if spec.on_line else self.log_file,
            stderr=self.log_file,
            env=env,
            cwd=cwd,
            process_group=0,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        self.pid = self.process.pid
        self._partial = b""
        self.reported = False  # its exit was already said
        log.info("started %s pid %d: %s", spec.name, self.pid, " ".join(spec.argv))

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def read_available(self) -> bool:
        """Read what its stdout pipe has; False at end of file."""
        stream = self.process.stdout
        if stream is None:
            return False
        chunk = os.read(stream.fileno(), 65536)
        if not chunk:
            if self._partial:
                self._line(self._partial)
                self._partial = b""
            return False
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        for raw in lines:
            self._line(raw)
        return True

    def _line(self, raw: bytes) -> None:
        self.log_file.write(raw + b"\n")
        if self.spec.on_line is not None:
            self.spec.on_line(raw.decode("utf-8", errors="replace").rstrip("\r"))

    def send_line(self, text: str) -> None:
        """A line to its stdin (an emulator's keys); ignored once it is gone."""
        if self.process.stdin is None or not self.running:
            return
        try:
            self.process.stdin.write(text.encode("utf-8") + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def signal_group(self, signum: int) -> bool:
        """Send `signum` to its whole process group; False if the group is gone."""
        try:
            os.killpg(self.pid, signum)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:  # the group id was reused by someone else's process
            return False

    def close_files(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self.log_file.close()

    def tail(self, lines: int = 10) -> list[str]:
        """The last lines of its log, to say why it died."""
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(0, os.SEEK_END)
                size = handle.tell()
                handle.seek(max(0, size - 16384))
                text = handle.read().decode("utf-8", errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if line.strip()][-lines:]


class Supervisor:
    """Starts children, pumps their output, notices deaths, and stops them all for sure."""

    def __init__(self, logs: Path, cwd: Path | None = None) -> None:
        self.logs = logs
        self.cwd = cwd
        self.children: list[Child] = []
        self.selector = selectors.DefaultSelector()
        self.hurry = threading.Event()  # set: stop() goes straight to SIGKILL

    def start(self, spec: Spec) -> Child:
        child = Child(spec, self.logs / f"{spec.name}.log", self.cwd)
        self.children.append(child)
        if child.process.stdout is not None:
            os.set_blocking(child.process.stdout.fileno(), False)
            self.selector.register(child.process.stdout, selectors.EVENT_READ, child)
        return child

    def pump(self, timeout: float) -> None:
        """Read whatever the piped children printed, waiting at most `timeout` seconds."""
        if not self.selector.get_map():
            time.sleep(timeout)
            return
        for key, _ in self.selector.select(timeout):
            child: Child = key.data
            try:
                more = child.read_available()
            except BlockingIOError:
                continue
            if not more:
                self.selector.unregister(key.fileobj)

    def exited(self) -> list[Child]:
        """Children that ended and were not reported yet (each is returned once)."""
        found = []
        for child in self.children:
            if not child.reported and not child.running:
                child.reported = True
                found.append(child)
        return found

    def stop(self, names: Iterable[str] | None = None) -> list[tuple[Child, str]]:
        """Stop these children (default: all), whole process groups, escalating; returns each
        with how it ended ("exit 0", "SIGTERM", ...)."""
        wanted = set(names) if names is not None else None
        group = [c for c in self.children if wanted is None or c.name in wanted]
        reading = [c for c in group if c.process.stdin is not None and c.running]
        for child in reading:  # an emulator reading keys ends at the end of its input
            stdin = child.process.stdin
            if stdin is not None:
                with contextlib.suppress(OSError):
                    stdin.close()
        deadline = time.monotonic() + STDIN_GRACE
        while any(c.running for c in reading) and time.monotonic() < deadline:
            self.pump(0.05)
        for signum, timeout in STOP_STEPS:
            alive = [c for c in group if c.running]
            if not alive:
                break
            if self.hurry.is_set() and signum != signal.SIGKILL:
                continue
            for child in alive:
                log.info("stopping %s pid %d: %s", child.name, child.pid, signum.name)
                child.signal_group(signum)
            deadline = time.monotonic() + timeout
            while any(c.running for c in alive) and time.monotonic() < deadline:
                self.pump(0.05)  # keep reading: a child blocked on a full pipe cannot stop
                if self.hurry.is_set() and signum != signal.SIGKILL:
                    break
        results = []
        for child in group:
            try:
                code = child.process.wait(1.0)
            except subprocess.TimeoutExpired:  # not even SIGKILL: a process stuck in the kernel
                code = None
            # Whatever the leader did, nothing of its group may stay behind.
            child.signal_group(signal.SIGKILL)
            self.pump(0)
            if child.process.stdout is not None:
                with contextlib.suppress(KeyError, ValueError):
                    self.selector.unregister(child.process.stdout)
            child.reported = True
            child.close_files()
            results.append((child, describe_exit(code)))
        return results


def describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit {code}"
