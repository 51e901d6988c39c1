"""`hallq demo` as the README runs it (`make demo` -> `.venv/bin/hallq demo`): a real process tree.

Acceptance (issue 5): at any hour of the real day it shows calls within seconds, and after Ctrl-C no
process of it is left. The test starts it in its own session, as a terminal would run it, waits for
calls (and a printed ticket) in its output, kills one of its devices to see the death reported with
the end of its log, sends SIGINT to its process group as Ctrl-C does, and then proves that every
process that was ever its descendant is gone, that none of their process groups has a member, and
that the broker's ports are free.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.fixtures.parts import require_program

ROOT = Path(__file__).resolve().parents[1]
CALL = re.compile(r"^(\d\d):(\d\d):\d\d  call +(\S+) +-> ")
BROKER = re.compile(r"mosquitto on 127\.0\.0\.1:(\d+) \(hall\) and :(\d+) \(devices, TLS\)")
CALLS_WANTED = 3
STARTUP_TIMEOUT = 40.0  # real seconds until the calls and a printed ticket are seen
STOP_TIMEOUT = 30.0  # the demo's own escalation ends well within this


def hallq_command() -> list[str]:
    """The README's command: the venv's `hallq` script (next to this interpreter)."""
    script = Path(sys.executable).with_name("hallq")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hallq"]


def proc_stat(pid: int) -> tuple[int, int, int, str] | None:
    """(ppid, pgid, start time, state) of a live process, None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[2]), int(fields[19]), fields[0]


def all_processes() -> dict[int, tuple[int, int, int, str]]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = proc_stat(int(entry))
            if stat is not None:
                found[int(entry)] = stat
    return found


def descendants(root: int) -> dict[int, tuple[int, int]]:
    """pid -> (pgid, start time) of every live descendant of `root`."""
    table = all_processes()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: dict[int, tuple[int, int]] = {}
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if pid in table and pid not in found:
            found[pid] = (table[pid][1], table[pid][2])
            todo += children.get(pid, [])
    return found


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class Output:
    """The demo's stdout, line by line, read in a thread."""

    def __init__(self, stream: object) -> None:
        self.lines: list[str] = []
        self.fresh: queue.Queue[str] = queue.Queue()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream: object) -> None:
        for raw in stream:  # type: ignore[attr-defined]
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            self.lines.append(line)
            self.fresh.put(line)

    def wait_for(self, done: object, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not done():  # type: ignore[operator]
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with contextlib.suppress(queue.Empty):
                self.fresh.get(timeout=min(left, 0.5))
        return True

    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.mark.broker
def test_demo_shows_calls_and_leaves_no_process(tmp_path: Path) -> None:
    require_program("mosquitto", "mosquitto")
    require_program("openssl", "openssl")
    started = time.monotonic()
    demo = subprocess.Popen(
        [*hallq_command(), "demo", "--dir", str(tmp_path / "demo")],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a shell runs a foreground job
    )
    out = Output(demo.stdout)
    seen: dict[int, tuple[int, int]] = {}
    try:

        def calls() -> list[re.Match[str]]:
            return [m for m in map(CALL.match, out.lines) if m]

        def ready() -> bool:
            seen.update(descendants(demo.pid))
            printed = any("demo-kiosk: ticket" in line and "printed" in line for line in out.lines)
            return (len(calls()) >= CALLS_WANTED and printed) or demo.poll() is not None

        assert out.wait_for(ready, STARTUP_TIMEOUT), f"no calls in time:\n{out.text()}"
        assert demo.poll() is None, f"the demo ended by itself:\n{out.text()}"
        first_calls = time.monotonic() - started
        # The hall's clock runs from a working morning, whatever the real hour.
        for match in calls():
            assert 9 <= int(match[1]) < 12, match.group(0)
        ports = BROKER.search(out.text())
        assert ports is not None, out.text()
        broker_ports = [int(ports[1]), int(ports[2])]
        assert not any(port_is_free(p) for p in broker_ports)

        # Every part runs as its own process: broker, server, watcher, 2 emulators + 2 bridges,
        # printer, simulate, kiosk.
        seen.update(descendants(demo.pid))
        assert len(seen) >= 10, seen

        # A device that dies is reported with the end of its log; the demo goes on.
        bridge = re.search(r"^  led-2f +pid (\d+)", out.text(), re.MULTILINE)
        assert bridge is not None, out.text()
        os.kill(int(bridge[1]), signal.SIGKILL)
        assert out.wait_for(
            lambda: any(f"led-2f (pid {bridge[1]}) ended with SIGKILL" in ln for ln in out.lines),
            10,
        ), out.text()
        assert demo.poll() is None

        os.killpg(demo.pid, signal.SIGINT)  # Ctrl-C in the terminal
        code = demo.wait(STOP_TIMEOUT)
    finally:
        if demo.poll() is None:  # the test failed: leave nothing behind either
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait(5)
        for pgid, _ in seen.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
    out.thread.join(5)
    text = out.text()
    assert code == 0, text
    assert "the logs are in" in text
    # Nothing it started is left: no process, no member of any of their process groups.
    left = {}
    for pid, (_, start) in seen.items():
        stat = proc_stat(pid)
        if stat is not None and stat[2] == start:  # the same process, not a reused pid
            left[pid] = stat
    assert not left, f"left behind: {left}\n{text}"
    groups = {pgid for pgid, _ in seen.values()}
    members = {pid: s for pid, s in all_processes().items() if s[1] in groups}
    assert not members, f"process groups still in use: {members}"
    assert all(port_is_free(p) for p in broker_ports), broker_ports
    logs = tmp_path / "demo" / "logs"
    for name in ("broker", "hall-server", "simulate", "watch", "demo"):
        assert (logs / f"{name}.log").exists(), name
    assert list((tmp_path / "demo" / "tickets").glob("*.png")), "no ticket was printed"
    print(f"first calls after {first_calls:.1f} s; whole test {time.monotonic() - started:.1f} s")
