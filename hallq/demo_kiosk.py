"""The demo's printing kiosk: every few seconds a visitor takes a ticket here, and it is printed.

    python -m hallq.demo_kiosk --config .demo/hall.toml --id demo-kiosk --every 18 [--prefer CODE]

No screen (the Kivy kiosk is a separate program): it connects as its kiosk with its own credentials
(HALLQ_MQTT_URL / HALLQ_MQTT_CA), picks a service the hall can issue now (from the retained
`queues`), issues a ticket and prints it through the kiosk's real printer code
(hardware/printer) on the printer the config names, in the demo the emulated one on a pty, which
saves each ticket as a PNG. It reports its printer on device/{id}/health, as a kiosk does, and
prints one line per ticket. Its pending `issue` is journalled (`--journal`, by default next to the
config): a kiosk restarted between a tap and the answer prints the ticket the hall issued for it.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import threading
from pathlib import Path
from typing import Any

from contract import topics
from contract.client import HallClient, RequestError, RequestFuture
from hall.config.schema import HallConfig
from hallq.demo_common import hall_time, load_config_and_broker, stop_on_signals

log = logging.getLogger(__name__)


class DemoKiosk:
    def __init__(
        self,
        config: HallConfig,
        kiosk_id: str,
        client: HallClient,
        seed: int | None,
        prefer: list[str] | None = None,
    ):
        kiosk = next((k for k in config.kiosks if k.id == kiosk_id), None)
        if kiosk is None or kiosk.printer is None:
            raise ValueError(f"no kiosk {kiosk_id!r} with a [kiosks.printer] in the config")
        from hardware.printer.printer import TicketPrinter

        self.config = config
        self.kiosk_id = kiosk_id
        self.client = client
        self.printer = TicketPrinter(kiosk.printer, device_id=kiosk_id)
        self.rng = random.Random(seed)
        self._lock = threading.Lock()
        self._printing = threading.Lock()  # a resumed ticket may come while a tap is printed
        self.can_issue: list[str] = []
        self.prefer = set(prefer or [])  # services its visitors come for, when open
        self.printed = 0

    def on_queues(self, topic: str, value: dict[str, Any] | None) -> None:
        services = (value or {}).get("services") or {}
        open_now = [
            code
            for code, info in services.items()
            if isinstance(info, dict) and info.get("can_issue")
        ]
        with self._lock:
            self.can_issue = sorted(open_now)

    def say(self, at: str, text: str) -> None:
        print(f"{at}  {'kiosk':<8} {self.kiosk_id}: {text}", flush=True)

    def report_printer(self) -> None:
        health = self.printer.health()
        try:
            self.client.publish_health(health["state"], health["detail"])
        except Exception:  # the broker may be away for a moment: the next ticket reports again
            log.exception("could not publish health")

    def one_ticket(self) -> None:
        with self._lock:
            choices = [c for c in self.can_issue if c in self.prefer] or list(self.can_issue)
        if not choices:
            return  # closed (lunch, evening) or no queues yet
        code = self.rng.choice(choices)
        try:
            ticket = self.client.submit("issue", service=code).result()["ticket"]
        except RequestError as exc:
            self.say("--:--:--", f"issue {code}: {exc}")
            return
        with self._printing:
            self.print_ticket(ticket, code)

    def on_resumed(self, future: RequestFuture) -> None:
        """The answer to a tap made before a restart (or that timed out): print its ticket."""
        try:
            ticket = future.result()["ticket"]
        except RequestError:
            return  # refused (`expired`): nothing was issued for that tap
        with self._printing:
            self.print_ticket(ticket, str(ticket.get("service")))

    def print_ticket(self, ticket: dict[str, Any], code: str) -> None:
        service = self.config.service(str(ticket.get("service")))
        department = self.config.department(service.department) if service else None
        at = hall_time(ticket.get("issued_at"))
        where = (
            f"{ticket.get('number')} {service.name_zh if service else code}, "
            f"{ticket.get('ahead', 0)} ahead (~{ticket.get('est_wait_min', 0)} min)"
        )
        from hardware.errors import HardwareError

        try:
            result = self.printer.print_ticket(
                ticket,
                hall_name=self.config.site.name,
                department_name=department.name_zh if department else "",
                service_name=service.name_zh if service else code,
                ticket_url=self.config.site.ticket_url,
            )
        except HardwareError as exc:
            self.say(at, f"ticket {where}; NOT printed: {exc}")
        else:
            self.printed += 1
            self.say(
                at,
                f"ticket {where}; printed {result.bytes_sent // 1024} KB in {result.seconds:.2f} s",
            )
        self.report_printer()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hallq.demo_kiosk", description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--id", required=True, help="the kiosk (with a printer) to play")
    parser.add_argument("--every", type=float, default=20.0, help="real seconds between tickets")
    parser.add_argument("--seed", type=int)
    parser.add_argument(
        "--prefer",
        action="append",
        default=[],
        metavar="SERVICE",
        help="a service its visitors come for while it can issue (repeatable; default: any)",
    )
    parser.add_argument(
        "--journal", help="folder of its pending tickets (default: ID-pending next to the config)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    loaded = load_config_and_broker(args.config, "demo kiosk")
    if loaded is None:
        return 2
    config, address = loaded
    stopping = stop_on_signals()
    site = config.site.id
    journal = Path(args.journal or Path(args.config).resolve().parent / f"{args.id}-pending")
    client = HallClient.connect(address, site, "kiosk", args.id, wait=None, journal=journal)
    try:
        kiosk = DemoKiosk(config, args.id, client, args.seed, args.prefer)
        client.on_resumed_answer(kiosk.on_resumed)
        client.subscribe_json(topics.queues(site), kiosk.on_queues)
        # The first ticket soon after the hall opens, then one every `--every` seconds.
        wait = min(3.0, args.every)
        while not stopping.wait(wait):
            kiosk.one_ticket()
            wait = args.every
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
