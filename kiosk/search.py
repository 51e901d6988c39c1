"""Finding a service as a visitor types: by Chinese name, by pinyin initials, by pinyin, by English.

A visitor at the kiosk types on a small on-screen keyboard, so the index answers every keystroke from
memory: each name's readings are worked out once, when the catalog arrives. Pinyin comes from
pypinyin (phrase-aware: 银行 reads yín háng, 重庆 chóng qìng), not from a table of ours. Polyphones
(行, 重, 长, 还 …) are matched by every reading of the character, since a visitor who types the other
reading still means that service; the phrase's own reading ranks first.

    index = ServiceIndex.build(catalog_services)
    index.search("hkqr")   # -> ["psb-hukou-move-in", ...]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from pypinyin import Style, lazy_pinyin, pinyin

MAX_RESULTS = 30

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


def _entry(code: str, name_zh: str, name_en: str) -> Entry:
    # Characters with no pinyin (letters, digits) stay one item each, so positions line up.
    # (pypinyin takes a callable that returns a list; its type stubs say str.)
    own = lazy_pinyin(name_zh, style=Style.NORMAL, errors=cast(Any, list))
    sets: list[frozenset[str]] = []
    for char in name_zh:  # character by character, so positions line up with `own`
        readings = pinyin(char, style=Style.NORMAL, heteronym=True)[0]
        letters = {r[0].lower() for r in readings if r and r[0].isascii() and r[0].isalnum()}
        sets.append(frozenset(letters or {char.lower()}))
    initials = "".join(s[0].lower() for s in own if s)
    for position, letter in enumerate(initials[: len(sets)]):
        sets[position] = sets[position] | {letter}  # the phrase's reading is always one of them
    return Entry(
        code=code,
        name_zh=name_zh,
        name_en=name_en,
        initials=initials,
        letter_sets=tuple(sets),
        pinyin_tails=tuple("".join(own[i:]).lower() for i in range(len(own))),
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
        return cls(
            _entry(str(s["code"]), str(s.get("name_zh") or ""), str(s.get("name_en") or ""))
            for s in services
        )

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
