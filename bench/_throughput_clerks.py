"""The clerk processes of bench/throughput.py: each runs 5 clerks, one thread and one connection each.

    run(port, window_ids, ready, orders, results)   # the target of a spawned process

Each clerk is bench/latency.py's Terminal (a HallClient on its own window, which also reaches the
echo floor). Once its clerks are connected and logged in, the process says so on `ready`, then
takes orders from `orders`: ("floor", seconds) or ("hall", seconds) runs every clerk's loop for that
long, None stops. Per phase it puts one Result on `results`.

The hall's loop is call_next, start, finish (request and answer each, one after another); the
floor's is three echo requests, the first of which makes the echo service publish an event.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
for _path in (str(ROOT), str(BENCH)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

TIMEOUT = 5.0
CALL_NEXT = "call_next"  # the payload prefix the floor's echo service publishes an event for


class Result(NamedTuple):
    phase: str
    calls: int  # successful call_next (or their echoes)
    latencies_ms: list[float]  # of each successful call_next, request to answer
    refused: dict[str, int]  # call_next refusals by code (queue_empty: tickets ran out)
    failed: list[str]  # what went wrong otherwise (timeouts)


def run(port: int, window_ids: list[str], ready: Any, orders: Any, results: Any) -> None:
    from latency import HALL, Terminal

    from hall.config.schema import load_config

    config = load_config(HALL)
    windows = [w for w in config.windows if w.id in set(window_ids)]
    terminals = [Terminal(port, config.site.id, w) for w in windows]
    try:
        for terminal in terminals:
            if not terminal.client.transport.wait_ready(15):
                raise RuntimeError(f"{terminal.window.id}: no connection")
        for terminal in terminals:
            terminal.client.request("login", clerk=terminal.window.clerks[0], timeout=TIMEOUT)
        ready.put(len(terminals))
        while (order := orders.get()) is not None:
            phase, seconds = order
            results.put(_phase(terminals, phase, seconds))
    finally:
        for terminal in terminals:
            terminal.client.close()


def _phase(terminals: list[Any], phase: str, seconds: float) -> Result:
    latencies: list[float] = []
    refused: dict[str, int] = {}
    failed: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    loop: Callable[[Any, int], None]

    def hall(terminal: Any, _: int) -> None:
        client = terminal.client
        while time.monotonic() < deadline:
            started = time.monotonic()
            answer = client.request_answer(CALL_NEXT, timeout=TIMEOUT)
            took = (time.monotonic() - started) * 1000
            if not answer.get("ok"):
                code = str(answer.get("error", {}).get("code"))
                with lock:
                    refused[code] = refused.get(code, 0) + 1
                if code == "queue_empty":
                    time.sleep(0.01)
                continue
            latencies.append(took)
            client.request("start", timeout=TIMEOUT)
            client.request("finish", timeout=TIMEOUT)

    def floor(terminal: Any, index: int) -> None:
        n = 0
        while time.monotonic() < deadline:
            n += 1
            started = time.monotonic()
            terminal.echo(f"{CALL_NEXT}-{index}-{n}")
            latencies.append((time.monotonic() - started) * 1000)
            terminal.echo(f"start-{index}-{n}")
            terminal.echo(f"finish-{index}-{n}")

    loop = hall if phase == "hall" else floor

    def guarded(terminal: Any, index: int) -> None:
        try:
            loop(terminal, index)
        except Exception as exc:  # a timeout: said in the result, the others go on
            with lock:
                failed.append(f"{terminal.window.id}: {type(exc).__name__}: {exc}")

    threads = [
        threading.Thread(target=guarded, args=(t, i), name=f"clerk-{t.window.id}")
        for i, t in enumerate(terminals)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 4 * TIMEOUT)
    return Result(phase, len(latencies), latencies, refused, failed)
