"""Wire to command: every op of the contract, every bad payload, and fuzzing with any bytes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hall.config.schema import HallConfig
from hall.engine.model import (
    AddBooking,
    CallNext,
    CallNumber,
    Cancel,
    CancelBooking,
    Finish,
    ForceLogout,
    Hold,
    IssueTicket,
    Login,
    Logout,
    NoShow,
    Pause,
    QueryTicket,
    Rate,
    Recall,
    Reprint,
    Resume,
    SetNotice,
    SetService,
    Start,
    TransferToService,
    TransferToWindow,
    Unhold,
)
from hall.engine.requests import MAX_PAYLOAD, OPS, Request, RequestError, decode_request
from tests.fixtures.halls import small_hall

CONFIG: HallConfig = small_hall()


def decode(device_class: str, device: str, body: Any) -> Request:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return decode_request(CONFIG, device_class, device, payload)


def fails(device_class: str, device: str, body: Any) -> tuple[str | None, str]:
    with pytest.raises(RequestError) as caught:
        decode(device_class, device, body)
    return caught.value.request_id, caught.value.error.code


GOOD = [
    ("kiosk", "k1", {"op": "issue", "service": "psb-id-card"}, IssueTicket("k1", "psb-id-card")),
    (
        "kiosk",
        "k2",
        {
            "op": "issue",
            "service": "tax-audit",
            "priority": "priority",
            "appointment": "B7F3K2",
            "lang": "en",
        },
        IssueTicket("k2", "tax-audit", "priority", "B7F3K2", "en"),
    ),
    (
        "kiosk",
        "k1",
        {"op": "issue", "service": "psb-id-card", "deadline": "2026-11-26T09:00:30+08:00"},
        IssueTicket(
            "k1", "psb-id-card", deadline=datetime.fromisoformat("2026-11-26T09:00:30+08:00")
        ),
    ),
    ("kiosk", "k1", {"op": "reprint", "ticket": "20261126-A012"}, Reprint("k1", "20261126-A012")),
    (
        "kiosk",
        "k1",
        {"op": "status", "ticket": "20261126-A012"},
        QueryTicket("k1", "20261126-A012"),
    ),
    (
        "window",
        "w05",
        {"op": "login", "clerk": "c0501", "pin": "1234"},
        Login("w05", "c0501", "1234"),
    ),
    ("window", "w05", {"op": "login", "clerk": "c0501"}, Login("w05", "c0501", None)),
    ("window", "w05", {"op": "logout"}, Logout("w05")),
    ("window", "w05", {"op": "call_next"}, CallNext("w05")),
    ("window", "w05", {"op": "call", "number": "A012"}, CallNumber("w05", "A012")),
    ("window", "w05", {"op": "recall"}, Recall("w05")),
    ("window", "w05", {"op": "start"}, Start("w05")),
    ("window", "w05", {"op": "finish"}, Finish("w05")),
    ("window", "w05", {"op": "no_show"}, NoShow("w05")),
    (
        "window",
        "w05",
        {"op": "transfer", "service": "tax-invoice"},
        TransferToService("w05", "tax-invoice"),
    ),
    ("window", "w05", {"op": "transfer", "window": "w01"}, TransferToWindow("w05", "w01")),
    ("window", "w05", {"op": "hold"}, Hold("w05")),
    ("window", "w05", {"op": "unhold", "ticket": "20261126-A012"}, Unhold("w05", "20261126-A012")),
    ("window", "w05", {"op": "pause", "reason": "lunch"}, Pause("w05", "lunch")),
    ("window", "w05", {"op": "pause"}, Pause("w05", None)),
    ("window", "w05", {"op": "resume"}, Resume("w05")),
    (
        "evaluator",
        "e05",
        {"op": "rate", "ticket": "20261126-A012", "score": 5, "reasons": ["热情", "快"]},
        Rate("e05", "20261126-A012", 5, ("热情", "快")),
    ),
    ("evaluator", "e05", {"op": "rate", "ticket": "t", "score": 1}, Rate("e05", "t", 1, ())),
    ("operator", "op1", {"op": "cancel", "ticket": "t"}, Cancel("op1", "t")),
    ("operator", "op1", {"op": "force_logout", "window": "w05"}, ForceLogout("op1", "w05")),
    (
        "operator",
        "op1",
        {"op": "service", "service": "psb-id-card", "open": False},
        SetService("op1", "psb-id-card", open=False),
    ),
    (
        "operator",
        "op1",
        {"op": "service", "service": "psb-id-card", "cap": 120},
        SetService("op1", "psb-id-card", cap=120),
    ),
    (
        "operator",
        "op1",
        {"op": "service", "service": "psb-id-card", "cap": None},
        SetService("op1", "psb-id-card", clear_cap=True),
    ),
    ("operator", "op1", {"op": "notice", "text": "午休"}, SetNotice("op1", "午休")),
    ("operator", "op1", {"op": "notice", "text": None}, SetNotice("op1", "")),
    (
        "operator",
        "op1",
        {
            "op": "booking_add",
            "code": "B7F3K2",
            "service": "tax-audit",
            "day": "2026-11-27",
            "slot": "09:30",
        },
        AddBooking("op1", "B7F3K2", "tax-audit", "2026-11-27", "09:30"),
    ),
    ("operator", "op1", {"op": "booking_cancel", "code": "b7f3k2"}, CancelBooking("op1", "b7f3k2")),
]


@pytest.mark.parametrize(("cls", "device", "body", "command"), GOOD, ids=[str(g[2]) for g in GOOD])
def test_every_op_becomes_its_command(
    cls: str, device: str, body: dict[str, Any], command: object
) -> None:
    request = decode(cls, device, {"v": 1, "id": "r-1", **body})
    assert request == Request("r-1", command, body["op"])  # type: ignore[arg-type]


def test_extra_junk_is_ignored_and_v_is_optional() -> None:
    request = decode("window", "w01", {"id": "x", "op": "call_next", "colour": "blue", "n": [1, 2]})
    assert request.command == CallNext("w01")


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[1,2]",
        b'"id"',
        b"null",
        b"42",
        b"[" * 100_000,
        b"[" * 16_000,
        b"{" * 5000,
    ],
)
def test_not_a_json_object_has_no_id(payload: bytes) -> None:
    assert fails("kiosk", "k1", payload) == (None, "invalid_request")


@pytest.mark.parametrize("bad_id", [None, "", "x" * 65, 7, True, ["a"], {"a": 1}])
def test_a_missing_or_invalid_id_counts_as_missing(bad_id: Any) -> None:
    body: dict[str, Any] = {"op": "call_next"}
    if bad_id is not None:
        body["id"] = bad_id
    assert fails("window", "w01", body) == (None, "invalid_request")


def test_ids_of_1_and_64_characters_are_valid() -> None:
    assert decode("window", "w01", {"id": "a", "op": "call_next"}).request_id == "a"
    assert decode("window", "w01", {"id": "é" * 64, "op": "call_next"}).request_id == "é" * 64


def test_a_huge_payload_is_refused_before_parsing() -> None:
    body = json.dumps({"id": "big", "op": "notice", "text": "x" * MAX_PAYLOAD}).encode()
    assert fails("operator", "op1", body) == (None, "invalid_request")


def test_unknown_devices() -> None:
    assert fails("kiosk", "k9", {"id": "r", "op": "issue", "service": "s"}) == (
        "r",
        "unknown_device",
    )
    # A window id on the kiosk topic is not a kiosk.
    assert fails("kiosk", "w01", {"id": "r", "op": "issue", "service": "s"}) == (
        "r",
        "unknown_device",
    )
    assert fails("display", "d1", {"id": "r", "op": "x"}) == ("r", "unknown_device")


def test_unknown_ops_per_device_class() -> None:
    assert fails("kiosk", "k1", {"id": "r", "op": "call_next"}) == ("r", "unknown_op")
    assert fails("window", "w01", {"id": "r", "op": "issue"}) == ("r", "unknown_op")
    assert fails("operator", "op1", {"id": "r", "op": "issue"}) == ("r", "unknown_op")
    assert fails("evaluator", "e01", {"id": "r", "op": "x" * 10_000})[1] == "unknown_op"
    assert fails("evaluator", "e01", {"id": "r"}) == ("r", "invalid_request")
    assert fails("evaluator", "e01", {"id": "r", "op": 5}) == ("r", "invalid_request")


@pytest.mark.parametrize(
    ("cls", "device", "body"),
    [
        ("kiosk", "k1", {"op": "issue"}),
        ("kiosk", "k1", {"op": "issue", "service": 5}),
        ("kiosk", "k1", {"op": "issue", "service": ""}),
        ("kiosk", "k1", {"op": "issue", "service": "s" * 65}),
        ("kiosk", "k1", {"op": "issue", "service": "s", "priority": "vip"}),
        ("kiosk", "k1", {"op": "issue", "service": "s", "lang": "fr"}),
        ("kiosk", "k1", {"op": "issue", "service": "s", "appointment": 12}),
        ("kiosk", "k1", {"op": "issue", "service": "s", "deadline": "2026-11-26T09:00:30"}),
        ("kiosk", "k1", {"op": "issue", "service": "s", "deadline": "soon"}),
        ("kiosk", "k1", {"op": "issue", "service": "s", "deadline": 1795662192}),
        ("kiosk", "k1", {"op": "reprint"}),
        ("kiosk", "k1", {"op": "status", "ticket": ["a"]}),
        ("window", "w01", {"op": "login"}),
        ("window", "w01", {"op": "login", "clerk": "c0101", "pin": 1234}),
        ("window", "w01", {"op": "call"}),
        ("window", "w01", {"op": "transfer"}),
        ("window", "w01", {"op": "transfer", "service": "s", "window": "w02"}),
        ("window", "w01", {"op": "unhold"}),
        ("window", "w01", {"op": "pause", "reason": "r" * 101}),
        ("evaluator", "e01", {"op": "rate", "ticket": "t"}),
        ("evaluator", "e01", {"op": "rate", "ticket": "t", "score": 6}),
        ("evaluator", "e01", {"op": "rate", "ticket": "t", "score": 0}),
        ("evaluator", "e01", {"op": "rate", "ticket": "t", "score": 4.5}),
        ("evaluator", "e01", {"op": "rate", "ticket": "t", "score": True}),
        ("evaluator", "e01", {"op": "rate", "ticket": "t", "score": "5"}),
        ("evaluator", "e01", {"op": "rate", "ticket": "t", "score": 5, "reasons": "slow"}),
        ("evaluator", "e01", {"op": "rate", "ticket": "t", "score": 5, "reasons": [1]}),
        ("evaluator", "e01", {"op": "rate", "ticket": "t", "score": 5, "reasons": ["a"] * 11}),
        ("operator", "op1", {"op": "cancel"}),
        ("operator", "op1", {"op": "force_logout", "window": 3}),
        ("operator", "op1", {"op": "service", "service": "s"}),
        ("operator", "op1", {"op": "service", "service": "s", "open": "no"}),
        ("operator", "op1", {"op": "service", "service": "s", "cap": -1}),
        ("operator", "op1", {"op": "service", "service": "s", "cap": 10**9}),
        ("operator", "op1", {"op": "notice", "text": "x" * 501}),
        ("operator", "op1", {"op": "notice", "text": 5}),
        ("operator", "op1", {"op": "booking_add"}),
        (
            "operator",
            "op1",
            {"op": "booking_add", "code": "B1", "service": "s", "day": "2026-11-27"},
        ),
        (
            "operator",
            "op1",
            {
                "op": "booking_add",
                "code": "B 1",
                "service": "s",
                "day": "2026-11-27",
                "slot": "09:30",
            },
        ),
        (
            "operator",
            "op1",
            {
                "op": "booking_add",
                "code": "B1",
                "service": "s",
                "day": "27.11.2026",
                "slot": "09:30",
            },
        ),
        (
            "operator",
            "op1",
            {
                "op": "booking_add",
                "code": "B1",
                "service": "s",
                "day": "2026-11-27",
                "slot": "9:30",
            },
        ),
        ("operator", "op1", {"op": "booking_cancel"}),
        ("operator", "op1", {"op": "booking_cancel", "code": "x" * 33}),
        ("kiosk", "k1", {"v": 2, "op": "status", "ticket": "t"}),
        ("kiosk", "k1", {"v": True, "op": "status", "ticket": "t"}),
    ],
)
def test_invalid_requests_keep_their_id(cls: str, device: str, body: dict[str, Any]) -> None:
    assert fails(cls, device, {"id": "r7", **body}) == ("r7", "invalid_request")


def test_every_op_of_the_contract_is_decoded() -> None:
    contract = {
        "kiosk": {"issue", "reprint", "status", "help"},
        "window": {
            "login", "logout", "call_next", "call", "recall", "start", "finish", "no_show",
            "transfer", "hold", "unhold", "pause", "resume", "close_case",
        },
        "evaluator": {"rate"},
        "operator": {
            "cancel", "force_logout", "service", "notice", "booking_add", "booking_cancel",
            "alarm_ack", "alarm_note", "close_case",
        },
    }  # fmt: skip
    assert {cls: set(ops) for cls, ops in OPS.items()} == contract


# -- fuzzing: nothing but Request or RequestError, whatever arrives ---------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=80),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)
ops = st.sampled_from(sorted({op for table in OPS.values() for op in table} | {"x"}))
fields = st.sampled_from(
    ["service", "ticket", "clerk", "pin", "number", "window", "reason", "score", "reasons", "open",
     "cap", "text", "priority", "appointment", "lang", "v"]
)  # fmt: skip
requests = st.fixed_dictionaries(
    {"id": st.one_of(st.text(max_size=70), json_values), "op": st.one_of(ops, json_values)},
    optional={"x": json_values},
).flatmap(
    lambda base: st.dictionaries(fields, json_values, max_size=6).map(lambda f: {**base, **f})
)
devices = st.sampled_from(
    [("kiosk", "k1"), ("kiosk", "k2"), ("window", "w01"), ("evaluator", "e01"), ("operator", "op1"),
     ("kiosk", "nobody"), ("display", "d1"), ("bridge", "b1")]
)  # fmt: skip


def _decode_anything(device: tuple[str, str], payload: bytes) -> None:
    try:
        request = decode_request(CONFIG, device[0], device[1], payload)
    except RequestError as exc:
        assert exc.error.code in {"invalid_request", "unknown_op", "unknown_device"}
        assert exc.request_id is None or 1 <= len(exc.request_id) <= 64
    else:
        assert 1 <= len(request.request_id) <= 64


@given(devices, st.binary(max_size=300))
def test_any_bytes_give_a_request_or_a_request_error(
    device: tuple[str, str], payload: bytes
) -> None:
    _decode_anything(device, payload)


@given(devices, requests)
def test_any_json_object_gives_a_request_or_a_request_error(
    device: tuple[str, str], body: dict[str, Any]
) -> None:
    _decode_anything(device, json.dumps(body).encode())


# -- text that no screen, store or printer should get -------------------------------------------

TEXT_FIELDS = [
    ("kiosk", "k1", {"op": "issue"}, "service"),
    ("kiosk", "k1", {"op": "issue", "service": "psb-id-card"}, "appointment"),
    ("kiosk", "k1", {"op": "status"}, "ticket"),
    ("kiosk", "k1", {"op": "reprint"}, "ticket"),
    ("window", "w01", {"op": "login", "pin": "1"}, "clerk"),
    ("window", "w01", {"op": "login", "clerk": "c0101"}, "pin"),
    ("window", "w01", {"op": "call"}, "number"),
    ("window", "w01", {"op": "transfer"}, "service"),
    ("window", "w01", {"op": "transfer"}, "window"),
    ("window", "w01", {"op": "unhold"}, "ticket"),
    ("window", "w01", {"op": "pause"}, "reason"),
    ("operator", "op1", {"op": "cancel"}, "ticket"),
    ("operator", "op1", {"op": "force_logout"}, "window"),
    ("operator", "op1", {"op": "service", "open": False}, "service"),
    ("operator", "op1", {"op": "notice"}, "text"),
    ("operator", "op1", {"op": "booking_add", "code": "B1", "day": "2026-11-27", "slot": "09:30"}, "service"),
    ("operator", "op1", {"op": "booking_cancel"}, "code"),
]  # fmt: skip


@pytest.mark.parametrize(("cls", "device", "body", "key"), TEXT_FIELDS)
@pytest.mark.parametrize(
    "bad",
    [
        *(r"a\ud800b", r"\udfff", r"a\u0000b", r"a\u001bb", r"a\nb", r"\u007f", r"a\tb"),
        # Issue 13, fault 5: these passed before (only C0 and DEL were refused).
        *(r"a\u2028b", r"a\u2029b", r"a\u0085b", r"a\u009b2J", r"a\u202eb", r"\u2066a\u2069"),
    ],
)
def test_text_fields_refuse_lone_surrogates_and_control_characters(
    cls: str, device: str, body: dict[str, Any], key: str, bad: str
) -> None:
    # Written as JSON escapes, as a device would send them: json.loads makes the lone surrogate.
    payload = json.dumps({"id": "r9", **body}).encode()[:-1] + f', "{key}": "{bad}"}}'.encode()
    assert json.loads(payload)[key]  # the payload itself is valid JSON
    assert fails(cls, device, payload) == ("r9", "invalid_request")


def test_rating_reasons_refuse_lone_surrogates_and_controls() -> None:
    for bad in (r"\ud800", r"a\u0007", r"a\u202eb", r"a\u2028b"):
        payload = (
            '{"id":"r","op":"rate","ticket":"t","score":5,"reasons":["ok","' + bad + '"]}'
        ).encode()
        assert fails("evaluator", "e01", payload) == ("r", "invalid_request")


def test_chinese_text_and_spaces_pass() -> None:
    request = decode(
        "operator", "op1", {"id": "r", "op": "notice", "text": "今日 12:00-13:30 午休"}
    )
    assert request.command == SetNotice("op1", "今日 12:00-13:30 午休")
