"""The machinery of the typed messages: one base class, one exception, JSON in and out.

Each message is a frozen dataclass (slots, keyword-only) that subclasses `Wire`. Its fields, in
declaration order, are the payload's keys in the order the hall publishes them; `from_json` reads
them by their type hints and `to_json` writes them back, so `to_json(from_json(x)) == x` for every
payload the hall publishes, key order included. Keys the class does not know are ignored (the
contract may add fields); anything else that is wrong raises `PayloadError` and nothing else.

Field metadata: `{"wire": "from"}` names a key that is not a Python name; TIME checks an ISO 8601
time with an offset; OMIT leaves the key out of `to_json` when the value is None (keys the hall
writes only sometimes: `result.ticket`, a request's options); LOCAL keeps a field off the wire.
"""

from __future__ import annotations

import json
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields, is_dataclass
from datetime import datetime
from typing import Any, ClassVar, Self

from contract.protocol import VERSION, dumps

__all__ = ["LOCAL", "OMIT", "TIME", "PayloadError", "Wire", "join_path", "load_json"]


class PayloadError(ValueError):
    """A payload that is not the message it should be: `kind.path: problem`."""

    def __init__(self, kind: str, path: str, problem: str) -> None:
        where = f"{kind}.{path}" if path else kind
        super().__init__(f"{where}: {problem}")
        self.kind = kind
        self.path = path
        self.problem = problem


# Field metadata, as `field(metadata=TIME)` and so on.
TIME = {"time": True}  # an ISO 8601 time with the hall's offset, kept as the exact text published
OMIT = {"omit": True}  # an optional key: absent on the wire when None, None when absent
LOCAL = {"local": True}  # a field of the Python object only: never read from or written to the wire


def load_json(kind: str, payload: bytes | str) -> Any:
    """JSON text to a value, or PayloadError (bytes that are not UTF-8 JSON)."""
    try:
        return json.loads(payload, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise PayloadError(kind, "", f"not JSON ({exc})") from None


def _no_constant(name: str) -> Any:
    # Python reads NaN and Infinity, which are not JSON: no hall sends them, no device may print them.
    raise ValueError(f"{name} is not a JSON number")


# -- decoding and encoding by type hint ---------------------------------------------------------

_Decoder = Callable[[str, str, Any], Any]  # (kind, path, value) -> value
_Encoder = Callable[[Any], Any] | None  # None: the value is already JSON


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _scalar(tp: type | tuple[type, ...], name: str) -> _Decoder:
    def decode(kind: str, path: str, value: Any) -> Any:
        if isinstance(value, bool) and tp is not bool:  # JSON true is not the number 1
            raise PayloadError(kind, path, f"expected {name}, got a boolean")
        if not isinstance(value, tp):
            raise PayloadError(kind, path, f"expected {name}, got {_describe(value)}")
        return value

    return decode


_decode_str = _scalar(str, "a string")
_decode_bool = _scalar(bool, "true or false")
_decode_int = _scalar(int, "a whole number")
_decode_number = _scalar((int, float), "a number")


def _decode_float(kind: str, path: str, value: Any) -> Any:
    number = _decode_number(kind, path, value)
    if not math.isfinite(number):  # from a dict built in Python; JSON text has none
        raise PayloadError(kind, path, f"expected a finite number, got {number}")
    return number


def _decode_any(kind: str, path: str, value: Any) -> Any:
    return value


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return {**names, int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _codec(tp: Any) -> tuple[_Decoder, _Encoder]:
    """The decoder and encoder of one type hint."""
    if tp is Any:
        return _decode_any, None
    if tp is str:
        return _decode_str, None
    if tp is bool:
        return _decode_bool, None
    if tp is int:
        return _decode_int, None
    if tp is float:  # the number as published: 60.0 stays 60.0, 6 stays 6
        return _decode_float, None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1 or len(args) != 2:
            raise TypeError(f"only X | None unions are wire types: {tp}")
        decode_inner, encode_inner = _codec(inner[0])

        def decode_optional(kind: str, path: str, value: Any) -> Any:
            return None if value is None else decode_inner(kind, path, value)

        if encode_inner is None:
            return decode_optional, None
        encode = encode_inner
        return decode_optional, lambda value: None if value is None else encode(value)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        decode_item, encode_item = _codec(args[0])

        def decode_list(kind: str, path: str, value: Any) -> Any:
            if not isinstance(value, list):
                raise PayloadError(kind, path, f"expected a list, got {_describe(value)}")
            return tuple(decode_item(kind, f"{path}[{i}]", item) for i, item in enumerate(value))

        if encode_item is None:
            return decode_list, list
        each = encode_item
        return decode_list, lambda value: [each(item) for item in value]
    if origin in (dict, Mapping) and args and args[0] is str:
        decode_value, encode_value = _codec(args[1])

        def decode_mapping(kind: str, path: str, value: Any) -> Any:
            if not isinstance(value, dict):
                raise PayloadError(kind, path, f"expected an object, got {_describe(value)}")
            return {k: decode_value(kind, join_path(path, k), v) for k, v in value.items()}

        if encode_value is None:
            return decode_mapping, dict
        each_value = encode_value
        return decode_mapping, lambda value: {k: each_value(v) for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, Wire):
        cls = tp

        def decode_object(kind: str, path: str, value: Any) -> Any:
            return cls._read(kind, path, value)

        return decode_object, lambda value: value.to_json()
    raise TypeError(f"not a wire type: {tp!r}")


def _without_none(tp: Any) -> Any:
    """X for `X | None`, else the type itself."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return inner[0] if len(inner) == 1 else tp
    return tp


def _is_wire(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Wire)


@dataclass(frozen=True, slots=True)
class _Field:
    name: str  # the attribute
    key: str  # the JSON key
    decode: _Decoder
    encode: _Encoder
    required: bool
    omit: bool
    time: bool
    nested: bool  # a Wire object (or None): written by its own to_json
    optional: bool  # may be None


_NO_VALUE: Any = object()


class Wire:
    """Base of every typed message (a frozen dataclass with slots and keyword-only fields)."""

    __slots__ = ()
    KIND: ClassVar[str] = ""  # the name in error messages: "calls", "board", "answer" ...
    VERSIONED: ClassVar[bool] = False  # a topic's payload: "v": 1 first, checked when read

    @classmethod
    def _layout(cls) -> tuple[_Field, ...]:
        layout = cls.__dict__.get("_wire_layout")
        if layout is None:
            assert is_dataclass(cls), f"{cls.__name__} must be a dataclass"
            hints = typing.get_type_hints(cls)
            built = []
            for f in fields(cls):
                if f.metadata.get("local"):
                    continue
                decode, encode = _codec(hints[f.name])
                required = f.default is MISSING and f.default_factory is MISSING
                built.append(
                    _Field(
                        f.name,
                        f.metadata.get("wire", f.name),
                        decode,
                        encode,
                        required,
                        bool(f.metadata.get("omit")),
                        bool(f.metadata.get("time")),
                        _is_wire(_without_none(hints[f.name])),
                        _without_none(hints[f.name]) is not hints[f.name],
                    )
                )
            layout = tuple(built)
            type.__setattr__(cls, "_wire_layout", layout)
        return typing.cast(tuple[_Field, ...], layout)

    @classmethod
    def from_json(cls, obj: Any) -> Self:
        """The message in a decoded JSON value; PayloadError if it is not one."""
        return cls._read(cls.KIND or cls.__name__, "", obj)

    @classmethod
    def from_bytes(cls, payload: bytes | str) -> Self:
        """The message in a payload as received; PayloadError if it is not one."""
        kind = cls.KIND or cls.__name__
        return cls._read(kind, "", load_json(kind, payload))

    @classmethod
    def _read(cls, kind: str, path: str, obj: Any) -> Self:
        if not isinstance(obj, dict):
            raise PayloadError(kind, path, f"expected an object, got {_describe(obj)}")
        if cls.VERSIONED:
            version = obj.get("v", _NO_VALUE)
            if version is _NO_VALUE:
                raise PayloadError(kind, join_path(path, "v"), "missing")
            if type(version) is not int or version != VERSION:
                raise PayloadError(
                    kind, join_path(path, "v"), f"contract version {VERSION} expected"
                )
        values: dict[str, Any] = {}
        for f in cls._layout():
            where = join_path(path, f.key)
            value = obj.get(f.key, _NO_VALUE)
            if value is _NO_VALUE:
                if f.required:
                    raise PayloadError(kind, where, "missing")
                continue
            value = f.decode(kind, where, value)
            if f.time and value is not None:
                _check_time(kind, where, value)
            values[f.name] = value
        return cls._build(kind, path, values)

    @classmethod
    def _build(cls, kind: str, path: str, values: dict[str, Any]) -> Self:
        """Make the object from decoded fields (its __post_init__ checks what types cannot say)."""
        try:
            return cls(**values)
        except PayloadError as bad:
            raise PayloadError(kind, join_path(path, bad.path), bad.problem) from None

    def to_json(self) -> dict[str, Any]:
        """The payload as the hall publishes it (a dict in the published key order)."""
        cls = type(self)
        write = _WRITERS.get(cls) or _writer(cls)
        return write(self)

    def to_bytes(self) -> bytes:
        """The payload's bytes: the contract's one encoding (contract.protocol.dumps)."""
        return dumps(self.to_json())


_WRITERS: dict[type[Wire], Callable[[Any], dict[str, Any]]] = {}


def _writer(cls: type[Wire]) -> Callable[[Any], dict[str, Any]]:
    """The `to_json` of one class, written out as Python source and compiled once (as the
    dataclasses module makes `__init__`): `to_json` builds every call and board the hall
    publishes, and a dict display is several times faster than a loop over the fields."""
    namespace: dict[str, Any] = {}
    entries: list[tuple[str, str, str | None]] = []  # (key, expression, omitted when this is None)
    if cls.VERSIONED:
        entries.append((repr("v"), repr(VERSION), None))
    for i, f in enumerate(cls._layout()):
        value = f"self.{f.name}"
        if f.encode is None:
            expression = value
        elif f.nested:
            expression = f"{value}.to_json()"
        else:
            namespace[f"encode_{i}"] = f.encode
            expression = f"encode_{i}({value})"
        if f.encode is not None and f.optional:
            expression = f"(None if {value} is None else {expression})"
        entries.append((repr(f.key), expression, value if f.omit else None))
    if not any(omit for _, _, omit in entries):
        body = ["    return {" + ", ".join(f"{k}: {e}" for k, e, _ in entries) + "}"]
    else:
        body = ["    out = {}"]
        for key, expression, omit in entries:
            guard = f"if {omit} is not None: " if omit else ""
            body.append(f"    {guard}out[{key}] = {expression}")
        body.append("    return out")
    exec("\n".join(["def to_json(self):", *body]), namespace)  # our own source, from the fields
    write: Callable[[Any], dict[str, Any]] = namespace["to_json"]
    _WRITERS[cls] = write
    return write


def _check_time(kind: str, path: str, value: str) -> None:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError(kind, path, f"not an ISO 8601 time: {value[:40]!r}") from None
    if at.tzinfo is None:
        raise PayloadError(kind, path, f"a time needs the hall's offset: {value[:40]!r}")
