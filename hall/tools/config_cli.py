"""`hallq check-config --config FILE` and `hallq pin-hash`: the config tools an installer runs by hand.

check-config validates a hall config as the server would, prints a summary and the things that are
allowed but probably wrong (a service no window serves, a window with no evaluator...); it exits 2
on an error, 0 otherwise. pin-hash reads a clerk's PIN from the terminal (asked twice) or from the
first line of stdin, never from the command line, where it would be left in the shell history and
visible to every user in the process list.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from typing import TextIO

from hall.config.pins import hash_pin
from hall.config.schema import ConfigError, HallConfig, load_config
from hall.store.store import StorageError

PIN_MIN, PIN_MAX = 4, 12  # digits: a caller keypad can type nothing else


def warnings(config: HallConfig) -> list[str]:
    """What is valid but probably a mistake, as 'key: what and why'."""
    found: list[str] = []
    served = {code for w in config.windows for code in w.services}
    for i, s in enumerate(config.services):
        if s.code not in served:
            found.append(
                f"services[{i}]: no window serves {s.code!r}: its tickets would never be called"
            )
    evaluated = {e.window for e in config.evaluators}
    missing = [w.id for w in config.windows if w.id not in evaluated]
    if config.evaluators and missing:
        found.append(f"windows: no evaluator for {', '.join(missing)}: visitors cannot rate there")
    rostered = {c for w in config.windows for c in w.clerks}
    for i, c in enumerate(config.clerks):
        if c.id not in rostered:
            found.append(f"clerks[{i}]: {c.id!r} is on no window's roster: nowhere to log in")
    if not config.kiosks:
        found.append("kiosks: none: no ticket can be issued")
    return found


def summary(config: HallConfig) -> list[str]:
    devices = config.devices()
    with_pin = sum(1 for c in config.clerks if c.pin_hash)
    tiers = max((len(w.tiers) for w in config.windows), default=0)
    return [
        f"site {config.site.id!r} ({config.site.name}), time zone {config.site.tz}, "
        f"day rolls over at {config.site.rollover.strftime('%H:%M')}",
        f"{len(config.departments)} departments, {len(config.services)} services "
        f"({sum(1 for s in config.services if s.needs_appointment)} by appointment only)",
        f"{len(config.windows)} windows (up to {tiers} tiers), areas: "
        + ", ".join(sorted({w.area or "-" for w in config.windows})),
        f"{len(config.clerks)} clerks ({with_pin} with a PIN, {len(config.clerks) - with_pin} without)",
        "devices: "
        + ", ".join(f"{len(ids)} {name}" for name, ids in devices.items() if name != "windows")
        + f" (priority kiosks: {sum(1 for k in config.kiosks if k.allow_priority)})",
    ]


def check_config(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    parser = argparse.ArgumentParser(
        prog="hallq check-config", description="Validate a hall config and print a summary."
    )
    parser.add_argument("--config", required=True, help="the hall config (TOML)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")
    parser.add_argument(
        "--data",
        help="the hall's data folder: also list what this config will do to today's tickets "
        "when the server starts with it (the store is only read)",
    )
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{exc.source}: {problem}", file=err)
        print(f"{exc.source}: {len(exc.problems)} problem(s); nothing was started", file=err)
        return 2
    print(f"{args.config}: OK", file=out)
    for line in summary(config):
        print(f"  {line}", file=out)
    found = warnings(config)
    for line in found:
        print(f"{args.config}: warning: {line}", file=err)
    if args.data:
        try:
            lines = changes_to_today(config, args.data)
        except StorageError as exc:
            print(f"{args.data}: {exc}", file=err)
            return 2
        for line in lines:
            print(f"  {line}", file=out)
    return 1 if found and args.strict else 0


def changes_to_today(config: HallConfig, data: str) -> list[str]:
    """What the server will record when it starts with `config` on the store in `data`."""
    # Imported here: checking a config alone loads no engine.
    from contract.protocol import iso
    from hall.engine.engine import Engine
    from hall.engine.reconcile import describe, plan
    from hall.store.clock import SystemClock
    from hall.store.core import engine_from_store
    from hall.store.store import read_only_load

    engine, _, _ = engine_from_store(
        lambda older: read_only_load(data, older),
        lambda snapshot: (
            Engine.restore(config, snapshot) if snapshot is not None else Engine(config)
        ),
    )
    day = engine.state.business_day
    events = plan(engine, iso(SystemClock(config.site.tz).now()))
    head = f"today's tickets ({data}, business day {day}): "
    if not events:
        return [head + "this config changes nothing"]
    return [head + f"{len(events)} change(s) when the server starts with this config:"] + [
        f"  {line}" for line in describe(engine, events)
    ]


def read_pin(stdin: TextIO, err: TextIO) -> str:
    """From a terminal: asked twice, not echoed. Otherwise: the first line of stdin."""
    if stdin.isatty():
        first = getpass.getpass("PIN: ", stream=err)
        again = getpass.getpass("PIN again: ", stream=err)
        if first != again:
            raise ValueError("the two PINs differ")
        return first
    return stdin.readline().rstrip("\r\n")


def pin_hash(argv: Sequence[str], stdin: TextIO, out: TextIO, err: TextIO) -> int:
    parser = argparse.ArgumentParser(
        prog="hallq pin-hash",
        description=(
            "Hash a clerk's PIN for the `pin_hash` key of [[clerks]]. The PIN is asked at the "
            "terminal, or read from the first line of stdin (echo 1234 | hallq pin-hash); "
            "never give it as an argument."
        ),
    )
    parser.parse_args(argv)
    try:
        pin = read_pin(stdin, err)
    except (ValueError, EOFError) as exc:
        print(f"hallq pin-hash: {exc or 'no PIN given'}", file=err)
        return 2
    if not (pin.isascii() and pin.isdigit() and PIN_MIN <= len(pin) <= PIN_MAX):
        print(
            f"hallq pin-hash: a PIN is {PIN_MIN} to {PIN_MAX} digits (a caller keypad types "
            "nothing else)",
            file=err,
        )
        return 2
    print(hash_pin(pin), file=out)
    return 0


def main(argv: Sequence[str]) -> int:
    """argv[0] is the subcommand's name: `check-config` or `pin-hash` (hallq/cli.py passes it)."""
    if not argv:
        print("usage: hallq check-config --config FILE | hallq pin-hash", file=sys.stderr)
        return 2
    name, rest = argv[0], argv[1:]
    if name == "check-config":
        return check_config(rest, sys.stdout, sys.stderr)
    if name == "pin-hash":
        return pin_hash(rest, sys.stdin, sys.stdout, sys.stderr)
    print(f"hall.tools.config_cli: unknown subcommand {name!r}", file=sys.stderr)
    return 2
