"""Ticket numbers: prefix + daily sequence, zero-padded to the width, growing past it."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hall.engine.numbering import format_number, normalize_number, split_number, ticket_id


@pytest.mark.parametrize(
    ("prefix", "seq", "width", "number"),
    [("A", 1, 3, "A001"), ("AB", 17, 3, "AB017"), ("A", 999, 3, "A999"), ("A", 1000, 3, "A1000"),
     ("B", 5, 1, "B5"), ("B", 12, 1, "B12"), ("XYZ", 7, 6, "XYZ000007")],
)  # fmt: skip
def test_format_number(prefix: str, seq: int, width: int, number: str) -> None:
    assert format_number(prefix, seq, width) == number


def test_the_sequence_starts_at_one() -> None:
    with pytest.raises(ValueError):
        format_number("A", 0, 3)


def test_ticket_id() -> None:
    assert ticket_id(date(2026, 11, 26), "A012") == "20261126-A012"


def test_normalize_and_split() -> None:
    assert normalize_number(" ab017 ") == "AB017"
    assert split_number("AB017") == ("AB", 17)
    assert split_number("A1000") == ("A", 1000)
    assert (
        split_number("017") is None and split_number("A") is None and split_number("ABCD1") is None
    )


@given(st.from_regex(r"[A-Z]{1,3}", fullmatch=True), st.integers(1, 10**7), st.integers(1, 6))
def test_numbers_round_trip_and_sort_by_sequence_within_the_width(
    prefix: str, seq: int, width: int
) -> None:
    number = format_number(prefix, seq, width)
    assert split_number(number) == (prefix, seq)
    assert len(number) == len(prefix) + max(width, len(str(seq)))


@given(st.from_regex(r"[A-Z]{1,3}", fullmatch=True), st.integers(1, 6), st.integers(1, 3000))
def test_numbers_of_one_department_are_unique(prefix: str, width: int, count: int) -> None:
    numbers = [format_number(prefix, seq, width) for seq in range(1, count + 1)]
    assert len(set(numbers)) == count
