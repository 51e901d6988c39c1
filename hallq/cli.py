"""The one front door: `hallq SUBCOMMAND ...`.

Each subcommand lives in its own module with a `main(argv) -> int`; the module is imported only when
its subcommand runs, so the hall server never imports Kivy, python-escpos or pyserial.
"""

from __future__ import annotations

import importlib
import sys

# name -> (module with main(argv), one line of help). The Kivy apps (kiosk, display, terminal) join
# when they exist, under the same rule.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "server": ("hall.service.server_cli", "run the hall server (queue authority) on MQTT"),
    "backup": ("hall.tools.backup_cli", "copy a running hall's store consistently to a file"),
    "check-config": ("hall.tools.config_cli", "validate a hall config and print a summary"),
    "pin-hash": ("hall.tools.config_cli", "hash a clerk PIN for the hall config"),
    "report": ("hall.reports.cli", "write a period's figures (xlsx, csv, html) or the ratings"),
    "simulate": ("hall.tools.simulate", "play a day's visitors and clerks against a running hall"),
    "bookings": ("hall.tools.bookings_cli", "import bookings into a running hall"),
    "broker-config": (
        "hall.tools.broker_config",
        "write Mosquitto passwords, ACLs and device credentials",
    ),
    "display": ("display.app", "a hall screen or a window screen (Kivy, full screen)"),
    "monitor": (
        "monitor.app",
        "the monitoring room: windows, queues, alarms, devices, operator ops",
    ),
    "demo": ("hallq.demo", "run the whole demo hall on this machine"),
    "kiosk": ("kiosk.app", "the ticket kiosk (Kivy touchscreen)"),
    "printer-emulator": ("hardware.emulators.printer_cli", "an emulated ESC/POS ticket printer"),
    "led-emulator": ("hardware.emulators.led_cli", "an emulated bus of window LED boards"),
    "keypad-emulator": ("hardware.emulators.keypad_cli", "an emulated bus of caller keypads"),
    "led-bridge": ("hardware.bridges.led_bridge", "drive window LED boards from the hall's state"),
    "announcer": (
        "voice.announcer_cli",
        "say the hall's calls on the speakers (or into WAV files)",
    ),
    "keypad-bridge": (
        "hardware.bridges.keypad_bridge",
        "turn caller keypad keys into window requests",
    ),
    "terminal": ("terminal.app", "the window terminal: the clerk's call-next screen (Kivy)"),
    "evaluator": ("terminal.evaluator_app", "the visitor's rating screen at a window (Kivy)"),
}


def usage() -> str:
    width = max(len(name) for name in SUBCOMMANDS)
    lines = ["usage: hallq SUBCOMMAND [ARGS...]", "", "subcommands:"]
    for name, (_, text) in SUBCOMMANDS.items():
        lines.append(f"  {name.ljust(width)}  {text}")
    lines.append("")
    lines.append("`hallq SUBCOMMAND --help` tells more about each.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if args[0] == "--version":
        from hallq import __version__

        print(__version__)
        return 0
    name, rest = args[0], args[1:]
    if name not in SUBCOMMANDS:
        print(f"hallq: unknown subcommand {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module_name, _ = SUBCOMMANDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or "?"
        top = missing.split(".")[0]
        extras = {"kivy": "screens", "pypinyin": "screens", "matplotlib": "reports"}
        extras |= {"xlsxwriter": "reports", "escpos": "hardware", "serial": "hardware"}
        extras |= {"qrcode": "hardware", "PIL": "hardware", "usb": "hardware"}
        if top in extras:
            extra = extras[top]
            print(
                f"hallq {name}: needs the Python package {missing!r}; "
                f"install hallq with the [{extra}] extra (pip install 'hallq[{extra}]')",
                file=sys.stderr,
            )
            return 2
        raise
    # A module serving two subcommands gets the subcommand's name first.
    if module_name == "hall.tools.config_cli":
        rest = [name, *rest]
    result: int = module.main(rest)
    return result


if __name__ == "__main__":
    sys.exit(main())
