"""`hallq printer-emulator`: an emulated ESC/POS ticket printer for the demo and for trying a kiosk
without hardware. Prints where to connect, saves each ticket it cuts as a PNG, and reads state
changes from stdin (type `paper_out`, `ready`, ... and Enter)."""

from __future__ import annotations

import argparse
import logging
import select
import sys
import time
from pathlib import Path

from hardware.emulators.printer import STATES, PrinterEmulator


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="hallq printer-emulator",
        description="An emulated ESC/POS thermal printer on a pseudo-terminal and a TCP port.",
    )
    parser.add_argument("--width", type=int, choices=(58, 80), default=80, help="paper width, mm")
    parser.add_argument("--encoding", default="gb18030", help="two-byte mode encoding")
    parser.add_argument("--tcp", type=int, default=9100, help="TCP port (0: any free port)")
    parser.add_argument("--no-tcp", action="store_true", help="no TCP port")
    parser.add_argument("--no-pty", action="store_true", help="no pseudo-terminal")
    parser.add_argument(
        "--link", type=Path, help="also make this path a symlink to the pty (e.g. var/printer)"
    )
    parser.add_argument("--out", type=Path, default=Path("var/printer"), help="PNG folder")
    parser.add_argument("--state", choices=STATES, default="ready", help="the initial state")
    parser.add_argument("--paper", type=int, help="tickets left on the roll (default: endless)")
    parser.add_argument("--seconds", type=float, help="stop after this long (default: Ctrl-C)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    emulator = PrinterEmulator(
        dots=384 if args.width == 58 else 512,
        encoding=args.encoding,
        state=args.state,
        save_dir=args.out,
        paper_tickets=args.paper,
    )
    with emulator:
        if not args.no_pty:
            path = emulator.attach_pty()
            print(f'pty: {path}  (kiosk printer: connector = "serial", target = "{path}")')
            if args.link:
                args.link.parent.mkdir(parents=True, exist_ok=True)
                args.link.unlink(missing_ok=True)
                args.link.symlink_to(path)
                print(f"link: {args.link} -> {path}")
        if not args.no_tcp:
            try:
                port = emulator.attach_tcp(args.tcp)
            except OSError as exc:
                print(
                    f"hallq printer-emulator: cannot listen on port {args.tcp}: {exc}",
                    file=sys.stderr,
                )
                return 1
            print(f'tcp: 127.0.0.1:{port}  (connector = "network", target = "127.0.0.1:{port}")')
        print(f"tickets: {args.out}/ticket-NNNN.png; states: {', '.join(STATES)}", flush=True)
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        try:
            while deadline is None or time.monotonic() < deadline:
                _watch_stdin(emulator, 0.2)
        except KeyboardInterrupt:
            pass
    return 0


def _watch_stdin(emulator: PrinterEmulator, wait: float) -> None:
    try:
        ready, _, _ = select.select([sys.stdin], [], [], wait)
    except (ValueError, OSError):  # no usable stdin (a test, a service)
        time.sleep(wait)
        return
    if not ready:
        return
    line = sys.stdin.readline()
    if not line:  # stdin closed: keep running without it
        time.sleep(wait)
        return
    word = line.strip()
    if word in STATES:
        emulator.set_state(word)
        print(f"state: {word}", flush=True)
    elif word:
        print(f"unknown state {word!r}: one of {', '.join(STATES)}", flush=True)
