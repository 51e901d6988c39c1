"""Finding a service as a visitor types: by Chinese name, by pinyin initials, by pinyin, by English.

A visitor at the kiosk types on a small on-screen keyboard, so the index answers every keystroke from
memory: each name's readings are worked out once, when the catalog arrives. Pinyin comes from
pypinyin (phrase-aware: 银行 reads yín háng, 重庆 chóng qìng), not from a table of ours. Polyphones
(行, 重, 长, 还 …) are matched by every reading of the character, since a visitor who types the other
reading still means that service; the phrase's own reading ranks first.

pypinyin's dictionaries take about 56 MB once loaded, for readings the kiosk needs once per name. So
the kiosk never loads them: the readings of names it has not seen are worked out by a short-lived
`python -m kiosk.search` (names in, readings out, as JSON), and kept by name, so a catalog sent again
(the hall republishes it on every change of a notice or a service) costs nothing.

    index = ServiceIndex.build(catalog_services)
    index.search("hkqr")   # -> ["psb-hukou-move-in", ...]
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from kiosk.helper import run_module

log = logging.getLogger(__name__)

MAX_RESULTS = 30
READINGS_TIMEOUT = 60.0  # seconds: bounds a hung helper only (it takes about half a second)

# A name's readings: its phrase's own syllables (a character with no pinyin stays itself), and every
# reading's initial, character by character.
Readings = tuple[tuple[str, ...], tuple[frozenset[str], ...]]
_known: dict[str, Readings] = {}  # by name, for the life of the process

# How well a name matched; lower ranks first.
EXACT_PREFIX, SUBSTRING, INITIALS, INITIALS_OTHER_READING, PINYIN, ENGLISH = range(6)


@dataclass(frozen=True)
class Entry:
    """One service and every way to find it."""

    code: str
    name_zh: str
    name_en: str
    initials: str  # the phrase's own reading: 户口迁入 -> "hkqr"
    letter_sets: tuple[frozenset[str], ...]  # every reading's initial, character by character
    pinyin_tails: tuple[str, ...]  # "hukouqianru", "kouqianru", "qianru", "ru"
    english_words: tuple[str, ...]


def work_out_readings(names: Iterable[str]) -> dict[str, Readings]:
    """The readings of each name, from pypinyin (run by the helper process, see `readings`)."""
    from pypinyin import Style, lazy_pinyin, pinyin

    found: dict[str, Readings] = {}
    for name in names:
        # Characters with no pinyin (letters, digits) stay one item each, so positions line up.
        # (pypinyin takes a callable that returns a list; its type stubs say str.)
        own = lazy_pinyin(name, style=Style.NORMAL, errors=cast(Any, list))
        sets: list[frozenset[str]] = []
        for char in name:  # character by character, so positions line up with `own`
            readings = pinyin(char, style=Style.NORMAL, heteronym=True)[0]
            letters = {r[0].lower() for r in readings if r and r[0].isascii() and r[0].isalnum()}
            sets.append(frozenset(letters or {char.lower()}))
        found[name] = (tuple(own), tuple(sets))
    return found


def readings(names: Iterable[str]) -> dict[str, Readings]:
    """The readings of `names`: those not yet known worked out by `python -m kiosk.search`, so this
    process never holds pypinyin's dictionaries. If the helper fails, the names are still found by
    Chinese and English (and the log says why pinyin is missing)."""
    names = list(names)
    wanted = sorted({n for n in names if n} - _known.keys())
    if wanted:
        try:
            stdin = json.dumps(wanted, ensure_ascii=False)
            done = run_module("kiosk.search", stdin=stdin, timeout=READINGS_TIMEOUT)
            if done.returncode != 0:
                raise OSError(f"exit {done.returncode}: {done.stderr[-500:]}")
            answer = json.loads(done.stdout)
            _known.update(
                (name, (tuple(own), tuple(frozenset(s) for s in sets)))
                for name, (own, sets) in answer.items()
            )
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            log.error("no pinyin search: the readings helper failed: %s", exc)
    return {n: _known[n] for n in names if n in _known}


def _entry(code: str, name_zh: str, name_en: str, known: Readings | None) -> Entry:
    own, letter_sets = known or (tuple(name_zh), tuple(frozenset({c.lower()}) for c in name_zh))
    sets = list(letter_sets)
    initials = "".join(s[0].lower() for s in own if s)
    for position, letter in enumerate(initials[: len(sets)]):
        sets[position] = sets[position] | {letter}  # the phrase's reading is always one of them
    return Entry(
        code=code,
        name_zh=name_zh,
        name_en=name_en,
        initials=initials if known else "",
        letter_sets=tuple(sets),
        pinyin_tails=tuple("".join(own[i:]).lower() for i in range(len(own))) if known else (),
        english_words=tuple(w.lower() for w in name_en.replace("-", " ").split()),
    )


def _matches_sets(query: str, sets: Sequence[frozenset[str]]) -> bool:
    """The query's letters, one per character, somewhere in the name, by any reading."""
    for start in range(len(sets) - len(query) + 1):
        if all(letter in sets[start + i] for i, letter in enumerate(query)):
            return True
    return False


def _matches_pinyin(query: str, tails: Sequence[str]) -> bool:
    """Full pinyin typed from the start of a syllable: "hukou", "kouqian", "hukouq"."""
    return any(tail.startswith(query) for tail in tails)


def _rank(entry: Entry, query: str) -> int | None:
    if entry.name_zh.startswith(query):
        return EXACT_PREFIX
    if query in entry.name_zh:
        return SUBSTRING
    lowered = query.lower().replace(" ", "")
    if not lowered.isascii() or not lowered.isalnum():
        return None
    if lowered in entry.initials:
        return INITIALS
    if _matches_sets(lowered, entry.letter_sets):
        return INITIALS_OTHER_READING
    if len(lowered) >= 2 and _matches_pinyin(lowered, entry.pinyin_tails):
        return PINYIN
    words = query.lower().split()
    if words and all(any(w.startswith(q) for w in entry.english_words) for q in words):
        return ENGLISH
    return None


class ServiceIndex:
    """Every service of the catalog, searchable; built once per catalog."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries = tuple(entries)

    @classmethod
    def build(cls, services: Iterable[dict[str, object]]) -> ServiceIndex:
        """From the catalog's `services` list (code, name_zh, name_en)."""
        rows = [
            (str(s["code"]), str(s.get("name_zh") or ""), str(s.get("name_en") or ""))
            for s in services
        ]
        known = readings(name for _, name, _ in rows)
        return cls(_entry(code, zh, en, known.get(zh)) for code, zh, en in rows)

    def search(self, query: str, limit: int = MAX_RESULTS) -> list[str]:
        """Service codes that match, best first (then in catalog order); nothing for an empty query."""
        text = query.strip()
        if not text:
            return []
        ranked = [
            (rank, position, entry.code)
            for position, entry in enumerate(self.entries)
            if (rank := _rank(entry, text)) is not None
        ]
        ranked.sort()
        return [code for _, _, code in ranked[:limit]]


def _helper() -> int:
    """`python -m kiosk.search`: a JSON list of names on stdin, their readings as JSON on stdout."""
    names = json.loads(sys.stdin.read())
    found = work_out_readings(str(n) for n in names)
    json.dump(
        {name: [own, [sorted(s) for s in sets]] for name, (own, sets) in found.items()},
        sys.stdout,
        ensure_ascii=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(_helper())
