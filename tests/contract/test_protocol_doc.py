"""docs/protocol.md is the whole contract: it states every error code and topic itself, and no
file of the project points to a contract outside the repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

from contract.protocol import ERROR_CODES

ROOT = Path(__file__).resolve().parents[2]
SOURCES = (".py", ".md", ".sh", ".toml", ".service", ".timer", ".conf", ".cfg", ".txt")
DOC = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = DOC.index(f"\n{title}\n")
    end = DOC.find("\n#", start + len(title) + 2)
    return DOC[start : end if end != -1 else None]


def test_every_error_code_is_explained() -> None:
    table = section("### Error codes")
    for code in ERROR_CODES:
        assert f"`{code}`" in table, code


def test_every_topic_is_in_the_topics_table() -> None:
    table = section("## Topics")
    for topic in [
        "kiosk/{id}/req", "window/{id}/req", "evaluator/{id}/req", "operator/{id}/req",
        "window/{id}/state", "window/{id}/rating", "calls", "board", "catalog", "queues", "alarm",
        "clock", "status/{client}", "device/{id}/health",
    ]:  # fmt: skip
        assert f"`{topic}`" in table, topic


def test_nothing_points_outside_the_repository() -> None:
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in files:
        path = ROOT / name
        if name == "tests/contract/test_protocol_doc.py" or path.suffix not in SOURCES:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for outside in ("PROTOCOL.md", "STACK-NOTES", "/work/shared"):
            assert outside not in text, f"{name} points to {outside}"
