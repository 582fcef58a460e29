"""The password check `roost serve` uses for submission logins."""

from __future__ import annotations

from pathlib import Path

from argon2 import PasswordHasher

from roost.passwords import needs_rehash, verify_password
from roost.services import password_verifier
from roost.store.sqlite import SQLiteStore


def test_login_upgrades_a_hash_made_with_weaker_parameters(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path)
    store.add_domain("example.test")
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("s3cret pass")
    store.add_user("Alice@Example.test", weak)
    verify = password_verifier(store)
    assert verify("alice@example.test", "wrong") is None
    assert store.password_hash("alice@example.test") == weak  # no upgrade on failure
    assert verify("ALICE@example.test", "s3cret pass") == "alice@example.test"
    upgraded = store.password_hash("alice@example.test")
    assert upgraded != weak and not needs_rehash(upgraded)
    assert verify_password(upgraded, "s3cret pass")
    assert verify("nobody@example.test", "s3cret pass") is None
    assert verify("not an address", "s3cret pass") is None
