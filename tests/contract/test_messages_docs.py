"""Every JSON example of docs/protocol.md parses with the type its heading names (contract/messages).

A block is named by the nearest line above it that is not blank: a heading (`#### calls`,
`#### request issue`, `#### answer issue`, `#### refusal`) or `<!-- message: NAME -->`. A block
without a name, a name without a type, or an example the type refuses fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from contract import messages as m
from contract.messages import requests as rq
from contract.protocol import ERROR_CODES, dumps

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
NAME = re.compile(r"^(?:#+\s*(?P<heading>.+?)|<!--\s*message:\s*(?P<comment>.+?)\s*-->)\s*$")
OPS = {op: cls for by_op in rq.REQUESTS.values() for op, cls in by_op.items()}


def json_blocks(text: str) -> list[tuple[int, str | None, str]]:
    """(line number, name or None, the block's text) of every ```json block."""
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```json":
            start = i
            name = None
            above = i - 1
            while above >= 0 and not lines[above].strip():
                above -= 1
            found = NAME.match(lines[above].strip()) if above >= 0 else None
            if found:
                name = (found["heading"] or found["comment"]).replace("`", "").strip()
            i += 1
            body = []
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            blocks.append((start + 1, name, "\n".join(body)))
        i += 1
    return blocks


def check(name: str, value: Any) -> Any:
    """Parse one example as the type `name` says; what it parsed to."""
    if name in m.PUBLISHED:
        return m.parse(name, value)
    kind, _, op = name.partition(" ")
    if kind == "request" and op in OPS:
        request_id, request = m.decode_request(OPS[op].DEVICE, value)
        assert dumps(request.to_json(request_id)) == dumps(value), "keys a request does not have"
        return request
    if kind == "answer" and op in m.RESULTS:
        answer = m.Answer.from_json(value)
        assert answer.ok, f"an answer to {op} that is a refusal: name it `refusal`"
        return m.result_of(op, answer)
    if name == "refusal":
        answer = m.Answer.from_json(value)
        assert not answer.ok and answer.error is not None
        assert answer.error.code in ERROR_CODES
        return answer
    raise AssertionError(
        f"no type is named {name!r}: use a topic ({', '.join(sorted(m.PUBLISHED))}), "
        "`request OP`, `answer OP` or `refusal`"
    )


BLOCKS = json_blocks(DOC.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("line", "name", "text"), BLOCKS, ids=[f"line{b[0]}" for b in BLOCKS])
def test_each_example_parses_with_its_type(line: int, name: str | None, text: str) -> None:
    assert name, (
        f"docs/protocol.md:{line}: a JSON block needs a name on the line above it: a heading "
        "(#### calls, #### request issue, #### answer issue, #### refusal) or <!-- message: NAME -->"
    )
    assert "…" not in text, f"docs/protocol.md:{line}: write the example out in full"
    value = json.loads(text)
    parsed = check(name, value)
    if name in m.PUBLISHED or name == "refusal":  # as the hall writes it, key order included
        assert dumps(parsed.to_json()) == dumps(value), f"docs/protocol.md:{line}: not as published"


def test_every_payload_kind_and_op_has_an_example() -> None:
    names = {name for _, name, _ in BLOCKS}
    wanted = set(m.PUBLISHED) - {"answer"}
    wanted |= {f"request {op}" for op in OPS} | {f"answer {op}" for op in OPS} | {"refusal"}
    assert wanted <= names, sorted(wanted - names)


def test_the_reader_finds_names_and_refuses_unnamed_blocks() -> None:
    text = "#### calls\n\n```json\n{}\n```\nprose\n```json\n[]\n```\n"
    assert [(n, t) for _, n, t in json_blocks(text)] == [("calls", "{}"), (None, "[]")]
    with pytest.raises(AssertionError, match="no type is named"):
        check("ticket object", {})
