"""PIN hashes: the stored format, verification, and hashes that must match nothing."""

from __future__ import annotations

import pytest

from hall.config.pins import ITERATIONS, hash_pin, parse_pin_hash, verify_pin


def test_hash_has_the_documented_format() -> None:
    scheme, iterations, salt, digest = hash_pin("1234").split("$")
    assert scheme == "pbkdf2_sha256"
    assert int(iterations) == ITERATIONS == 20_000
    assert len(bytes.fromhex(salt)) == 16
    assert len(bytes.fromhex(digest)) == 32


def test_right_pin_verifies_and_wrong_pin_does_not() -> None:
    stored = hash_pin("1234")
    assert verify_pin("1234", stored)
    assert not verify_pin("1235", stored)
    assert not verify_pin("", stored)
    assert not verify_pin("12345", stored)


def test_same_pin_hashes_differently_each_time() -> None:
    assert hash_pin("0000") != hash_pin("0000")


def test_non_ascii_pin_round_trips() -> None:
    assert verify_pin("密码12", hash_pin("密码12"))


def test_known_vector_verifies() -> None:
    # Written by hand from hashlib, so a change of format or encoding shows up here.
    import hashlib

    salt = bytes(range(16))
    digest = hashlib.pbkdf2_hmac("sha256", b"4321", salt, 1000)
    stored = f"pbkdf2_sha256$1000${salt.hex()}${digest.hex()}"
    assert verify_pin("4321", stored)
    assert not verify_pin("4320", stored)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "1234",
        "pbkdf2_sha256$20000$00",
        "pbkdf2_sha1$20000$00ff$00ff",
        "pbkdf2_sha256$many$00ff$00ff",
        "pbkdf2_sha256$20000$zz$00ff",
        "pbkdf2_sha256$20000$$00ff",
        "pbkdf2_sha256$0$00ff$00ff",
        "pbkdf2_sha256$999999999999$00ff$00ff",
    ],
)
def test_malformed_hash_matches_nothing(bad: str) -> None:
    assert parse_pin_hash(bad) is None
    assert not verify_pin("1234", bad)


def test_empty_pin_cannot_be_hashed() -> None:
    with pytest.raises(ValueError):
        hash_pin("")
