"""The demo's process supervision with real processes: a child that ignores SIGINT and SIGTERM and
has a child of its own is still gone after stop(); a child's death is noticed once, with the end of
its log; lines of a piped child reach its log and the callback; and when the demo's process itself
is killed with SIGKILL, the kernel takes its children with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hallq import demo_procs
from hallq.demo_procs import Spec, Supervisor

# Ignores SIGINT and SIGTERM, starts a grandchild that ignores them too, prints both pids.
STUBBORN = """
import signal, subprocess, sys, time
for s in (signal.SIGINT, signal.SIGTERM):
    signal.signal(s, signal.SIG_IGN)
grandchild = subprocess.Popen([sys.executable, "-c",
    "import signal, time\\nfor s in (2, 15): signal.signal(s, signal.SIG_IGN)\\ntime.sleep(600)"])
print("pids", grandchild.pid, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def pump_until(supervisor: Supervisor, done: Callable[[], bool], timeout: float) -> bool:
    """Read the children's output until `done()`."""
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        supervisor.pump(0.05)
    return done()


@pytest.fixture
def quick_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    steps = ((signal.SIGINT, 0.3), (signal.SIGTERM, 0.3), (signal.SIGKILL, 2.0))
    monkeypatch.setattr(demo_procs, "STOP_STEPS", steps)


def test_a_child_that_ignores_signals_is_killed_with_its_whole_group(
    tmp_path: Path, quick_steps: None
) -> None:
    lines: list[str] = []
    supervisor = Supervisor(tmp_path)
    child = supervisor.start(
        Spec("stubborn", [sys.executable, "-c", STUBBORN], on_line=lines.append)
    )
    assert pump_until(supervisor, lambda: bool(lines), 10), "no output"
    grandchild = int(lines[0].split()[1])
    assert alive(child.pid) and alive(grandchild)
    assert os.getpgid(grandchild) == child.pid  # its own group, which the grandchild shares

    started = time.monotonic()
    ((stopped, how),) = supervisor.stop()
    assert stopped is child
    assert how == "SIGKILL"
    assert time.monotonic() - started < 3.0
    assert not alive(child.pid)
    assert wait_until(lambda: not alive(grandchild), 5), "the grandchild survived"
    assert "pids" in (tmp_path / "stubborn.log").read_text()


def test_sigint_stops_a_well_behaved_child_without_escalation(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path)
    supervisor.start(Spec("sleeper", [sys.executable, "-c", "import time; time.sleep(600)"]))
    time.sleep(0.3)  # past the interpreter's start, so SIGINT is a KeyboardInterrupt
    ((_, how),) = supervisor.stop()
    assert how in ("exit 1", "SIGINT")  # Python's KeyboardInterrupt exit


def test_a_dead_child_is_reported_once_with_the_end_of_its_log(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path)
    script = "import sys\nfor i in range(30): print('line', i)\nsys.exit(3)"
    child = supervisor.start(Spec("dies", [sys.executable, "-c", script], critical=True))
    assert wait_until(lambda: not child.running, 10)
    assert supervisor.exited() == [child]
    assert supervisor.exited() == []
    assert child.process.returncode == 3
    assert child.tail(3) == ["line 27", "line 28", "line 29"]
    supervisor.stop()


def test_a_child_reading_keys_ends_when_its_input_closes(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path)
    reader = (
        "import sys\nfor line in sys.stdin: print('got', line.strip(), flush=True)\nprint('eof')"
    )
    lines: list[str] = []
    child = supervisor.start(
        Spec("reader", [sys.executable, "-c", reader], on_line=lines.append, stdin_pipe=True)
    )
    child.send_line("5 C")
    assert pump_until(supervisor, lambda: "got 5 C" in lines, 10), lines
    ((_, how),) = supervisor.stop()
    assert how == "exit 0"  # ended by the end of its input, before any signal
    assert lines[-1] == "eof"


SUPERVISING = """
import sys, time
from pathlib import Path
from hallq.demo_procs import Spec, Supervisor
supervisor = Supervisor(Path(sys.argv[1]))
child = supervisor.start(Spec("orphan", [sys.executable, "-c", "import time; time.sleep(600)"]))
print(child.pid, flush=True)
time.sleep(600)
"""


def test_children_die_with_the_demo_even_when_it_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", SUPERVISING, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert alive(child)
    parent.kill()  # SIGKILL: the demo gets no chance to stop anything
    parent.wait(5)
    if sys.platform.startswith("linux"):
        assert wait_until(lambda: not alive(child), 5), "the child outlived a killed demo"
    else:  # pragma: no cover
        os.kill(child, signal.SIGKILL)


def test_in_a_hurry_stop_goes_straight_to_sigkill(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path)
    ignoring = (
        "import signal, time\nfor s in (2, 15): signal.signal(s, signal.SIG_IGN)\ntime.sleep(600)"
    )
    supervisor.start(Spec("stubborn", [sys.executable, "-c", ignoring]))
    supervisor.hurry.set()  # a second Ctrl-C
    started = time.monotonic()
    ((_, how),) = supervisor.stop()
    assert how == "SIGKILL"
    assert time.monotonic() - started < 1.5  # not the 5 + 2 s of the polite steps
