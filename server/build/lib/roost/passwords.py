"""Argon2id password hashes (RFC 9106) for SMTP AUTH and IMAP LOGIN.

Verification is CPU-heavy on purpose, so callers run it off the event loop
(`asyncio.to_thread`). For an unknown user, verify against DUMMY_HASH anyway: the reply then
takes as long as for a real user, so response time does not reveal which accounts exist.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults follow RFC 9106 §4's second recommended option (Argon2id, 64 MiB, t=3).
_HASHER = PasswordHasher()

DUMMY_HASH = _HASHER.hash("roost: no such user, compare anyway")


def hash_password(password: str) -> str:
    """A PHC-format Argon2id hash with a fresh random salt."""
    return _HASHER.hash(password)


def verify_password(encoded: str, password: str) -> bool:
    """True only for the right password; a mismatch or a corrupt hash is just False."""
    try:
        return _HASHER.verify(encoded, password)
    except (VerificationError, InvalidHashError):  # a mismatch is a VerificationError
        return False


def needs_rehash(encoded: str) -> bool:
    """Whether a stored hash uses weaker parameters than today's, so login can upgrade it."""
    try:
        return _HASHER.check_needs_rehash(encoded)
    except (InvalidHashError, ValueError):
        return True
