"""Clerk PIN hashes: what `hallq pin-hash` writes into the hall config and what a login checks.

Format: ``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>``. The iteration count is stored in the
hash, so raising ITERATIONS later leaves existing hashes valid. PINs are short, so the hash does not
make guessing hard by itself: the config file is kept private and logins are rate limited.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SCHEME = "pbkdf2_sha256"
ITERATIONS = 20_000
SALT_BYTES = 16
# A hash from a config file is checked before use: a huge count would stall the hall on every login.
MAX_ITERATIONS = 10_000_000


def _derive(pin: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations)


def hash_pin(pin: str) -> str:
    """A salted PBKDF2-SHA256 hash of a PIN for the config's `pin_hash`."""
    if not pin:
        raise ValueError("a PIN cannot be empty")
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _derive(pin, salt, ITERATIONS)
    return f"{SCHEME}${ITERATIONS}${salt.hex()}${digest.hex()}"


def parse_pin_hash(pin_hash: str) -> tuple[int, bytes, bytes] | None:
    """(iterations, salt, digest) of a well-formed hash, or None."""
    parts = pin_hash.split("$")
    if len(parts) != 4 or parts[0] != SCHEME:
        return None
    try:
        iterations = int(parts[1])
        salt = bytes.fromhex(parts[2])
        digest = bytes.fromhex(parts[3])
    except ValueError:
        return None
    if not 1 <= iterations <= MAX_ITERATIONS or not salt or not digest:
        return None
    return iterations, salt, digest


def verify_pin(pin: str, pin_hash: str) -> bool:
    """True if `pin` matches `pin_hash`; a malformed hash matches nothing. Constant-time compare."""
    parsed = parse_pin_hash(pin_hash)
    if parsed is None:
        return False
    iterations, salt, digest = parsed
    return hmac.compare_digest(_derive(pin, salt, iterations), digest)
