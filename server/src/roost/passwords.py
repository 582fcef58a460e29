"""Argon2id password hashes (RFC 9106) for SMTP AUTH and IMAP LOGIN.

Verification is CPU-heavy on purpose, so callers run it off the event loop
(`asyncio.to_thread`). For an unknown user, verify against DUMMY_HASH anyway: the reply then
takes as long as for a real user, so response time does not reveal which accounts exist.
"""

from __future__ import annotations

from base64 import b64encode

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import ARGON2_VERSION

# argon2-cffi's defaults follow RFC 9106 §4's second recommended option (Argon2id, 64 MiB, t=3).
_HASHER = PasswordHasher()


def _unmatchable_hash() -> str:
    """A PHC string with today's parameters and an all-zero digest.

    Verifying against it costs exactly what verifying a real hash costs (the work depends on
    m, t, p and the lengths only), and no password matches it. Built, not hashed: every
    process importing this module (each `roost` command, each Ansible task calling one) would
    otherwise pay one full Argon2id computation at import.
    """

    def b64(size: int) -> str:
        return b64encode(bytes(size)).decode().rstrip("=")

    h = _HASHER
    return (
        f"$argon2id$v={ARGON2_VERSION}$m={h.memory_cost},t={h.time_cost},p={h.parallelism}"
        f"${b64(h.salt_len)}${b64(h.hash_len)}"
    )


DUMMY_HASH = _unmatchable_hash()


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
