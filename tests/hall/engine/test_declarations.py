"""Each op and each event is declared once, and each declaration is whole (issue 12).

An op is a row of `hall.engine.requests.OPS` (name, device class, parser, command types, handler): the
decoder and the engine's dispatch read it; here it is held to the contract's requests, to
docs/protocol.md and to the engine. An event is its class in hall/engine/model.py (TYPE and fields: its
codec) and its applier in hall/engine/apply.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest

from contract.messages import requests as rq
from hall.engine.apply import APPLIERS
from hall.engine.engine import HALL_COMMANDS, HANDLERS
from hall.engine.errors import HallError
from hall.engine.handlers.common import check_device
from hall.engine.model import EVENT_TYPES, CallEvent, Command, Event, event_from_dict, event_to_dict
from hall.engine.requests import OPS, Op
from tests.contract.test_messages_docs import json_blocks
from tests.fixtures.events import sample_event
from tests.fixtures.halls import small_hall

DOC = Path(__file__).resolve().parents[3] / "docs" / "protocol.md"
ALL_OPS = [op for by_name in OPS.values() for op in by_name.values()]
COMMANDS = set(get_args(Command))


def test_the_ops_are_the_contracts() -> None:
    assert {d: set(by_name) for d, by_name in OPS.items()} == {
        d: set(by_op) for d, by_op in rq.REQUESTS.items()
    }
    for device, by_name in OPS.items():
        assert all(op.device == device and op.name == name for name, op in by_name.items())


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda op: f"{op.device}-{op.name}")
def test_each_op_is_whole_and_documented(op: Op[Any]) -> None:
    assert callable(op.parse) and callable(op.handler)
    assert op.commands and set(op.commands) <= COMMANDS
    assert all(HANDLERS[command] is op.handler for command in op.commands)
    examples = [
        body for _, name, body in json_blocks(DOC.read_text()) if name == f"request {op.name}"
    ]
    assert examples, f"docs/protocol.md has no '#### request {op.name}' example"
    for body in examples:  # the documented request parses to one of the op's commands
        assert isinstance(op.parse("dev-1", json.loads(body)), op.commands)


def test_every_command_has_one_handler() -> None:
    by_ops = [command for op in ALL_OPS for command in op.commands]
    # one op may be open to two device classes (close_case: a window's clerk or an operator), a
    # row each with its own parser; its command still has one name and one handler
    makers = {(command, op.name, op.handler) for op in ALL_OPS for command in op.commands}
    assert len(makers) == len(set(by_ops)), "a command made by two ops"
    assert set(by_ops).isdisjoint(HALL_COMMANDS)
    assert set(HANDLERS) == COMMANDS == set(by_ops) | set(HALL_COMMANDS)


@pytest.mark.parametrize("cls", [c for c in get_args(Event) if c is not CallEvent], ids=str)
def test_each_event_has_a_type_an_applier_and_a_codec(cls: type) -> None:
    name = vars(cls)["TYPE"]
    assert EVENT_TYPES[name] is cls
    assert cls in APPLIERS
    event = sample_event(cls)
    data = json.loads(json.dumps(event_to_dict(event)))
    assert data["type"] == name and event_from_dict(data) == event


def test_no_applier_without_an_event() -> None:
    assert set(APPLIERS) == set(EVENT_TYPES.values())


def test_one_table_of_devices() -> None:
    config = small_hall()
    table = config.device_classes()
    assert {f"{c}s": [d for d, dc in table.items() if dc == c] for c in set(table.values())} == {
        plural: ids for plural, ids in config.devices().items() if ids
    }
    assert config.has_device("kiosk", "k1") and not config.has_device("window", "k1")
    assert config.device_class("w01") == "window" and config.device_class("nobody") is None
    check_device(config, "operator", "op1")
    with pytest.raises(HallError) as refused:
        check_device(config, "operator", "k1")
    assert refused.value.code == "unknown_device"
    # A copy with other devices has its own table (pydantic copies the lookups as they were).
    fewer = config.model_copy(update={"kiosks": config.kiosks[:1]})
    assert fewer.has_device("kiosk", "k1") and not fewer.has_device("kiosk", "k2")
    assert config.has_device("kiosk", "k2")
