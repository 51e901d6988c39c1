"""`hallq led-emulator`: a virtual bus of window LED boards on a pseudo-terminal, for the demo.

    hallq led-emulator --port /tmp/hallq-led [--protocol auto|alpha|gb-frame]

Point a LED bridge's `bus.port` at the same path; every change of every board prints one line.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from hardware.emulators.led_bus import BoardView, LedBusEmulator


def describe(view: BoardView) -> str:
    shown = view.shown
    mode = shown.mode.value if shown.mode else "cleared"
    return f"board {shown.address:3d} [{mode:6s}] {shown.text}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hallq led-emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--port", default="/tmp/hallq-led", help="the link path to create")
    parser.add_argument("--protocol", choices=["auto", "alpha", "gb-frame"], default="auto")
    args = parser.parse_args(argv)

    def show(view: BoardView) -> None:
        print(describe(view), flush=True)

    bus = LedBusEmulator(args.port, protocol=args.protocol, on_show=show)
    bus.start()
    print(f"LED bus on {args.port} -> {bus.line.link.resolve()} ({args.protocol}); Ctrl-C stops")
    stopped = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    stopped.wait()
    bus.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
