"""`hallq led-emulator`: a virtual bus of window LED boards on a pseudo-terminal, for the demo.

    hallq led-emulator --port /tmp/hallq-led [--protocol auto|alpha|gb-frame]
    hallq led-emulator --config hall.toml --id led-2f     # the port and protocol of that bridge

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
    parser.add_argument("--port", help="the link path to create (default /tmp/hallq-led)")
    parser.add_argument("--protocol", choices=["auto", "alpha", "gb-frame"], default="auto")
    parser.add_argument("--config", help="a hall config: emulate the bus of bridge --id")
    parser.add_argument("--id", help="the LED bridge whose bus to emulate (with --config)")
    args = parser.parse_args(argv)
    port, protocol = args.port or "/tmp/hallq-led", args.protocol
    if args.config:
        from hall.config.schema import ConfigError, load_config
        from hardware.bridges.common import setup_from_config
        from hardware.errors import ConfigurationError

        try:
            bus_config = setup_from_config(load_config(args.config), args.id or "", "led").bus
        except (ConfigError, ConfigurationError) as exc:
            print(f"hallq led-emulator: {exc}", file=sys.stderr)
            return 2
        port, protocol = args.port or bus_config.port, bus_config.protocol

    def show(view: BoardView) -> None:
        print(describe(view), flush=True)

    bus = LedBusEmulator(port, protocol=protocol, on_show=show)
    bus.start()
    print(f"LED bus on {port} -> {bus.line.link.resolve()} ({protocol}); Ctrl-C stops", flush=True)
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
