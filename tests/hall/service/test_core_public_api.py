"""The service (and the metrics it feeds) use the core through its public methods only (issue 12):
no `core.engine`, `core.store`, `core.devices`, nothing private, no `getattr` on the core. Read from
the source, so a new reach-in fails here rather than in a review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
USERS = ("hall/service/service.py", "hall/service/metrics.py")
THE_CORES_OWN = {"engine", "store", "devices"}


def reach_ins(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute | ast.Name):
            holder = node.value.attr if isinstance(node.value, ast.Attribute) else node.value.id
            if holder in ("core", "_core") and (
                node.attr in THE_CORES_OWN or node.attr.startswith("_")
            ):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif (
            isinstance(node, ast.Call)
            and ast.unparse(node.func) == "getattr"
            and node.args
            and ast.unparse(node.args[0]).endswith("core")
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("user", USERS)
def test_the_core_is_used_through_its_public_methods(user: str) -> None:
    assert reach_ins((ROOT / user).read_text(encoding="utf-8")) == []


def test_a_reach_in_is_seen() -> None:
    source = (
        "self.core.engine.queues(now)\n"
        "self.core.store.mark_published(done)\n"
        "getattr(self.core, '_rebuild', None)\n"
        "core._since_snapshot\n"
    )
    assert len(reach_ins(source)) == 4
