"""`hallq keypad-emulator`: a virtual bus of caller keypads on a pseudo-terminal, for the demo.

    hallq keypad-emulator --port /tmp/hallq-keypads --address 5 [--address 6 ...]
    hallq keypad-emulator --config hall.toml --id keypad-3f   # the port and keypads of that bridge

Then type a keypad's address and its keys, one line each: `5 0501K` (log in with keypad code
0501), `5 C` (call next), `5 12C` (call A012). Keys: digits, C call, R recall, V evaluate, P pause,
T transfer, K confirm. Every change of a keypad's display prints one line.
"""

from __future__ import annotations

import argparse
import sys

from hardware.emulators.keypad_bus import KeypadBusEmulator
from hardware.keypad.frame import Key

LETTERS = {
    "C": Key.CALL,
    "R": Key.RECALL,
    "V": Key.EVALUATE,
    "P": Key.PAUSE,
    "T": Key.TRANSFER,
    "K": Key.CONFIRM,
}


def parse_keys(text: str) -> list[Key]:
    """'12C' -> [D1, D2, CALL]; raises ValueError naming a letter it does not know."""
    keys = []
    for ch in text.strip().upper():
        if ch.isdigit():
            keys.append(Key(int(ch)))
        elif ch in LETTERS:
            keys.append(LETTERS[ch])
        elif not ch.isspace():
            raise ValueError(f"unknown key {ch!r}: use digits and C R V P T K")
    return keys


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="hallq keypad-emulator", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--port", help="the link path to create (default /tmp/hallq-keypads)")
    parser.add_argument("--address", type=int, action="append", default=[])
    parser.add_argument("--config", help="a hall config: emulate the bus of bridge --id")
    parser.add_argument("--id", help="the keypad bridge whose bus to emulate (with --config)")
    args = parser.parse_args(argv)
    port, addresses = args.port or "/tmp/hallq-keypads", list(args.address)
    if args.config:
        from hall.config.schema import ConfigError, load_config
        from hardware.bridges.common import setup_from_config
        from hardware.errors import ConfigurationError

        try:
            bus_config = setup_from_config(load_config(args.config), args.id or "", "keypad").bus
        except (ConfigError, ConfigurationError) as exc:
            print(f"hallq keypad-emulator: {exc}", file=sys.stderr)
            return 2
        port = args.port or bus_config.port
        addresses = addresses or [k.address for k in bus_config.keypads]
    if not addresses:
        parser.error("name the keypads: --address N (or --config FILE --id BRIDGE)")

    def show(address: int, text: str) -> None:
        print(f"keypad {address:3d} display [{text}]", flush=True)

    bus = KeypadBusEmulator(port, addresses, on_display=show)
    bus.start()
    print(f"keypads {addresses} on {port}; type e.g. '{addresses[0]} C'; Ctrl-D stops", flush=True)
    try:
        for line in sys.stdin:
            parts = line.split(maxsplit=1)
            if len(parts) != 2:
                continue
            try:
                address, keys = int(parts[0]), parse_keys(parts[1])
            except ValueError as exc:
                print(f"? {exc}", flush=True)
                continue
            if address not in bus.addresses:
                print(f"? no keypad {address} on this bus", flush=True)
                continue
            bus.press(address, *keys)
    except KeyboardInterrupt:
        pass
    finally:
        bus.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
