"""A kiosk as its own process, for the restart test: `--tap SERVICE` submits an issue (journalled)
and prints `SENT <id>`; every answer it gets is printed as `ANSWER <json>` or `RESUMED <json>`.
It runs until killed."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

from contract.client import HallClient, RequestError, RequestFuture
from contract.mqtt_url import parse_url


def say(line: str) -> None:
    print(line, flush=True)


def outcome(kind: str, future: RequestFuture) -> None:
    try:
        say(f"{kind} {json.dumps(future.result(), ensure_ascii=False)}")
    except RequestError as exc:
        say(f"{kind}-FAILED {getattr(exc, 'code', '?')}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--site", required=True)
    parser.add_argument("--id", required=True)
    parser.add_argument("--journal", required=True)
    parser.add_argument("--tap")
    args = parser.parse_args(argv)
    client = HallClient.connect(
        parse_url(args.url),
        args.site,
        "kiosk",
        args.id,
        wait=None,
        journal=Path(args.journal),
        on_resumed_answer=lambda future: outcome("RESUMED", future),
    )
    if args.tap:
        future = client.submit("issue", service=args.tap, timeout=120)
        say(f"SENT {future.request_id}")
        future.add_done_callback(lambda f: outcome("ANSWER", f))
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
