"""Domains, users and aliases against a real SQLite database."""

from __future__ import annotations

import pytest
from store_fixtures import ALICE, BOB, DOMAIN

from roost.store import (
    AlreadyExists,
    DomainNotEmpty,
    InvalidAddress,
    NoSuchAlias,
    NoSuchDomain,
    NoSuchUser,
    SQLiteStore,
    Store,
)
from roost.store.interfaces import Directory, MailStore


def test_domains_are_normalised_listed_and_matched(store: SQLiteStore) -> None:
    store.add_domain("Bücher.TEST")
    assert store.list_domains() == [DOMAIN, "xn--bcher-kva.test"]
    assert store.is_local_domain("EXAMPLE.test")
    assert store.is_local_domain("bücher.test")
    assert not store.is_local_domain("other.test")
    assert not store.is_local_domain("not a domain")


def test_adding_a_domain_twice_is_refused(store: SQLiteStore) -> None:
    with pytest.raises(AlreadyExists, match="already hosted"):
        store.add_domain("EXAMPLE.TEST")


def test_removing_a_domain_with_users_or_aliases_is_refused(store: SQLiteStore) -> None:
    with pytest.raises(DomainNotEmpty, match=r"2 user\(s\).*roost user del"):
        store.remove_domain(DOMAIN)
    store.add_domain("empty.test")
    store.add_alias("@empty.test", [ALICE])
    with pytest.raises(DomainNotEmpty):
        store.remove_domain("empty.test")
    store.remove_alias("@empty.test")
    store.remove_domain("empty.test")
    assert store.list_domains() == [DOMAIN]
    with pytest.raises(NoSuchDomain, match=r"roost domain add gone\.test"):
        store.remove_domain("gone.test")


def test_user_needs_a_hosted_domain(store: SQLiteStore) -> None:
    with pytest.raises(NoSuchDomain, match=r"`roost domain add other\.test`"):
        store.add_user("carol@other.test", "h")


def test_users_are_case_insensitive(store: SQLiteStore) -> None:
    assert store.list_users() == [ALICE, BOB]
    assert store.password_hash("ALICE@Example.Test") == "hash-a"
    with pytest.raises(AlreadyExists, match="roost user passwd"):
        store.add_user("Alice@EXAMPLE.test", "h")


def test_new_user_gets_special_use_folders_subscribed(store: SQLiteStore) -> None:
    folders = {box.name: box.special_use for box in store.list_mailboxes(ALICE)}
    assert folders == {
        "INBOX": None,
        "Sent": "\\Sent",
        "Drafts": "\\Drafts",
        "Trash": "\\Trash",
        "Junk": "\\Junk",
        "Archive": "\\Archive",
    }
    assert sorted(store.list_subscriptions(ALICE)) == sorted(folders)


def test_set_password_and_remove_user(store: SQLiteStore) -> None:
    store.set_password(ALICE, "new-hash")
    assert store.password_hash(ALICE) == "new-hash"
    store.remove_user(ALICE)
    assert store.list_users() == [BOB]
    assert store.password_hash(ALICE) is None
    with pytest.raises(NoSuchUser, match="roost user list"):
        store.set_password(ALICE, "h")
    with pytest.raises(NoSuchUser):
        store.remove_user(ALICE)
    with pytest.raises(NoSuchUser):
        store.list_mailboxes(ALICE)


def test_password_hash_of_garbage_is_none(store: SQLiteStore) -> None:
    assert store.password_hash("no at sign") is None
    assert store.password_hash("nobody@example.test") is None


def test_aliases_are_listed_with_canonical_targets(store: SQLiteStore) -> None:
    store.add_alias("Sales@Example.test", ["ALICE@example.test", "Partner@Remote.TEST", BOB])
    store.add_alias("@example.test", [ALICE])
    assert store.list_aliases() == {
        "@example.test": [ALICE],
        "sales@example.test": [ALICE, "Partner@remote.test", BOB],
    }
    store.remove_alias("SALES@example.test")
    assert list(store.list_aliases()) == ["@example.test"]
    with pytest.raises(NoSuchAlias, match="roost alias list"):
        store.remove_alias("sales@example.test")


def test_alias_conflicts_and_bad_input(store: SQLiteStore) -> None:
    store.add_alias("sales@example.test", [ALICE])
    with pytest.raises(AlreadyExists, match="roost alias del"):
        store.add_alias("SALES@example.test", [BOB])
    with pytest.raises(AlreadyExists, match="is a user"):
        store.add_alias(ALICE, [BOB])
    with pytest.raises(AlreadyExists, match="is an alias"):
        store.add_user("sales@example.test", "h")
    with pytest.raises(NoSuchDomain):
        store.add_alias("x@other.test", [ALICE])
    with pytest.raises(InvalidAddress, match="at least one target"):
        store.add_alias("empty@example.test", [])
    with pytest.raises(InvalidAddress):
        store.add_alias("bad@example.test", ["@example.test"])
    assert list(store.list_aliases()) == ["sales@example.test"]


def test_sqlite_store_implements_the_whole_seam(store: SQLiteStore) -> None:
    """Every Protocol method exists on SQLiteStore (mypy checks the signatures)."""
    as_protocol: Store = store
    for protocol in (Directory, MailStore):
        for name in vars(protocol):
            if not name.startswith("_"):
                assert callable(getattr(as_protocol, name)), name
