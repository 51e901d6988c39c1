"""The storage alarm (issue 13, fault 2). Before the fix, with the disk still full, `storage_error`
went out `cleared:true` about a second after each failure: every timer run that wrote nothing
counted as the store working again. Now the alarm clears only when a batch was really committed,
and `status` is answered from memory while the disk is full (not stored)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from contract import topics
from hall.store.clock import FixedClock
from tests.fixtures.hall_server import wait_for
from tests.fixtures.halls import SITE, small_hall
from tests.hall.service.loopback_hall import LoopbackHall
from tests.hall.service.test_service import START


def storage_alarms(hall: LoopbackHall) -> list[bool]:
    """`cleared` of each storage_error alarm, in order."""
    alarms = [json.loads(p) for p in hall.published(topics.alarm(SITE))]
    return [a["cleared"] for a in alarms if a["kind"] == "storage_error"]


def test_the_alarm_stays_up_until_a_batch_is_really_stored(tmp_path: Path) -> None:
    hall = LoopbackHall(small_hall(), tmp_path / "data", FixedClock(START), queues_interval=0.3)
    try:
        hall.service.tick_interval = 0.05  # timers run 20 times a second
        kiosk, operator = hall.client("kiosk", "k1"), hall.client("operator", "op1")
        ticket = kiosk.request("issue", service="psb-id-card")["ticket"]
        store = hall.core.store
        store.set_max_page_count(store.page_count())
        codes = []
        for n in range(50):  # notices of ~1 kB until the disk is full
            answer = operator.request_answer("notice", text=f"{n}系统维护" * 100)
            codes.append(answer.get("error", {}).get("code"))
            if codes[-1] == "storage_error":
                break
        assert codes[-1] == "storage_error", codes
        time.sleep(1.0)  # ~20 timer runs with nothing to write
        assert storage_alarms(hall) == [False]  # raised once, never cleared while the disk is full
        status = kiosk.request_answer("status", ticket=ticket["id"])
        assert status["ok"] and status["result"]["ticket"]["status"] == "waiting", status
        assert storage_alarms(hall) == [False]
        store.set_max_page_count(1_000_000)
        assert kiosk.request("issue", service="psb-id-card")["ticket"]["number"] == "A002"
        assert wait_for(lambda: storage_alarms(hall) == [False, True], 5)
    finally:
        hall.close()


def test_status_is_answered_from_memory_when_the_batch_cannot_be_stored(tmp_path: Path) -> None:
    from hall.store.core import HallCore, Incoming

    def req(device_class: str, device: str, rid: str, op: str, **fields: object) -> Incoming:
        body = json.dumps({"v": 1, "id": rid, "op": op, **fields}, ensure_ascii=False)
        return Incoming(device_class, device, body.encode())

    with HallCore(small_hall(), tmp_path / "data", FixedClock(START)) as core:
        issued = core.execute([req("kiosk", "k1", "i0", "issue", service="psb-id-card")])
        ticket = json.loads(issued.replies[0].payload)["result"]["ticket"]["id"]
        core.store.set_max_page_count(core.store.page_count())
        batch = [
            req("kiosk", "k1", "s1", "status", ticket=ticket),
            req("operator", "op1", "n1", "notice", text="系统维护" * 100),
            *(req("kiosk", "k1", f"i{n}", "issue", service="psb-id-card") for n in range(1, 40)),
            req("kiosk", "k2", "s2", "status", ticket=ticket),  # after the batch's changes
        ]
        outcome = core.execute(batch)
        assert outcome.storage_failed and not outcome.committed
        first = json.loads(outcome.replies[0].payload)
        assert first["ok"] and first["result"]["ticket"]["status"] == "waiting"
        assert not outcome.replies[0].stored
        codes = {json.loads(r.payload)["error"]["code"] for r in outcome.replies[1:]}
        assert codes == {"storage_error"}  # the last status saw uncommitted changes: not given
