"""Recipient resolution and send-as rules: order, plus, catch-all, loops, depth."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_fixtures import ALICE, BOB

from roost.store import AliasTooDeep, InvalidAddress, Resolution, SQLiteStore
from roost.store.resolution import MAX_ALIAS_DEPTH


def test_exact_user_wins_and_case_does_not_matter(store: SQLiteStore) -> None:
    store.add_alias("@example.test", [BOB])
    assert store.resolve("ALICE@Example.TEST") == Resolution((ALICE,), ())


def test_unknown_recipient_and_foreign_domain_resolve_to_nothing(store: SQLiteStore) -> None:
    assert store.resolve("nobody@example.test").unknown
    assert store.resolve("alice@elsewhere.test").unknown


def test_malformed_recipient_raises(store: SQLiteStore) -> None:
    with pytest.raises(InvalidAddress):
        store.resolve("alice")


def test_plus_address_reaches_the_user_unless_it_exists_exactly(store: SQLiteStore) -> None:
    assert store.resolve("Alice+Lists@example.test") == Resolution((ALICE,), ())
    store.add_alias("alice+shop@example.test", [BOB])
    assert store.resolve("alice+shop@example.test") == Resolution((BOB,), ())
    store.add_user("bob+work@example.test", "h")
    assert store.resolve("bob+work@example.test").local == ("bob+work@example.test",)


def test_order_alias_before_plus_before_catch_all(store: SQLiteStore) -> None:
    store.add_alias("sales@example.test", [BOB])
    store.add_alias("@example.test", [ALICE])
    assert store.resolve("sales@example.test").local == (BOB,)
    assert store.resolve("sales+eu@example.test").local == (BOB,)
    assert store.resolve("anything@example.test").local == (ALICE,)
    assert store.resolve("anything+x@example.test").local == (ALICE,)


def test_aliases_expand_recursively_to_local_and_remote(store: SQLiteStore) -> None:
    store.add_alias("team@example.test", ["sales@example.test", "Boss@Remote.TEST"])
    store.add_alias("sales@example.test", [ALICE, "bob+sales@example.test", ALICE])
    assert store.resolve("team@example.test") == Resolution((ALICE, BOB), ("Boss@remote.test",))


def test_alias_loops_terminate_and_keep_real_recipients(store: SQLiteStore) -> None:
    store.add_alias("a@example.test", ["b@example.test", ALICE])
    store.add_alias("b@example.test", ["a@example.test", BOB])
    assert store.resolve("a@example.test") == Resolution((BOB, ALICE), ())  # depth first
    store.add_alias("self@example.test", ["self@example.test"])
    assert store.resolve("self@example.test").unknown


def test_alias_chain_deeper_than_the_limit_is_refused(store: SQLiteStore) -> None:
    for n in range(MAX_ALIAS_DEPTH + 1):
        store.add_alias(f"hop{n}@example.test", [f"hop{n + 1}@example.test"])
    store.add_alias(f"hop{MAX_ALIAS_DEPTH + 1}@example.test", [ALICE])
    assert store.resolve("hop2@example.test").local == (ALICE,)
    with pytest.raises(AliasTooDeep, match="more than 10 levels"):
        store.resolve("hop0@example.test")


def test_dangling_alias_target_is_skipped(store: SQLiteStore) -> None:
    store.add_alias("list@example.test", ["gone@example.test", BOB])
    assert store.resolve("list@example.test").local == (BOB,)


def test_may_send_as(store: SQLiteStore) -> None:
    store.add_alias("sales@example.test", [ALICE, "partner@remote.test"])
    store.add_alias("team@example.test", ["sales@example.test"])
    store.add_alias("@example.test", [ALICE])
    assert store.may_send_as(ALICE, "Alice@EXAMPLE.test")
    assert store.may_send_as(ALICE, "alice+news@example.test")
    assert store.may_send_as("ALICE@example.test", "sales@example.test")
    assert store.may_send_as(ALICE, "sales+x@example.test")
    assert store.may_send_as(ALICE, "team@example.test")
    assert not store.may_send_as(BOB, "sales@example.test")
    assert not store.may_send_as(ALICE, BOB)
    assert not store.may_send_as(ALICE, "unassigned@example.test")  # catch-all grants nothing
    assert not store.may_send_as(ALICE, "alice@elsewhere.test")
    assert not store.may_send_as(ALICE, "garbage")
    assert not store.may_send_as("nobody@example.test", "nobody@example.test")


def test_may_not_send_as_another_users_plus_address(store: SQLiteStore) -> None:
    store.add_user("alice+work@example.test", "h")
    assert not store.may_send_as(ALICE, "alice+work@example.test")
    assert store.may_send_as("alice+work@example.test", "alice+work@example.test")


# Property: over random alias graphs, resolution terminates, yields only real users, never
# duplicates, and sends remote only what points outside the hosted domains.
NAMES = ["a", "b", "c", "d", "alice", "bob", "x+y"]
targets = st.lists(
    st.sampled_from([f"{n}@example.test" for n in NAMES] + ["r@remote.test"]),
    min_size=1,
    max_size=3,
)
graphs = st.dictionaries(st.sampled_from([*NAMES[:4], "x+y", "@"]), targets, max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs, st.sampled_from(NAMES), st.booleans())
def test_resolution_properties(graph: dict[str, list[str]], name: str, upper: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp))
        try:
            store.add_domain("example.test")
            store.add_user(ALICE, "h")
            store.add_user(BOB, "h")
            for alias, alias_targets in graph.items():
                if alias not in ("alice", "bob"):
                    key = "@example.test" if alias == "@" else f"{alias}@example.test"
                    store.add_alias(key, alias_targets)
            address = f"{name}@example.test"
            try:
                result = store.resolve(address.upper() if upper else address)
            except AliasTooDeep:
                return
            assert set(result.local) <= {ALICE, BOB}
            assert set(result.remote) <= {"r@remote.test"}
            assert len(set(result.local)) == len(result.local)
            assert store.resolve(address) == result
            if name in ("alice", "bob"):
                assert result == Resolution((address,), ())
        finally:
            store.close()
