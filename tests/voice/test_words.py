"""Ticket and window numbers as words: the readings a hall's style picks."""

from __future__ import annotations

import pytest

from voice.words import cardinal_zh, ticket_words, window_words

ZH = dict(zip("0123456789", "零一二三四五六七八九", strict=True))


def said(words: list[str]) -> str:
    return "".join(ZH.get(w, w) for w in words)


@pytest.mark.parametrize(
    ("n", "text"),
    [(1, "一"), (9, "九"), (10, "十"), (11, "十一"), (15, "十五"), (20, "二十"), (21, "二十一"),
     (99, "九十九"), (100, "一百"), (101, "一百零一"), (105, "一百零五"), (110, "一百一十"),
     (115, "一百一十五"), (120, "一百二十"), (999, "九百九十九"), (1000, "一千"), (1001, "一千零一"),
     (1005, "一千零五"), (1010, "一千零一十"), (1050, "一千零五十"), (1100, "一千一百"),
     (1234, "一千二百三十四"), (2008, "二千零八"), (9999, "九千九百九十九")],
)  # fmt: skip
def test_mandarin_cardinal_numbers(n: int, text: str) -> None:
    assert said(cardinal_zh(n)) == text


def test_cardinal_range_is_refused_outside() -> None:
    with pytest.raises(ValueError, match="9999"):
        cardinal_zh(10000)


def test_ticket_numbers_letters_one_by_one_then_digits_by_style() -> None:
    assert ticket_words("A012") == ["A", "0", "1", "2"]
    assert ticket_words("AB7") == ["A", "B", "7"]
    assert said(ticket_words("A012", "cardinal-zh")) == "A十二"
    assert said(ticket_words("B105", "cardinal-zh")) == "B一百零五"
    assert ticket_words("1234") == ["1", "2", "3", "4"]


@pytest.mark.parametrize("bad", ["", "A-1", "1A", "a 1", "A1B"])
def test_ticket_numbers_that_cannot_be_read_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        ticket_words(bad)


def test_window_numbers_as_cardinal_or_digits() -> None:
    assert said(window_words(15)) == "十五"
    assert said(window_words(15, "digits")) == "一五"
    assert window_words(105, "digits") == ["1", "0", "5"]
