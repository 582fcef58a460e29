"""Argon2id hashing: the right password verifies, nothing else does, and nothing raises."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import VerifyMismatchError

from roost.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password


def test_hash_is_argon2id_and_salted() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("$argon2id$")
    assert first != second


def test_verify_accepts_the_right_password_only() -> None:
    encoded = hash_password("correct horse")
    assert verify_password(encoded, "correct horse")
    assert not verify_password(encoded, "correct hors")
    assert not verify_password(encoded, "")


@pytest.mark.parametrize(
    "malformed",
    ["", "plaintext", "$argon2id$v=19$m=65536,t=3,p=4$AAAA$BBBB", "$2b$12$" + "x" * 53],
)
def test_malformed_hash_is_a_mismatch_not_an_exception(malformed: str) -> None:
    assert verify_password(malformed, "anything") is False


def test_dummy_hash_matches_no_password_but_costs_the_same() -> None:
    assert not verify_password(DUMMY_HASH, "")
    assert not verify_password(DUMMY_HASH, "roost")
    # Same m, t, p, salt and digest lengths as a real hash: the same work to verify.
    assert extract_parameters(DUMMY_HASH) == extract_parameters(hash_password("x"))
    assert not needs_rehash(DUMMY_HASH)
    # A well-formed hash that fails to match (Argon2 ran), not one rejected unread.
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify(DUMMY_HASH, "roost")


def test_needs_rehash() -> None:
    assert not needs_rehash(hash_password("pw"))
    assert needs_rehash("$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
    assert needs_rehash("not a hash")
