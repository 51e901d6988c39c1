"""A ticket transferred to a window that is closed (issue 13, fault 8): it says so, with no estimate."""

from __future__ import annotations

from pathlib import Path

from hall.store.clock import FixedClock
from hall.store.core import HallCore
from tests.fixtures.halls import MORNING, small_hall
from tests.hall.engine.test_reconcile import ok, req


def test_a_ticket_transferred_to_a_closed_window_gets_no_false_estimate(tmp_path: Path) -> None:
    # Issue 13, fault 8: it said `ahead 0, est_wait_min 0` while nobody could call it.
    with HallCore(small_hall(), tmp_path, FixedClock(MORNING)) as core:
        ok(core.execute([req("kiosk", "k1", "i", "issue", service="psb-id-card")]))
        ok(core.execute([req("window", "w01", "l", "login", clerk="c0101", pin="1234")]))
        called = ok(core.execute([req("window", "w01", "c", "call_next")]))
        ticket = called["ticket"]["id"]
        ok(core.execute([req("window", "w01", "t", "transfer", window="w02")]))  # w02 is closed
        waiting = ok(core.execute([req("kiosk", "k1", "s", "status", ticket=ticket)]))["ticket"]
        assert waiting["window"] == "w02" and waiting["window_status"] == "closed"
        assert waiting["est_wait_min"] is None
        ok(core.execute([req("window", "w02", "l", "login", clerk="c0201")]))
        waiting = ok(core.execute([req("kiosk", "k1", "s2", "status", ticket=ticket)]))["ticket"]
        assert "window_status" not in waiting and waiting["est_wait_min"] == 0
