"""The (UID, MODSEQ, flags) rows kept in memory for FETCH of flags only (flag_states.py):
after any sequence of changes, made by this store or by another process's, `flag_states`
answers what the database holds; the caps hold."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_fixtures import ALICE, DOMAIN

from roost.store import SQLiteStore
from roost.store.flag_states import FlagStates
from roost.store.interfaces import INBOX

FLAGS = ["\\Seen", "\\Flagged", "\\Deleted", "$Label"]
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.sampled_from([INBOX, "Work"])),
        st.tuples(
            st.just("flags"),
            st.sampled_from(["add", "remove", "set"]),
            st.lists(st.sampled_from(FLAGS), max_size=2),
            st.integers(0, 7),
        ),
        st.tuples(st.just("expunge")),
        st.tuples(st.just("move"), st.integers(0, 7)),
        st.tuples(st.just("recreate")),  # Work deleted and made again: a new UIDVALIDITY
        st.tuples(st.just("rename_inbox")),  # INBOX's messages leave; INBOX stays
        st.tuples(st.just("look")),
    ),
    max_size=14,
)


def from_database(store: SQLiteStore, mailbox: str) -> list[tuple[int, int, bytes]]:
    conn = store._conn()
    return conn.execute(
        "SELECT m.uid, m.modseq, CAST(m.flags AS BLOB) FROM messages m "
        "JOIN mailboxes b ON b.id = m.mailbox_id JOIN users u ON u.id = b.user_id "
        "WHERE u.address = ? AND b.name = ? ORDER BY m.uid",
        (ALICE, mailbox),
    ).fetchall()


def apply(writer: SQLiteStore, operation: tuple, renames: list[int]) -> None:
    uids = [row[0] for row in from_database(writer, INBOX)]
    match operation:
        case ("append", mailbox):
            writer.append(ALICE, mailbox, b"Subject: s\r\n\r\nbody\r\n", ["$Label"])
        case ("flags", mode, flags, pick) if uids:
            writer.store_flags(ALICE, INBOX, uids[pick % len(uids) :], flags, mode)
        case ("expunge",):
            writer.expunge(ALICE, INBOX)
        case ("move", pick) if uids:
            writer.move(ALICE, INBOX, [uids[pick % len(uids)]], "Work")
        case ("recreate",):
            writer.delete_mailbox(ALICE, "Work")
            writer.create_mailbox(ALICE, "Work")
        case ("rename_inbox",):
            renames.append(len(renames))
            writer.rename_mailbox(ALICE, INBOX, f"Old {renames[-1]}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPERATIONS, st.booleans())
def test_kept_rows_answer_what_the_database_holds(operations: list[tuple], other: bool) -> None:
    """`other`: the changes come from another store on the same files (another process),
    which the reader's kept rows learn of only through the database."""
    with tempfile.TemporaryDirectory() as directory:
        reader = SQLiteStore(Path(directory))
        writer = SQLiteStore(Path(directory)) if other else reader
        try:
            reader.add_domain(DOMAIN)
            reader.add_user(ALICE, "hash")
            reader.create_mailbox(ALICE, "Work")
            renames: list[int] = []
            for operation in operations:
                apply(writer, operation, renames)
                for mailbox in (INBOX, "Work"):
                    expected = from_database(reader, mailbox)
                    asked = list(range(1, 40))  # expunged and unused UIDs asked too
                    assert reader.flag_states(ALICE, mailbox, asked) == expected
                    newest = [row[0] for row in expected[-2:]]
                    assert reader.flag_states(ALICE, mailbox, newest[::-1]) == expected[-2:]
        finally:
            if writer is not reader:
                writer.close()
            reader.close()


def test_a_mailbox_over_the_cap_is_answered_but_not_kept(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path)
    store._flag_states = FlagStates(max_rows=3)
    store.add_domain(DOMAIN)
    store.add_user(ALICE, "hash")
    store.create_mailbox(ALICE, "Small")
    uids = [store.append(ALICE, INBOX, b"Subject: %d\r\n\r\nx\r\n" % n) for n in range(4)]
    small = [store.append(ALICE, "Small", b"Subject: s\r\n\r\nx\r\n") for _ in range(2)]
    try:
        assert [row[0] for row in store.flag_states(ALICE, INBOX, uids)] == uids
        assert store._flag_states._kept == {}
        assert [row[0] for row in store.flag_states(ALICE, "Small", small)] == small
        assert len(store._flag_states._kept) == 1
        store.create_mailbox(ALICE, "Other")
        other = [store.append(ALICE, "Other", b"Subject: o\r\n\r\nx\r\n") for _ in range(2)]
        assert [row[0] for row in store.flag_states(ALICE, "Other", other)] == other
        # Four rows in all would pass the cap: the least recently used mailbox goes.
        assert [len(kept.rows) for kept in store._flag_states._kept.values()] == [2]
    finally:
        store.close()


def test_a_mailbox_made_again_is_read_again(tmp_path: Path) -> None:
    """Made again under the same id (SQLite reuses the highest rowid) and brought to the
    same HIGHESTMODSEQ: only its UIDVALIDITY tells the kept rows are another mailbox's."""
    store = SQLiteStore(tmp_path)
    store.add_domain(DOMAIN)
    store.add_user(ALICE, "hash")
    try:
        store.create_mailbox(ALICE, "Work")
        store.append(ALICE, "Work", b"Subject: s\r\n\r\nx\r\n", ["\\Seen"])
        before = store.flag_states(ALICE, "Work", [1])
        store.delete_mailbox(ALICE, "Work")
        store.create_mailbox(ALICE, "Work")
        store.append(ALICE, "Work", b"Subject: s\r\n\r\nx\r\n", ["$Label"])
        after = store.flag_states(ALICE, "Work", [1])
        assert [row[:2] for row in before] == [row[:2] for row in after]  # same UID, MODSEQ
        assert after == from_database(store, "Work") == [(1, after[0][1], b"$Label")]
    finally:
        store.close()


@pytest.mark.parametrize("asked", [[], [99]])
def test_nothing_asked_or_nothing_there(tmp_path: Path, asked: list[int]) -> None:
    store = SQLiteStore(tmp_path)
    store.add_domain(DOMAIN)
    store.add_user(ALICE, "hash")
    try:
        assert store.flag_states(ALICE, INBOX, asked) == []
    finally:
        store.close()
