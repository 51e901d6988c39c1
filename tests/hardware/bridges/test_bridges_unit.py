"""The bridges with a fake hall link (no broker): config checks, health, periodic refresh, and the
keypad's request worker retrying under one id."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bridge_rig import hall_data

from contract import topics
from contract.client import RequestTimeout
from hall.config.schema import ConfigError, HallConfig, parse_config
from hardware.bridges.common import setup_from_config
from hardware.bridges.keypad_bridge import KeypadBridge
from hardware.bridges.led_bridge import LedBridge
from hardware.emulators.keypad_bus import KeypadBusEmulator
from hardware.emulators.led_bus import LedBusEmulator
from hardware.errors import ConfigurationError
from hardware.keypad.frame import Key
from hardware.serial_port import ReconnectingPort
from tests.fixtures.hall_server import wait_for
from tests.fixtures.halls import SITE


class FakeHall:
    """Records subscriptions and health; answers requests with `answer(op, id, fields)`."""

    def __init__(self) -> None:
        self.callbacks: dict[str, Callable[[str, dict[str, Any] | None], None]] = {}
        self.health: list[tuple[str, Any]] = []
        self.requests: list[tuple[str, str | None, dict[str, Any]]] = []
        self.answer: Callable[[str, str | None, dict[str, Any]], dict[str, Any]] = (
            lambda op, rid, f: {"v": 1, "id": rid, "ok": True, "result": {}}
        )
        self.lock = threading.Lock()

    def subscribe_json(self, topic_filter: str, callback: Any, wait: float | None = None) -> None:
        self.callbacks[topic_filter] = callback

    def publish_health(self, state: str, detail: Any = None) -> None:
        with self.lock:
            self.health.append((state, detail))

    def request_answer(
        self, op: str, *, request_id: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        fields = {k: v for k, v in kw.items() if k not in ("timeout", "retries", "device")}
        with self.lock:
            self.requests.append((op, request_id, fields))
        return self.answer(op, request_id, fields)

    def state(self, window: str, state: dict[str, Any]) -> None:
        topic = topics.window_state(SITE, window)
        self.callbacks[topic](topic, state)


def config_for(tmp_path: Path, **bus_changes: Any) -> HallConfig:
    data = hall_data(tmp_path, "mqtt://127.0.0.1:1883")  # never connected: the hall link is fake
    for bridge in data["bridges"]:
        bridge["bus"].update(bus_changes.get(bridge["id"], {}))
    return parse_config(data, "test")


def test_setup_from_config_checks_kind_bus_and_windows(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    bridge = setup_from_config(config, "led-gb", "led")
    bus = bridge.bus
    assert bus.protocol == "gb-frame" and bridge.windows == ["w01", "w05"]
    with pytest.raises(ConfigurationError, match="no bridge 'x'"):
        setup_from_config(config, "x", "led")
    with pytest.raises(ConfigurationError, match="hallq keypad-bridge"):
        setup_from_config(config, "keypads", "led")
    # A board of a window the bridge does not act for is refused when the config loads.
    with pytest.raises(ConfigError, match=r"bus.boards\[0\].window: 'w03' is not one of"):
        config_for(tmp_path, **{"led-gb": {"boards": [{"address": 1, "window": "w03"}]}})


@pytest.fixture
def led(tmp_path: Path) -> Iterator[tuple[LedBridge, LedBusEmulator, FakeHall]]:
    config = config_for(tmp_path, **{"led-gb": {"refresh_seconds": 0.3}})
    emulator = LedBusEmulator(tmp_path / "led-gb")
    emulator.start()
    hall = FakeHall()
    led_bridge = LedBridge(setup_from_config(config, "led-gb", "led"), hall)
    led_bridge.start()
    yield led_bridge, emulator, hall
    led_bridge.stop()
    emulator.stop()


def test_boards_are_refreshed_and_health_follows_the_port(
    led: tuple[LedBridge, LedBusEmulator, FakeHall],
) -> None:
    _, emulator, hall = led
    hall.state("w05", {"status": "paused", "window": {"id": "w05"}})
    assert emulator.wait_for(5, lambda s: s.text == "暂停服务", 3)
    assert wait_for(lambda: sum(s.text == "暂停服务" for _, s in emulator.history(5)) >= 3, 3)
    assert wait_for(lambda: hall.health[-1] == ("ok", {"1": "unknown", "5": "unknown"}), 3)
    emulator.unplug()
    assert wait_for(lambda: hall.health[-1][0] == "offline", 3)
    emulator.plug()
    assert wait_for(lambda: hall.health[-1][0] == "ok", 3)


def test_a_bus_that_is_there_at_start_is_never_reported_offline(tmp_path: Path) -> None:
    """The first health a bridge publishes follows its port's first attempt: `ok` for a bus that
    is there (no `offline` flap at start), `offline` for one that is not."""
    config = config_for(tmp_path)
    led_emulator = LedBusEmulator(tmp_path / "led-gb")
    led_emulator.start()
    keypad_emulator = KeypadBusEmulator(tmp_path / "keypads", [5, 6])
    keypad_emulator.start()
    led_hall, keypad_hall = FakeHall(), FakeHall()
    led_bridge = LedBridge(setup_from_config(config, "led-gb", "led"), led_hall)
    keypad_bridge = KeypadBridge(setup_from_config(config, "keypads", "keypad"), keypad_hall)
    try:
        led_bridge.start()
        keypad_bridge.start()
        assert wait_for(lambda: bool(led_hall.health) and bool(keypad_hall.health), 5)
        assert led_hall.health[0][0] == "ok" and keypad_hall.health[0][0] == "ok"
    finally:
        led_bridge.stop()
        keypad_bridge.stop()
        led_emulator.stop()
        keypad_emulator.stop()
    # No bus at all: `offline` once, right after the first attempt, not again at each retry.
    absent_hall = FakeHall()
    absent = LedBridge(setup_from_config(config, "led-gb", "led"), absent_hall)
    absent.start()
    try:
        assert wait_for(lambda: bool(absent_hall.health), 5)
        assert absent_hall.health[0][0] == "offline"
        assert not wait_for(lambda: len(absent_hall.health) > 1, 1.5)
    finally:
        absent.stop()


def test_keypad_request_is_retried_under_one_id_until_answered(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    emulator = KeypadBusEmulator(tmp_path / "keypads", [5, 6])
    emulator.start()
    hall = FakeHall()
    attempts: list[str | None] = []

    def down_then_up(op: str, rid: str | None, fields: dict[str, Any]) -> dict[str, Any]:
        attempts.append(rid)
        if len(attempts) < 3:
            raise RequestTimeout(op, str(rid), 1, 0.01)
        window = {"status": "open", "ticket": {"number": "A007"}}
        return {"v": 1, "id": rid, "ok": True, "result": {"window": window}}

    hall.answer = down_then_up
    keypads = KeypadBridge(setup_from_config(config, "keypads", "keypad"), hall)
    keypads.start()
    try:
        assert wait_for(lambda: keypads.port.is_open, 3)
        emulator.press(5, Key.CALL)
        assert emulator.wait_display(5, lambda t: t.strip() == "007", 5)
        assert len(attempts) == 3 and len(set(attempts)) == 1
        assert [op for op, _, _ in hall.requests] == ["call_next"] * 3
        assert keypads.answered[0][1] == "call_next"
        assert wait_for(lambda: hall.health[-1] == ("ok", {"5": "ok", "6": "unknown"}), 3)
    finally:
        keypads.stop()
        emulator.stop()


def test_window_states_never_write_to_the_port_in_pahos_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A state message arrives in paho's network thread: the bridges only queue it there, and
    their own thread writes to the port."""
    writers: list[str] = []
    real_write = ReconnectingPort.write

    def recording_write(port: ReconnectingPort, data: bytes) -> bool:
        writers.append(threading.current_thread().name)
        return real_write(port, data)

    monkeypatch.setattr(ReconnectingPort, "write", recording_write)
    config = config_for(tmp_path)
    boards = LedBusEmulator(tmp_path / "led-gb")
    keypad_bus = KeypadBusEmulator(tmp_path / "keypads", [5, 6])
    boards.start()
    keypad_bus.start()
    hall = FakeHall()
    led = LedBridge(setup_from_config(config, "led-gb", "led"), hall)
    keypads = KeypadBridge(setup_from_config(config, "keypads", "keypad"), hall)
    led.start()
    keypads.start()
    try:
        assert wait_for(lambda: led.port.is_open and keypads.port.is_open, 3)
        assert wait_for(lambda: boards.wait_for(5, lambda s: s.text == "欢迎光临", 0), 3)
        opened = len(writers)

        def as_paho() -> None:
            hall.state("w05", {"status": "paused", "window": {"id": "w05"}})
            ticket = {"id": "t1", "number": "A042", "status": "called"}
            hall.state("w01", {"status": "open", "window": {"id": "w01"}, "ticket": ticket})

        paho = threading.Thread(target=as_paho, name="paho-mqtt-client-bridges")
        paho.start()
        paho.join()
        assert boards.wait_for(5, lambda s: s.text == "暂停服务", 3)
        assert keypad_bus.wait_display(5, lambda t: t.strip() == "042", 3)
        after = writers[opened:]
        assert after and "paho-mqtt-client-bridges" not in after
        assert {"led-gb boards", "keypads states"} <= set(after), after
    finally:
        led.stop()
        keypads.stop()
        boards.stop()
        keypad_bus.stop()


def test_a_write_that_fails_in_tcdrain_marks_the_port_broken_and_raises_nothing() -> None:
    """A pty whose other end went away makes flush() raise termios.error, which is no OSError:
    uncaught, it ended the thread that draws every board (seen under load in the full suite)."""
    import termios

    class Drained:
        def write(self, data: bytes) -> int:
            return len(data)

        def flush(self) -> None:
            raise termios.error(5, "Input/output error")

    port = ReconnectingPort.__new__(ReconnectingPort)
    port.name, port._lock, port._broken = "test", threading.Lock(), False
    port._serial = Drained()  # type: ignore[assignment]
    assert port.write(b"\x01") is False
    assert port._broken
