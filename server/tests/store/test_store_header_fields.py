"""Kept HEADER.FIELDS answers (sqlite_header_fields.py): kept per message file for the field
lists clients list mailboxes with, read with the FETCH rows, gone with their message file or
their list, and never more than `MAX_SETS` lists."""

from __future__ import annotations

import pytest
from store_fixtures import ALICE

from roost.store import INBOX, SQLiteStore
from roost.store import sqlite_header_fields as header_fields

NAMES = "date from subject to"


def answers(store: SQLiteStore, mailbox: str, uids: list[int], set_id: int | None) -> list:
    return [row[7] for row in store.kept_rows(ALICE, mailbox, uids, set_id)]


def test_answers_are_kept_per_message_and_read_with_its_row(store: SQLiteStore) -> None:
    uids = [store.append(ALICE, INBOX, b"Subject: %d\r\n\r\nx\r\n" % n) for n in range(3)]
    set_id = store.header_field_set(NAMES, "1")
    assert set_id is not None
    assert store.header_field_set(NAMES, "1") == set_id
    assert answers(store, INBOX, uids, set_id) == [None, None, None]
    store.save_header_fields(ALICE, INBOX, set_id, {uids[0]: b"Subject: 0\r\n\r\n"})
    store.save_header_fields(ALICE, INBOX, set_id, {uids[0]: b"another pick", uids[2]: b"2"})
    assert answers(store, INBOX, uids, set_id) == [b"Subject: 0\r\n\r\n", None, b"2"]
    assert answers(store, INBOX, uids, None) == [None, None, None]  # no list asked
    other = store.header_field_set("subject", "1")
    assert other is not None and other != set_id
    assert answers(store, INBOX, uids, other) == [None, None, None]


def test_answers_go_with_their_message_file(store: SQLiteStore) -> None:
    """A copy shares the file, so it shares the answer; the last expunge takes it away."""
    store.create_mailbox(ALICE, "Kept")
    uid = store.append(ALICE, INBOX, b"Subject: s\r\n\r\nx\r\n")
    set_id = store.header_field_set(NAMES, "1")
    assert set_id is not None
    store.save_header_fields(ALICE, INBOX, set_id, {uid: b"Subject: s\r\n\r\n"})
    [(_, copied)] = store.copy(ALICE, INBOX, [uid], "Kept")
    assert answers(store, "Kept", [copied], set_id) == [b"Subject: s\r\n\r\n"]
    store.store_flags(ALICE, INBOX, [uid], ["\\Deleted"])
    assert store.expunge(ALICE, INBOX) == [uid]
    assert answers(store, "Kept", [copied], set_id) == [b"Subject: s\r\n\r\n"]
    store.store_flags(ALICE, "Kept", [copied], ["\\Deleted"])
    assert store.expunge(ALICE, "Kept") == [copied]
    with store._read() as conn:
        assert conn.execute("SELECT count(*) FROM header_fields").fetchone()[0] == 0


def test_at_most_max_sets_lists_are_kept_and_unused_ones_are_dropped(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    uid = store.append(ALICE, INBOX, b"Subject: s\r\n\r\nx\r\n")
    today = header_fields._today()
    monkeypatch.setattr(header_fields, "_today", lambda: today - header_fields.UNUSED_DAYS - 1)
    unused = store.header_field_set("x-unused", "1")
    assert unused is not None
    store.save_header_fields(ALICE, INBOX, unused, {uid: b"X-Unused: 1\r\n\r\n"})
    monkeypatch.setattr(header_fields, "_today", lambda: today)
    # Unused for longer than UNUSED_DAYS: dropped with its answers when a list is made.
    kept = [store.header_field_set(f"x-{n}", "1") for n in range(header_fields.MAX_SETS)]
    assert None not in kept and unused not in kept  # ids are not reused
    assert answers(store, INBOX, [uid], unused) == [None]
    store.save_header_fields(ALICE, INBOX, unused, {uid: b"late"})  # a dropped list: no-op
    assert answers(store, INBOX, [uid], unused) == [None]
    # Full, all in use: a new list is not kept; the kept ones still are.
    assert store.header_field_set("x-one-more", "1") is None
    assert store.header_field_set("x-0", "1") == kept[0]


def test_answers_another_picker_version_made_are_dropped(store: SQLiteStore) -> None:
    uid = store.append(ALICE, INBOX, b"Subject: s\r\n\r\nx\r\n")
    old = store.header_field_set(NAMES, "1")
    assert old is not None
    store.save_header_fields(ALICE, INBOX, old, {uid: b"picked by version 1"})
    new = store.header_field_set(NAMES, "2")
    assert new is not None
    assert answers(store, INBOX, [uid], new) == [None]
    assert answers(store, INBOX, [uid], old) == [None]
    with store._read() as conn:
        assert conn.execute("SELECT names FROM header_field_sets").fetchall() == [(f"2 {NAMES}",)]
