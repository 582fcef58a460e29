"""`roost accounts sync` (what the Ansible role runs): adds and corrects, reports changed only
when something changed, re-sets a password only when it stopped verifying, removes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from roost.accounts import AccountsError, parse_accounts, sync
from roost.passwords import verify_password
from roost.store.sqlite import SQLiteStore
from tests.roostproc import roost_dev

WANTED = {
    "domains": ["example.test", "Second.TEST"],
    "users": [{"address": "Me@example.test", "password": "first secret"}],
    "aliases": [
        {"address": "postmaster@second.test", "to": ["me@example.test"]},
        {"address": "team@example.test", "to": ["me@example.test", "Friend@remote.test"]},
    ],
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(tmp_path)
    yield store
    store.close()


def test_first_sync_adds_everything_second_changes_nothing(store: SQLiteStore) -> None:
    first = sync(store, parse_accounts(WANTED))
    assert first.domains_added == ["example.test", "second.test"]
    assert first.users_added == ["me@example.test"]
    assert first.aliases_added == ["postmaster@second.test", "team@example.test"]
    assert store.list_aliases()["team@example.test"] == ["me@example.test", "Friend@remote.test"]
    assert not sync(store, parse_accounts(WANTED)).changed


def test_postmaster_and_abuse_aliases_fill_what_is_not_listed(store: SQLiteStore) -> None:
    wanted = dict(WANTED, postmaster="me@example.test")
    sync(store, parse_accounts(wanted))
    aliases = store.list_aliases()
    for address in ("postmaster@example.test", "abuse@example.test", "abuse@second.test"):
        assert aliases[address] == ["me@example.test"]
    assert "postmaster@second.test" in aliases  # listed explicitly, kept as listed


def test_check_mode_reports_without_writing(store: SQLiteStore) -> None:
    planned = sync(store, parse_accounts(WANTED), check=True)
    assert planned.changed and planned.users_added == ["me@example.test"]
    assert store.list_domains() == [] and store.list_users() == []


def test_password_reset_only_when_it_no_longer_verifies(store: SQLiteStore) -> None:
    sync(store, parse_accounts(WANTED))
    before = store.password_hash("me@example.test")
    assert not sync(store, parse_accounts(WANTED)).passwords_set
    assert store.password_hash("me@example.test") == before
    changed = dict(WANTED, users=[{"address": "me@example.test", "password": "second secret"}])
    assert sync(store, parse_accounts(changed)).passwords_set == ["me@example.test"]
    stored = store.password_hash("me@example.test")
    assert stored is not None and verify_password(stored, "second secret")


def test_changed_alias_targets_are_replaced_and_nothing_unlisted_removed(
    store: SQLiteStore,
) -> None:
    sync(store, parse_accounts(WANTED))
    store.add_alias("keep@example.test", ["me@example.test"])
    moved = dict(WANTED, aliases=[{"address": "team@example.test", "to": "other@remote.test"}])
    changes = sync(store, parse_accounts(moved))
    assert changes.aliases_changed == ["team@example.test"]
    aliases = store.list_aliases()
    assert aliases["team@example.test"] == ["other@remote.test"]
    assert "keep@example.test" in aliases and "postmaster@second.test" in aliases


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ([], "expected an object"),
        ({"users": [{"address": "a@example.test"}]}, "users[0]"),
        ({"aliases": [{"address": "a@example.test"}]}, "aliases[0]"),
        ({"domains": "example.test"}, "domains: expected a list"),
        (
            {
                "users": [{"address": "a@x.test", "password": "p"}],
                "aliases": [{"address": "A@x.test", "to": ["b@x.test"]}],
            },
            "both as a user and as an alias",
        ),
    ],
)
def test_malformed_document_names_the_entry(document: object, named: str) -> None:
    with pytest.raises(AccountsError, match=named.replace("[", r"\[").replace("]", r"\]")):
        parse_accounts(document)


def test_cli_sync_prints_changes_as_json() -> None:
    with roost_dev() as dev:
        document = json.dumps(WANTED)
        first = json.loads(dev.cli("accounts", "sync", "--check", stdin=document).stdout)
        assert first["changed"] and first["domains_added"] == ["second.test"]
        dev.cli("accounts", "sync", stdin=document)
        second = json.loads(dev.cli("accounts", "sync", stdin=document).stdout)
        assert second["changed"] is False
        refused = dev.cli("accounts", "sync", stdin="not json", check=False)
        assert refused.returncode == 1 and "as JSON on stdin" in refused.stderr


def _deliver(store: SQLiteStore, address: str) -> None:
    message = b"From: a@remote.test\r\nTo: " + address.encode() + b"\r\nSubject: hi\r\n\r\nhi\r\n"
    store.deliver([address], message)


def _with_second_gone(mail: str | None = None) -> dict[str, object]:
    return {
        "domains": ["example.test"],
        "users": [{"address": "me@example.test", "password": "first secret"}],
        "aliases": [],
        "postmaster": "me@example.test",
        "absent": [{"name": "second.test", **({"mail": mail} if mail else {})}],
    }


@pytest.fixture
def two_domains(store: SQLiteStore) -> SQLiteStore:
    sync(
        store,
        parse_accounts(
            {
                "domains": ["example.test", "second.test"],
                "users": [
                    {"address": "me@example.test", "password": "first secret"},
                    {"address": "full@second.test", "password": "other secret"},
                    {"address": "empty@second.test", "password": "third secret"},
                ],
                "postmaster": "me@example.test",
            }
        ),
    )
    return store


def test_an_absent_domain_without_mail_goes_with_its_users_and_aliases_only(
    two_domains: SQLiteStore,
) -> None:
    before_first = two_domains.list_aliases()
    removed = sync(two_domains, parse_accounts(_with_second_gone()))
    assert removed.domains_removed == ["second.test"]
    assert removed.users_removed == ["empty@second.test", "full@second.test"]
    assert removed.aliases_removed == ["abuse@second.test", "postmaster@second.test"]
    assert two_domains.list_domains() == ["example.test"]
    assert two_domains.list_users() == ["me@example.test"]
    assert two_domains.list_aliases() == {
        a: t for a, t in before_first.items() if a.endswith("@example.test")
    }
    assert not sync(two_domains, parse_accounts(_with_second_gone())).changed


def test_an_absent_domain_holding_mail_is_refused_naming_the_mailboxes(
    two_domains: SQLiteStore,
) -> None:
    _deliver(two_domains, "full@second.test")
    with pytest.raises(AccountsError, match=r"full@second\.test \(1 message\).*mail: keep"):
        sync(two_domains, parse_accounts(_with_second_gone()))
    assert two_domains.list_domains() == ["example.test", "second.test"]
    assert "empty@second.test" in two_domains.list_users()
    assert "postmaster@second.test" in two_domains.list_aliases()


def test_mail_keep_keeps_the_mailboxes_holding_mail_and_removes_the_rest(
    two_domains: SQLiteStore,
) -> None:
    _deliver(two_domains, "full@second.test")
    kept = sync(two_domains, parse_accounts(_with_second_gone("keep")))
    assert kept.users_kept == ["full@second.test"]
    assert kept.users_removed == ["empty@second.test"]
    assert kept.domains_removed == []
    assert two_domains.stored_messages("second.test") == {"full@second.test": 1}
    assert not sync(two_domains, parse_accounts(_with_second_gone("keep"))).changed


def test_mail_delete_removes_the_domain_and_its_mail(two_domains: SQLiteStore) -> None:
    _deliver(two_domains, "full@second.test")
    planned = sync(two_domains, parse_accounts(_with_second_gone("delete")), check=True)
    assert planned.domains_removed == ["second.test"]
    assert "second.test" in two_domains.list_domains()  # check mode wrote nothing
    sync(two_domains, parse_accounts(_with_second_gone("delete")))
    assert two_domains.list_domains() == ["example.test"]
    assert two_domains.list_users() == ["me@example.test"]


@pytest.mark.parametrize(
    ("absent", "named"),
    [
        ([{"name": "second.test", "mail": "archive"}], "mail: 'archive'"),
        ([{"name": "example.test"}], "listed both as hosted and as absent"),
        ([{"mail": "keep"}], "absent[0]"),
    ],
)
def test_malformed_absent_entries_name_the_cause(absent: object, named: str) -> None:
    document = dict(_with_second_gone(), absent=absent)
    with pytest.raises(AccountsError, match=named.replace("[", r"\[").replace("(", r"\(")):
        parse_accounts(document)


def test_a_user_listed_in_an_absent_domain_is_refused() -> None:
    document = _with_second_gone()
    document["users"] = [{"address": "x@second.test", "password": "p"}]
    with pytest.raises(AccountsError, match=r"x@second\.test is listed but its domain"):
        parse_accounts(document)
