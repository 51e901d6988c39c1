"""`hallq server` with a worker fault switched on by a file, for the exit-status tests.

    python tests/hall/service/faulty_server.py TRIGGER_FILE FAULT_SECONDS SERVER_ARGS...

Once TRIGGER_FILE exists, every worker step fails (drawing the retained state raises OSError) for
FAULT_SECONDS (`inf`: for good). The fault limits are shortened: a fault is over after 3 s without
a repeat, and the server gives up after 4 s of repeats.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import hall.service.service as service
from hall.service import server_cli


def main() -> int:
    trigger, seconds, args = Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
    service.FAULT_GAP, service.FAULT_LIMIT = 3.0, 4.0
    publish_pending = service.HallService._publish_pending
    started: list[float] = []

    def faulty(self: service.HallService) -> None:
        if trigger.exists():
            started[:] = started or [time.monotonic()]
            if time.monotonic() - started[0] < seconds:
                raise OSError("the board cannot be drawn (test fault)")
        publish_pending(self)

    service.HallService._publish_pending = faulty  # type: ignore[method-assign]
    return server_cli.main(args)


if __name__ == "__main__":
    sys.exit(main())
