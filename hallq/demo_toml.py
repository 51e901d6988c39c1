"""Writing a hall config back as TOML, so the demo can run the example hall with its own wiring.

The demo changes a few values of an example config (each bus's serial port becomes a pseudo-terminal
the demo made, a kiosk gets the emulated printer) and hands the result to every process as an
ordinary config file. The standard library reads TOML but does not write it; a hall config only
holds tables, arrays of tables, strings, numbers, booleans, dates and times, so this small writer
is enough: `tomllib.loads(dumps(data)) == data` for every config (tests/demo/test_demo_toml.py).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def value(item: Any) -> str:
    """One TOML value on one line (tables become inline tables)."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int):
        return str(item)
    if isinstance(item, float):
        if math.isnan(item):
            return "nan"
        if math.isinf(item):
            return "inf" if item > 0 else "-inf"
        return repr(item)
    if isinstance(item, str):
        return _string(item)
    if isinstance(item, datetime | date | time):  # datetime before date: it is one
        return item.isoformat()
    if isinstance(item, dict):
        inner = ", ".join(f"{_key(str(k))} = {value(v)}" for k, v in item.items())
        return f"{{ {inner} }}" if inner else "{}"
    if isinstance(item, list | tuple):
        return "[" + ", ".join(value(v) for v in item) + "]"
    raise TypeError(f"no TOML form for {type(item).__name__}: {item!r}")


def _is_table_array(item: Any) -> bool:
    return isinstance(item, list) and bool(item) and all(isinstance(v, dict) for v in item)


def dumps(data: dict[str, Any]) -> str:
    """A TOML document for `data`: top-level values first, then one `[table]` per dict and one
    `[[table]]` per element of a list of dicts; anything deeper is written inline."""
    lines: list[str] = []
    tables: list[str] = []
    for key, item in data.items():
        if isinstance(item, dict):
            tables.append("")
            tables.append(f"[{_key(key)}]")
            tables += [f"{_key(str(k))} = {value(v)}" for k, v in item.items()]
        elif _is_table_array(item):
            for element in item:
                tables.append("")
                tables.append(f"[[{_key(key)}]]")
                tables += [f"{_key(str(k))} = {value(v)}" for k, v in element.items()]
        else:
            lines.append(f"{_key(key)} = {value(item)}")
    return "\n".join(lines + tables).lstrip("\n") + "\n"
