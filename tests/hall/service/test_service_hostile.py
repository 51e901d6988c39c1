"""10,000 generated malformed or hostile payloads over every kind of request topic: the hall answers
each where it can, never stops, and the queue state is unchanged. Then the store failing under it."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract import topics
from contract.client import RequestRefused
from contract.mqtt_url import parse_url
from contract.transport import Message, PahoTransport
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import wait_for
from tests.fixtures.halls import SITE
from tests.hall.service.test_service import Hall, Watcher, running_hall

TOTAL = 10_000
CHUNK = 500  # in flight at once: under Mosquitto's default per-client queue of 1000

OPS = {
    "kiosk": ["issue", "reprint", "status"],
    "window": ["login", "logout", "call_next", "call", "recall", "start", "finish", "no_show",
               "transfer", "hold", "unhold", "pause", "resume"],
    "evaluator": ["rate"],
    "operator": ["cancel", "force_logout", "service", "booking_add", "booking_cancel", "notice"],
}  # fmt: skip
FIELDS = ["service", "ticket", "clerk", "pin", "number", "window", "reason", "score", "reasons",
          "open", "cap", "code", "day", "slot", "text", "priority", "appointment", "lang"]  # fmt: skip
# Ops that need fields, and those fields. (A notice's text is free text: kept out of the junk, as
# `logout`, `recall` and the like are: with junk fields ignored they would be valid commands.)
NEEDS = {
    "kiosk": {"issue": ["service"], "reprint": ["ticket"], "status": ["ticket"]},
    "window": {"login": ["clerk"], "call": ["number"], "unhold": ["ticket"], "transfer": ["service"]},
    "evaluator": {"rate": ["ticket", "score"]},
    "operator": {"cancel": ["ticket"], "force_logout": ["window"], "service": ["service"],
                 "booking_cancel": ["code"]},
}  # fmt: skip
CONTROL = "".join(chr(c) for c in range(32)) + "\x7f\u202e\ufeff\ud800"


def _junk(rng: random.Random) -> Any:
    """A value of the wrong type or shape for any field."""
    choice = rng.randrange(10)
    if choice == 0:
        return rng.randint(-(2**70), 2**70)
    if choice == 1:
        return rng.random() * 1e308
    if choice == 2:
        return None
    if choice == 3:
        return [rng.randrange(5)] * rng.randrange(4)
    if choice == 4:
        return {"$gt": ""}
    if choice == 5:
        return "".join(rng.choice(CONTROL) for _ in range(rng.randrange(1, 20)))
    if choice == 6:
        return "x" * rng.choice([1000, 70_000])
    if choice == 7:
        return rng.choice([True, False])
    if choice == 8:
        return "../../etc/passwd'; DROP TABLE tickets; --"
    return "不存在的" + str(rng.randrange(1000))


def hostile(rng: random.Random, device_class: str, n: int) -> tuple[bytes, bool]:
    """One hostile payload, and whether it carries a valid id (so its answer echoes it)."""
    rid = f"h{n}"
    kind = n % 12
    if kind == 0:  # not JSON at all
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64))), False
    if kind == 1:  # JSON, not an object
        return json.dumps(rng.choice([[1, 2], "issue", 42, None, True])).encode(), False
    if kind == 2:  # no id, or an id that is not one
        bad_id = rng.choice([None, "", 7, ["x"], "x" * 65, {"id": 1}])
        body: dict[str, Any] = {"v": 1, "op": rng.choice(OPS[device_class])}
        if bad_id is not None:
            body["id"] = bad_id
        return json.dumps(body).encode(), False
    if kind == 3:  # unknown op, or another class's op
        other = rng.choice([o for c, ops in OPS.items() if c != device_class for o in ops])
        op = rng.choice(["", "ISSUE", "drop_tables", "__class__", other, "x" * 500])
        if op in OPS[device_class]:
            op = "nope"
        return json.dumps({"v": 1, "id": rid, "op": op}).encode(), True
    if kind == 4:  # the op is not a string
        return json.dumps({"v": 1, "id": rid, "op": _junk(rng)}).encode(), True
    if kind == 5:  # an op that needs fields, each of the wrong type, plus junk
        op = rng.choice(list(NEEDS[device_class]))
        body = {"v": 1, "id": rid, "op": op}
        for name in rng.sample(FIELDS, rng.randrange(0, 4)):
            body[name] = _junk(rng)
        for name in NEEDS[device_class][op]:
            body[name] = _junk(rng)
        body.pop("priority", None)
        return json.dumps(body).encode(), True
    if kind == 6:  # control characters and lone surrogates in every field it needs
        op = rng.choice(list(NEEDS[device_class]))
        text = "".join(rng.choice(CONTROL) for _ in range(30))
        body = {"v": 1, "id": rid, "op": op, **{name: text for name in NEEDS[device_class][op]}}
        raw = json.dumps(body, ensure_ascii=rng.random() < 0.5)
        return raw.encode("utf-8", "surrogatepass"), True
    if kind == 7:  # a huge string
        size = rng.choice([10_000, 100_000, 1_000_000]) if n % 97 == 7 else 5_000
        return json.dumps({"v": 1, "id": rid, "op": "issue", "service": "A" * size}).encode(), True
    if kind == 8:  # deep nesting
        depth = rng.choice([100, 1000, 50_000])
        return (
            b'{"v":1,"id":"' + rid.encode() + b'","op":' + b"[" * depth + b"]" * depth + b"}"
        ), True
    if kind == 9:  # truncated JSON
        whole = json.dumps({"v": 1, "id": rid, "op": rng.choice(OPS[device_class])}).encode()
        return whole[: rng.randrange(1, len(whole))], False
    if kind == 10:  # an op without the fields it needs
        op = rng.choice(list(NEEDS[device_class]))  # (a notice without text clears it: valid)
        return json.dumps({"v": 1, "id": rid, "op": op}).encode(), True
    # kind 11: a wrong contract version and a duplicate key
    return (b'{"v":99,"id":"' + rid.encode() + b'","op":"issue","op":7,"service":null}'), True


def devices() -> list[tuple[str, str]]:
    return [
        ("kiosk", "k1"), ("kiosk", "k2"), ("kiosk", "k404"),
        ("window", "w01"), ("window", "w05"), ("window", "w99"),
        ("evaluator", "e01"), ("evaluator", "e03"), ("evaluator", "k1"),
        ("operator", "op1"), ("operator", "w01"),
    ]  # fmt: skip


@pytest.fixture
def hall(broker: Broker, tmp_path: Path) -> Iterator[Hall]:
    with running_hall(broker, tmp_path / "data") as running:
        yield running


def test_ten_thousand_hostile_payloads(hall: Hall, broker: Broker) -> None:
    # Some real state first, so "unchanged" means something: an open window with a called ticket.
    hall.open_window("w01", "c0101")
    for _ in range(3):
        hall.issue()
    hall.window("w01").request("call_next")
    hall.service.wait_idle()
    before = hall.core.engine.snapshot()

    answers: dict[str, list[bytes]] = {}
    lock = threading.Lock()

    def on_answer(message: Message) -> None:
        with lock:
            answers.setdefault(message.topic, []).append(message.payload)

    listener = PahoTransport(parse_url(broker.url), "answers")
    listener.subscribe(f"hallq/{SITE}/+/+/resp", on_answer)
    listener.start(wait=5)
    sender = PahoTransport(parse_url(broker.url), "attacker", max_inflight=CHUNK)
    sender.start(wait=5)
    rng = random.Random(20261126)
    targets = devices()
    sent: dict[str, int] = {}
    with_id = 0
    started = time.monotonic()
    for chunk_start in range(0, TOTAL, CHUNK):
        for n in range(chunk_start, min(TOTAL, chunk_start + CHUNK)):
            device_class, device_id = targets[n % len(targets)]
            payload, has_id = hostile(rng, device_class, n)
            with_id += has_id
            topic = topics.request(SITE, device_class, device_id)
            sender.publish(topic, payload, qos=1)
            resp = topics.response(SITE, device_class, device_id)
            sent[resp] = sent.get(resp, 0) + 1
        expected = min(TOTAL, chunk_start + CHUNK)
        assert wait_for(lambda e=expected: sum(len(v) for v in answers.values()) >= e, 30), (  # type: ignore[misc]
            f"{sum(len(v) for v in answers.values())} answers of {expected}"
        )
    elapsed = time.monotonic() - started
    print(f"\n{TOTAL} hostile payloads answered in {elapsed:.1f} s ({TOTAL / elapsed:.0f}/s)")
    # Every payload answered on its own device's topic, each a refusal, none a success.
    assert {t: len(v) for t, v in answers.items()} == sent
    parsed = [json.loads(p) for v in answers.values() for p in v]
    accepted = [a for a in parsed if a["ok"] is not False or a["v"] != 1]
    assert not accepted, accepted[:5]
    codes = {a["error"]["code"] for a in parsed}
    assert codes <= {"invalid_request", "unknown_op", "unknown_device", "unknown_service",
                     "unknown_ticket", "unknown_clerk", "unknown_window", "no_current_ticket",
                     "already_logged_in", "not_logged_in", "invalid_transition", "unknown_booking",
                     "forbidden", "not_rateable", "queue_empty"}, codes  # fmt: skip
    assert "storage_error" not in codes
    # Queue state unchanged; the hall still serves.
    assert hall.core.engine.snapshot() == before
    sender.stop()
    listener.stop()
    assert hall.issue()["number"] == "A004"
    assert hall.service.transport.connected


def test_a_failing_store_answers_storage_error_and_raises_an_alarm(
    hall: Hall, broker: Broker
) -> None:
    watcher = Watcher(broker, topics.alarm(SITE), "alarms")
    try:
        hall.issue()
        hall.service.wait_idle()
        store = hall.core.store
        full = store.set_max_page_count(store.page_count())  # no room for one more page
        kiosk = hall.kiosk()
        refusals = []
        for _ in range(30):  # fill until a transaction needs a new page
            try:
                kiosk.request("issue", service="psb-id-card", ticket="x" * 2000)
            except RequestRefused as refused:
                refusals.append(refused.code)
                break
        assert refusals == ["storage_error"]
        assert wait_for(lambda: bool(watcher.json(topics.alarm(SITE))))
        alarm = watcher.json(topics.alarm(SITE))[0]
        assert alarm["kind"] == "storage_error" and alarm["severity"] == "critical"
        assert alarm["cleared"] is False
        assert [a.id for a in hall.service.open_alarms()] == [alarm["id"]]  # issue 19: retained
        store.set_max_page_count(full * 100)
        ticket = hall.issue()  # the hall goes on once the store has room
        assert ticket["status"] == "waiting"
        assert wait_for(lambda: len(watcher.json(topics.alarm(SITE))) == 2)
        assert watcher.json(topics.alarm(SITE))[1]["cleared"] is True
        assert watcher.json(topics.alarm(SITE))[1]["id"] == alarm["id"]  # one id, raised to cleared
        assert wait_for(lambda: hall.service.open_alarms() == [])
    finally:
        watcher.stop()
    assert hall.client("kiosk", "k2").connected


def test_a_request_that_breaks_the_core_is_contained(hall: Hall, broker: Broker) -> None:
    # A lone surrogate is valid JSON (an escape) but cannot be encoded back into an answer.
    hall.issue()
    hall.service.wait_idle()
    before = hall.core.engine.snapshot()
    watcher = Watcher(broker, topics.response(SITE, "operator", "op1"), "op-answers")
    try:
        op = hall.client("operator", "op1")
        bad = b'{"v":1,"id":"sur-1","op":"notice","text":"\\ud800"}'
        good = b'{"v":1,"id":"ok-1","op":"status","ticket":"nope"}'
        for payload in (bad, good, bad):  # in one batch, around a good one
            op.transport.publish(topics.operator_req(SITE, "op1"), payload, qos=1)
        assert wait_for(lambda: len(watcher.on(topics.response(SITE, "operator", "op1"))) == 3)
        answers = watcher.json(topics.response(SITE, "operator", "op1"))
        assert all(a["ok"] is False for a in answers)
        assert sorted(a["error"]["code"] for a in answers).count("invalid_request") >= 2
        assert hall.core.engine.snapshot() == before
        assert hall.issue()["number"] == "A002"
    finally:
        watcher.stop()
