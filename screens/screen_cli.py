"""What the screen programs' command lines share (the display, the monitor, the kiosk, the window
terminal and the evaluator): the log format, the options of a screen that saves what it shows, a
window size given as WIDTHxHEIGHT, and the state file written whole."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def start_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)


def window_size(text: str) -> tuple[int, int]:
    """`--size 1920x1080` (an argparse type: a bad value is refused with what to give)."""
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r}: give WIDTHxHEIGHT, such as 1920x1080")
    return int(width), int(height)


def add_screen_arguments(parser: argparse.ArgumentParser) -> None:
    """The display's and the monitor's options for what they show and how long (demo, tests)."""
    parser.add_argument("--screenshot-dir", type=Path, help="save ID.png here (and on SIGUSR1)")
    parser.add_argument("--state-file", type=Path, help="write what is drawn as JSON each second")
    parser.add_argument("--exit-after", type=float, help="quit after this many seconds")
    parser.add_argument(
        "--size", type=window_size, help="a WIDTHxHEIGHT window instead of full screen"
    )
    parser.add_argument("--log-level", default="INFO")


def write_json(path: Path, value: dict[str, Any]) -> None:
    """Atomically (a reader never sees half a file)."""
    temp = path.with_suffix(path.suffix + ".tmp")
    temp.write_text(json.dumps(value, ensure_ascii=False), "utf-8")
    temp.replace(path)
