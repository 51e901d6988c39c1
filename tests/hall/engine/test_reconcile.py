"""A config changed between two starts (issue 13, fault 4): the hall reconciles today's stored state
with it at start, recording each change in the event log. Before the fix a window taken out of the
config kept its called ticket (`called` for ever, out of every queue), a removed service's tickets
waited for ever, and a prefix moved to another department gave numbers a second time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contract import topics
from hall.config.schema import HallConfig, parse_config
from hall.store.clock import FixedClock
from hall.store.core import HallCore, Incoming, Outcome
from tests.fixtures.broker import Broker
from tests.fixtures.hall_server import HallServer, to_toml, wait_for
from tests.fixtures.halls import ALWAYS_OPEN, MORNING, SITE, small_hall, small_hall_data


def req(device_class: str, device: str, rid: str, op: str, **fields: Any) -> Incoming:
    body = json.dumps({"v": 1, "id": rid, "op": op, **fields}, ensure_ascii=False)
    return Incoming(device_class, device, body.encode())


def ok(outcome: Outcome) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(outcome.replies[0].payload)
    assert body["ok"], body
    result: dict[str, Any] = body["result"]
    return result


def config(change: Any) -> HallConfig:
    data = {**small_hall_data(), "calendar": ALWAYS_OPEN}
    change(data)
    return parse_config(data, "changed")


def without_w02(data: dict[str, Any]) -> None:
    data["windows"] = [w for w in data["windows"] if w["id"] != "w02"]
    data["evaluators"] = [e for e in data["evaluators"] if e["window"] != "w02"]


def types(core: HallCore) -> list[str]:
    return [e["type"] for _, _, e in core.store.events()]


def test_a_removed_windows_tickets_go_back_to_their_place_in_line(tmp_path: Path) -> None:
    clock = FixedClock(MORNING)
    with HallCore(small_hall(), tmp_path, clock) as core:
        tickets = [
            ok(core.execute([req("kiosk", "k1", f"i{i}", "issue", service="psb-id-card")]))
            for i in range(4)
        ]
        ok(core.execute([req("window", "w01", "l", "login", clerk="c0101", pin="1234")]))
        ok(core.execute([req("window", "w02", "l", "login", clerk="c0201")]))
        ok(core.execute([req("window", "w02", "c1", "call_next")]))  # A001, then held
        ok(core.execute([req("window", "w02", "h1", "hold")]))
        ok(core.execute([req("window", "w02", "c2", "call_next")]))  # A002 stays called
        ok(core.execute([req("window", "w01", "c3", "call_next")]))  # A003, sent on to w02
        ok(core.execute([req("window", "w01", "t", "transfer", window="w02")]))
    with HallCore(config(without_w02), tmp_path, clock) as core:
        state = core.engine.state
        assert "w02" not in state.windows
        for ticket in tickets[:3]:
            t = state.tickets[ticket["ticket"]["id"]]
            assert (t.status, t.window, t.reason) == ("waiting", None, "config_removed")
        assert types(core)[-4:] == ["ticket_returned"] * 3 + ["window_removed"]
        called = ok(core.execute([req("window", "w01", "c", "call_next")]))
        assert called["ticket"]["number"] == "A001"  # its place in line: issued first
    with HallCore(config(without_w02), tmp_path, clock) as core:
        assert types(core).count("window_removed") == 1  # reconciled once, not at every start


def test_a_removed_services_waiting_tickets_are_cancelled_with_a_reason(tmp_path: Path) -> None:
    clock = FixedClock(MORNING)
    with HallCore(small_hall(), tmp_path, clock) as core:
        issued = ok(core.execute([req("kiosk", "k1", "i", "issue", service="tax-register")]))

    def drop_register(data: dict[str, Any]) -> None:
        data["services"] = [s for s in data["services"] if s["code"] != "tax-register"]
        data["windows"][2]["tiers"] = [["tax-invoice"], ["tax-audit"]]

    with HallCore(config(drop_register), tmp_path, clock) as core:
        status = ok(
            core.execute([req("kiosk", "k1", "s", "status", ticket=issued["ticket"]["id"])])
        )
        assert status["ticket"]["status"] == "cancelled"
        assert status["ticket"]["reason"] == "config_removed"


def test_a_prefix_moved_to_another_department_repeats_no_number(tmp_path: Path) -> None:
    clock = FixedClock(MORNING)
    with HallCore(small_hall(), tmp_path, clock) as core:
        for i in range(3):  # A001..A003 (psb)
            ok(core.execute([req("kiosk", "k1", f"a{i}", "issue", service="psb-id-card")]))
        ok(core.execute([req("kiosk", "k1", "b", "issue", service="tax-invoice")]))  # B001

    def swap(data: dict[str, Any]) -> None:  # psb gets C, tax takes A
        data["departments"][0]["prefix"] = "C"
        data["departments"][1]["prefix"] = "A"

    with HallCore(config(swap), tmp_path, clock) as core:
        given = ok(core.execute([req("kiosk", "k1", "t", "issue", service="tax-invoice")]))
        assert given["ticket"]["number"] == "A004"
        assert "numbering_advanced" in types(core)


def test_the_server_clears_the_retained_topics_of_a_removed_window(
    broker: Broker, tmp_path: Path
) -> None:
    from contract.client import HallClient
    from contract.mqtt_url import parse_url

    data = small_hall_data()
    data["broker"] = {"url": broker.url, "keepalive": 10}
    path = tmp_path / "hall.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    server = HallServer(broker.url, SITE, path, tmp_path / "data", tmp_path / "hall.log")
    address = parse_url(broker.url)
    try:
        server.start()
        with HallClient.connect(address, SITE, "window", "w02") as w02:
            w02.request("login", clerk="c0201", timeout=5)
        server.terminate()
        without_w02(data)
        path.write_text(to_toml(data), encoding="utf-8")
        server.start()
        state = topics.window_state(SITE, "w02")
        assert wait_for(lambda: _retained(address, state) == b"", 10)
        assert "window w02: removed" in server.log.read_text()
    finally:
        server.close()


def _retained(address: Any, topic: str) -> bytes:
    """What a newcomer gets retained on `topic` (b"" for nothing)."""
    from contract.transport import Message, PahoTransport

    got: list[bytes] = []
    reader = PahoTransport(address, f"test-reader-{id(got):x}")

    def keep(message: Message) -> None:
        got.append(message.payload)

    reader.subscribe(topic, keep)
    reader.start(wait=10)
    reader.subscribe("hallq/none/sentinel", keep, wait=5)  # retained of the first came before
    reader.stop()
    return got[-1] if got else b""


def test_check_config_with_data_lists_what_the_change_will_do(tmp_path: Path) -> None:
    import io

    from hall.tools.config_cli import check_config

    with HallCore(small_hall(), tmp_path / "data", FixedClock(MORNING)) as core:
        ok(core.execute([req("window", "w02", "l", "login", clerk="c0201")]))
        ok(core.execute([req("kiosk", "k1", "i", "issue", service="psb-id-card")]))
        ok(core.execute([req("window", "w02", "c", "call_next")]))
        data = {**small_hall_data(), "calendar": ALWAYS_OPEN}
        without_w02(data)
        path = tmp_path / "hall.toml"
        path.write_text(to_toml(data), encoding="utf-8")
        out, err = io.StringIO(), io.StringIO()
        # The server still runs (its store is open): check-config only reads.
        assert (
            check_config(["--config", str(path), "--data", str(tmp_path / "data")], out, err) == 0
        )
        said = out.getvalue()
        assert "2 change(s)" in said, said
        assert "ticket A001 (called at window w02): back in line" in said
        assert "window w02: removed" in said
        assert "window_removed" not in types(core)  # nothing was applied
