"""The generated ACL on a real Mosquitto: every denial next to a positive control that arrives.

The `hall` account reads everything of its site, so it observes what the broker let through.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contract import topics
from tests.broker.conftest import Probe, SecuredHall, token

pytestmark = pytest.mark.broker


@pytest.fixture
def hall(secured: SecuredHall) -> Iterator[Probe]:
    with secured.probe("hall") as observer:
        observer.subscribe(f"{topics.root(secured.site)}/#")
        yield observer


def refused_then_control(
    actor: Probe, observer: Probe, denied: list[str], control: str
) -> list[tuple[str, bytes]]:
    """The actor publishes on each denied topic, then on `control`: the control arrives, no
    denied message does. Returns what arrived."""
    marks = {topic: token("denied") for topic in denied}
    for topic, payload in marks.items():
        actor.publish(topic, payload)
    proof = token("control")
    actor.publish(control, proof)
    seen = observer.until(control, proof)
    leaked = [(t, p) for t, p in seen if marks.get(t) == p]
    assert not leaked, f"the broker let through {leaked}"
    return seen


def test_display_cannot_issue_or_call_while_a_kiosk_can(secured: SecuredHall, hall: Probe) -> None:
    site = secured.site
    with secured.probe("screen-hall") as display:
        refused_then_control(
            display,
            hall,
            denied=[topics.kiosk_req(site, "k01"), topics.window_req(site, "w001")],
            control=topics.device_health(site, "screen-hall"),
        )
    with secured.probe("k01") as kiosk:
        issue = token("issue")
        kiosk.publish(topics.kiosk_req(site, "k01"), issue)
        hall.until(topics.kiosk_req(site, "k01"), issue)


def test_display_publishes_its_own_status_and_health_only(
    secured: SecuredHall, hall: Probe
) -> None:
    site = secured.site
    with secured.probe("screen-hall") as display:
        refused_then_control(
            display,
            hall,
            denied=[topics.status(site, "k01"), topics.device_health(site, "k01")],
            control=topics.status(site, "screen-hall"),
        )
        health = token("health")
        display.publish(topics.device_health(site, "screen-hall"), health)
        hall.until(topics.device_health(site, "screen-hall"), health)


def test_terminal_acts_for_its_own_window_only(secured: SecuredHall, hall: Probe) -> None:
    site = secured.site
    with secured.probe("w001") as terminal:
        refused_then_control(
            terminal,
            hall,
            denied=[topics.window_req(site, "w002"), topics.operator_req(site, "op-1")],
            control=topics.window_req(site, "w001"),
        )


def test_bridge_acts_for_its_windows_only(secured: SecuredHall, hall: Probe) -> None:
    site = secured.site
    with secured.probe("keypad-1") as bridge:
        seen = refused_then_control(
            bridge,
            hall,
            denied=[topics.window_req(site, w) for w in ("w003", "w004", "w005", "w006")],
            control=topics.window_req(site, "w002"),
        )
        assert [t for t, _ in seen] == [topics.window_req(site, "w002")]
        call = token("call")
        bridge.publish(topics.window_req(site, "w001"), call)
        hall.until(topics.window_req(site, "w001"), call)


def test_evaluator_and_operator_write_only_their_own_requests(
    secured: SecuredHall, hall: Probe
) -> None:
    site = secured.site
    with secured.probe("e001") as evaluator:
        refused_then_control(
            evaluator,
            hall,
            denied=[topics.evaluator_req(site, "e002"), topics.window_req(site, "w001")],
            control=topics.evaluator_req(site, "e001"),
        )
    with secured.probe("op-1") as operator:
        refused_then_control(
            operator,
            hall,
            denied=[topics.window_req(site, "w001"), topics.kiosk_req(site, "k01")],
            control=topics.operator_req(site, "op-1"),
        )


@pytest.mark.parametrize("device", ["k01", "w001", "e001", "screen-hall", "keypad-1", "op-1"])
def test_no_device_writes_hall_state(secured: SecuredHall, hall: Probe, device: str) -> None:
    site = secured.site
    with secured.probe(device) as actor:
        refused_then_control(
            actor,
            hall,
            denied=[
                topics.window_state(site, "w001"),
                topics.window_rating(site, "w001"),
                topics.calls(site),
                topics.board(site),
                topics.catalog(site),
                topics.queues(site),
                topics.alarm(site),
                topics.status(site, "hall"),
                topics.response(site, "kiosk", "k01"),
            ],
            control=topics.device_health(site, device),
        )


def test_hall_writes_state_that_a_display_reads(secured: SecuredHall, hall: Probe) -> None:
    site = secured.site
    with secured.probe("screen-hall") as display:
        display.subscribe(f"{topics.root(site)}/#")  # granted, but it gets only what it may read
        answer, state, call = token("answer"), token("state"), token("call")
        hall.publish(topics.response(site, "kiosk", "k01"), answer)
        hall.publish(topics.window_state(site, "w001"), state)
        hall.publish(topics.calls(site), call)
        seen = display.until(topics.calls(site), call)
        assert (topics.window_state(site, "w001"), state) in seen
        assert all(p != answer for _, p in seen)  # another device's answer is not its to read


def test_a_kiosk_reads_its_own_answers_only(secured: SecuredHall, hall: Probe) -> None:
    site = secured.site
    with secured.probe("k01") as k01, secured.probe("k02") as k02:
        k01.subscribe(f"{topics.root(site)}/kiosk/+/resp")
        k02.subscribe(f"{topics.root(site)}/kiosk/+/resp")
        k02.subscribe(topics.catalog(site))
        for_k01, catalog = token("for-k01"), token("catalog")
        hall.publish(topics.response(site, "kiosk", "k01"), for_k01)
        hall.publish(topics.catalog(site), catalog)
        k01.until(topics.response(site, "kiosk", "k01"), for_k01)
        seen = k02.until(topics.catalog(site), catalog)
        assert all(p != for_k01 for _, p in seen)


def test_wrong_password_unknown_user_and_anonymous_are_refused(secured: SecuredHall) -> None:
    right = secured.probe("k01")
    assert right.connect()  # the positive control
    right.close()
    wrong = secured.probe("k01", secured.passwords["k01"] + "x")
    assert not wrong.connect()
    assert wrong.connack is not None and wrong.connack.is_failure
    wrong.close()
    other = secured.probe("k01", secured.passwords["k02"])  # another device's password
    assert not other.connect()
    other.close()
    stranger = secured.probe("k99", "whatever")
    assert not stranger.connect()
    stranger.close()
    anonymous = secured.probe(None)
    assert not anonymous.connect()
    anonymous.close()


def test_no_device_can_take_over_the_halls_session(secured: SecuredHall, hall: Probe) -> None:
    # The broker makes the user name the client id, so a kiosk claiming client id "hall" does not
    # disconnect the hall server.
    site = secured.site
    with secured.probe("k01", client_id="hall") as impostor:
        proof = token("after")
        impostor.publish(topics.kiosk_req(site, "k01"), proof)
        hall.until(topics.kiosk_req(site, "k01"), proof)
    assert hall.client.is_connected()


def test_the_method_sees_a_message_that_gets_through(secured: SecuredHall, hall: Probe) -> None:
    # The hall may write window state: the same check must then report a leak, or every
    # denial above would prove nothing.
    site = secured.site
    with secured.probe("op-1") as operator:
        operator.subscribe(topics.all_window_states(site))
        with pytest.raises(AssertionError, match="let through"):
            refused_then_control(
                hall,
                operator,
                denied=[topics.window_state(site, "w006")],
                control=topics.window_state(site, "w005"),
            )


def test_a_device_reads_its_own_settings_only(secured: SecuredHall, hall: Probe) -> None:
    """Each device's settings topic: the hall writes it, only that device reads it, no device
    writes any (docs/protocol.md "Device settings")."""
    site = secured.site
    with secured.probe("k01") as k01, secured.probe("keypad-1") as bridge:
        k01.subscribe(topics.all_device_settings(site))  # granted, but only its own arrives
        bridge.subscribe(topics.device_settings(site, "k01"))  # another device's: nothing
        bridge.subscribe(topics.device_settings(site, "keypad-1"))
        for_k01, for_bridge = token("settings-k01"), token("settings-bridge")
        hall.publish(topics.device_settings(site, "k01"), for_k01)
        hall.publish(topics.device_settings(site, "keypad-1"), for_bridge)
        seen_by_k01 = k01.until(topics.device_settings(site, "k01"), for_k01)
        seen_by_bridge = bridge.until(topics.device_settings(site, "keypad-1"), for_bridge)
        assert all(p != for_bridge for _, p in seen_by_k01)
        assert all(p != for_k01 for _, p in seen_by_bridge)
        # k01 published the bridge's settings: dropped; its health (the control) arrives
        refused_then_control(
            k01,
            hall,
            denied=[topics.device_settings(site, "keypad-1"), topics.device_settings(site, "k01")],
            control=topics.device_health(site, "k01"),
        )


def test_the_cases_reach_operators_and_windows_only(secured: SecuredHall, hall: Probe) -> None:
    """The retained `cases` (issue 21): the hall writes it; operators and window terminals read
    it; a display does not, and no device writes it."""
    site = secured.site
    with (
        secured.probe("op-1") as operator,
        secured.probe("w001") as window,
        secured.probe("screen-hall") as display,
    ):
        for reader in (operator, window, display):
            reader.subscribe(topics.cases(site))
        display.subscribe(topics.catalog(site))
        cases, catalog = token("cases"), token("catalog")
        hall.publish(topics.cases(site), cases)
        hall.publish(topics.catalog(site), catalog)
        operator.until(topics.cases(site), cases)
        window.until(topics.cases(site), cases)
        seen = display.until(topics.catalog(site), catalog)
        assert all(t != topics.cases(site) for t, _ in seen)
        for actor, device in ((operator, "op-1"), (window, "w001")):
            refused_then_control(
                actor, hall, denied=[topics.cases(site)], control=topics.device_health(site, device)
            )
