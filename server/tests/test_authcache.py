"""The verified-credentials cache behind SMTP AUTH and IMAP logins (issue 10 §7)."""

from __future__ import annotations

from pathlib import Path

from roost.authcache import CredentialCache
from roost.passwords import hash_password
from roost.services import password_verifier
from roost.store.sqlite import SQLiteStore

USER = "alice@example.test"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def setup(tmp_path: Path, clock: Clock) -> tuple[SQLiteStore, CredentialCache]:
    store = SQLiteStore(tmp_path)
    store.add_domain("example.test")
    store.add_user(USER, hash_password("right"))
    return store, CredentialCache(60, clock=clock)


def test_the_right_password_is_answered_from_the_cache_until_it_expires(tmp_path: Path) -> None:
    clock = Clock()
    store, cache = setup(tmp_path, clock)
    verify = password_verifier(store, cache)
    assert verify(USER, "right") == USER
    assert cache.hits == 0
    assert verify("Alice@Example.test", "right") == USER
    assert cache.hits == 1
    clock.now += 61
    assert verify(USER, "right") == USER
    assert cache.hits == 1  # expired: verified in full again


def test_failures_are_never_cached_and_a_wrong_password_never_matches(tmp_path: Path) -> None:
    store, cache = setup(tmp_path, Clock())
    verify = password_verifier(store, cache)
    assert verify(USER, "wrong") is None
    assert verify(USER, "right") == USER
    assert verify(USER, "wrong") is None
    assert verify(USER, "right ") is None
    assert cache.hits == 0


def test_a_password_change_or_removal_ends_the_cached_login(tmp_path: Path) -> None:
    store, cache = setup(tmp_path, Clock())
    verify = password_verifier(store, cache)
    assert verify(USER, "right") == USER
    # Changed by another process (the CLI): the cache entry is bound to the old stored hash.
    other = SQLiteStore(tmp_path)
    other.set_password(USER, hash_password("new"))
    assert verify(USER, "right") is None
    assert verify(USER, "new") == USER
    other.remove_user(USER)
    assert verify(USER, "new") is None
    other.close()


def test_only_a_keyed_hash_is_kept(tmp_path: Path) -> None:
    store, cache = setup(tmp_path, Clock())
    password_verifier(store, cache)(USER, "right")
    kept = repr(vars(cache))
    assert "right" not in kept
    assert store.password_hash(USER) not in kept


def test_the_oldest_entries_go_first_when_full() -> None:
    cache = CredentialCache(60, max_entries=2)
    for account in ("a", "b", "c"):
        cache.remember(account, "pw", "hash")
    assert not cache.verified("a", "pw", "hash")
    assert cache.verified("b", "pw", "hash") and cache.verified("c", "pw", "hash")
