"""The journal of pending requests: one file per request, atomic, resumed in order, junk set aside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contract.journal import MAX_AGE, Entry, Journal


def entry(request_id: str, written: float = 1000.0) -> Entry:
    payload = json.dumps({"v": 1, "id": request_id, "op": "issue", "service": "身份证"}).encode()
    return Entry(request_id, "issue", ("kiosk", "k1"), payload, written)


def test_written_read_back_and_removed(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "pending")
    journal.write(entry("b", 2000.0))
    journal.write(entry("a", 1000.0))
    assert [e.request_id for e in journal.entries(now=2001.0)] == ["a", "b"]  # oldest first
    assert journal.entries(now=2001.0)[1] == entry("b", 2000.0)  # the exact bytes come back
    assert sorted(p.name for p in (tmp_path / "pending").iterdir()) == ["a.json", "b.json"]
    journal.remove("a")
    journal.remove("a")  # twice is fine (answered twice)
    assert [e.request_id for e in journal.entries(now=2001.0)] == ["b"]


def test_junk_is_set_aside_and_old_entries_dropped(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    (tmp_path / "torn.json").write_text("{not json")
    journal.write(entry("old", 0.0))
    journal.write(entry("new", MAX_AGE))
    assert [e.request_id for e in journal.entries(now=MAX_AGE + 10)] == ["new"]
    assert (tmp_path / "torn.bad").exists() and not (tmp_path / "old.json").exists()


def test_an_id_that_cannot_name_a_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot name a journal file"):
        Journal(tmp_path).write(entry("../escape"))
