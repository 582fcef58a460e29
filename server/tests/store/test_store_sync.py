"""What IMAP sessions read to stay in step (changes since a MODSEQ, kept structures, batch
readers) and the change feed that wakes them."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from store_fixtures import ALICE, BOB

from roost.store import INBOX, NoSuchMessage, SQLiteStore
from roost.store.notify import LocalChanges


def test_changes_since_a_modseq_are_new_changed_and_expunged(store: SQLiteStore) -> None:
    first = store.append(ALICE, INBOX, b"Subject: 1\r\n\r\none\r\n")
    second = store.append(ALICE, INBOX, b"Subject: 2\r\n\r\ntwo\r\n")
    seen = store.selection(ALICE, INBOX).highestmodseq
    assert store.changes_since(ALICE, INBOX, seen).changed == []
    store.store_flags(ALICE, INBOX, [first], ["\\Deleted"], "add")
    third = store.append(ALICE, INBOX, b"Subject: 3\r\n\r\nthree\r\n")
    store.expunge(ALICE, INBOX)
    changes = store.changes_since(ALICE, INBOX, seen)
    assert [m.uid for m in changes.changed] == [third]
    assert changes.expunged == [first]
    assert changes.highestmodseq > seen
    assert [m.uid for m in store.message_infos(ALICE, INBOX, [first, second, third])] == [
        second,
        third,
    ]


def test_structures_are_kept_per_message_and_go_with_it(store: SQLiteStore) -> None:
    uid = store.append(ALICE, INBOX, b"Subject: s\r\n\r\nbody\r\n")
    assert store.infos_and_structures(ALICE, INBOX, [uid])[1] == {}
    assert store.search_rows(ALICE, INBOX, [uid])[1:] == ({}, {})
    store.save_structures(ALICE, INBOX, {uid: b"[1]"}, {uid: b"values"})
    assert store.infos_and_structures(ALICE, INBOX, [uid])[1] == {uid: b"[1]"}
    assert store.search_rows(ALICE, INBOX, [uid])[1:] == ({uid: b"[1]"}, {uid: b"values"})
    store.save_structures(ALICE, INBOX, {}, {uid: b"values again"})  # replaced, not added
    assert store.search_rows(ALICE, INBOX, [uid])[1:] == ({uid: b"[1]"}, {uid: b"values again"})
    store.store_flags(ALICE, INBOX, [uid], ["\\Deleted"])
    store.expunge(ALICE, INBOX)
    assert store.infos_and_structures(ALICE, INBOX, [uid])[1] == {}
    conn = store._conn()
    assert conn.execute("SELECT count(*) FROM searched_values").fetchone()[0] == 0


def test_kept_rows_carry_what_message_infos_do_and_the_kept_structure(
    store: SQLiteStore,
) -> None:
    """A FETCH answered from kept structures formats these rows as the general renderer
    formats `message_infos`: the same UID, MODSEQ, flags, size and INTERNALDATE."""
    when = datetime(2026, 11, 30, 1, 2, 3, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    uids = [
        store.append(ALICE, INBOX, b"Subject: k\r\n\r\nkept\r\n", ["$Label", "\\Seen"], when),
        store.append(ALICE, INBOX, b"Subject: n\r\n\r\nnone kept\r\n"),
    ]
    store.save_structures(ALICE, INBOX, {uids[0]: b"kept"})
    rows = store.kept_rows(ALICE, INBOX, [*uids, uids[-1] + 1])
    infos = store.message_infos(ALICE, INBOX, uids)
    assert [row[0] for row in rows] == uids
    for (uid, modseq, flags, size, seconds, offset, *_), info in zip(rows, infos, strict=True):
        assert (uid, modseq, size) == (info.uid, info.modseq, info.size)
        assert flags == " ".join(info.flags).encode()
        when_read = datetime.fromtimestamp(seconds, timezone(timedelta(minutes=offset)))
        assert (when_read, when_read.utcoffset()) == (
            info.internaldate,
            info.internaldate.utcoffset(),
        )
    assert rows[0][2] == b"$Label \\Seen"
    assert rows[0][4:6] == (int(when.timestamp()), 330)
    assert [row[6] for row in rows] == [b"kept", None]


def test_readers_read_when_called_and_say_when_a_message_is_gone(store: SQLiteStore) -> None:
    uid = store.append(ALICE, INBOX, b"Subject: r\r\n\r\nread me\r\n")
    read = store.message_readers(ALICE, INBOX, [uid, 999])
    assert list(read) == [uid]
    store.store_flags(ALICE, INBOX, [uid], ["\\Deleted"])
    store.expunge(ALICE, INBOX)
    with pytest.raises(NoSuchMessage):
        read[uid]()


def test_the_feed_wakes_only_the_changed_users_sessions(store: SQLiteStore) -> None:
    async def scenario() -> list[str]:
        woken: list[str] = []
        stop_alice = store.changes.subscribe(ALICE, lambda: woken.append("alice"))
        store.changes.subscribe(BOB, lambda: woken.append("bob"))
        # Deliveries commit in a worker thread; the callback still runs on this loop.
        await asyncio.to_thread(store.deliver, [ALICE], b"Subject: d\r\n\r\nx\r\n")
        await asyncio.sleep(0)
        stop_alice()
        await asyncio.to_thread(store.deliver, [ALICE], b"Subject: e\r\n\r\ny\r\n")
        await asyncio.sleep(0)
        return woken

    assert isinstance(store.changes, LocalChanges)
    assert asyncio.run(scenario()) == ["alice"]


@pytest.mark.parametrize("spread", [1, 5], ids=["dense set: range scan", "sparse set: by UID"])
def test_batch_reads_return_exactly_the_listed_messages_in_uid_order(
    store: SQLiteStore, spread: int
) -> None:
    """Dense sets are read as a UID range and filtered, sparse ones UID by UID: either way
    only the listed messages that still exist come back, whatever lies between them."""
    uids = [store.append(ALICE, INBOX, b"Subject: %d\r\n\r\nx\r\n" % n) for n in range(30)]
    store.store_flags(ALICE, INBOX, uids[3:8], ["\\Seen", "$Label"], "add")
    store.store_flags(ALICE, INBOX, [uids[4]], ["\\Deleted"], "add")
    store.expunge(ALICE, INBOX)
    chosen = [uid for n, uid in enumerate(uids) if n % 7 != 3][::spread]  # skips some between
    asked = [*reversed(chosen), uids[-1] + 1]  # unsorted, one never existed
    present = [u for u in chosen if u != uids[4]]
    states = store.flag_states(ALICE, INBOX, asked)
    assert [uid for uid, _, _ in states] == present
    assert all(isinstance(flags, bytes) for _, _, flags in states)
    infos = {info.uid: info for info in store.message_infos(ALICE, INBOX, asked)}
    assert list(infos) == present
    for uid, modseq, flags in states:
        assert (modseq, flags.split()) == (
            infos[uid].modseq,
            [f.encode() for f in infos[uid].flags],
        )
    assert b"$Label \\Seen" in {flags for _, _, flags in states}
    store.save_structures(ALICE, INBOX, dict.fromkeys(uids, b"kept"))
    assert list(store.infos_and_structures(ALICE, INBOX, asked)[1]) == present
    assert sorted(store.message_readers(ALICE, INBOX, asked)) == present
    assert store.flag_states(ALICE, INBOX, []) == []


def test_selection_has_uids_keywords_first_unseen_and_what_changed(store: SQLiteStore) -> None:
    empty = store.selection(ALICE, INBOX)
    assert (empty.uids, empty.keywords, empty.first_unseen, empty.changed) == ([], set(), 0, [])
    uids = [store.append(ALICE, INBOX, b"Subject: %d\r\n\r\nx\r\n" % n) for n in range(4)]
    store.store_flags(ALICE, INBOX, uids[:2], ["\\Seen", "$Work"], "add")
    store.store_flags(ALICE, INBOX, [uids[3]], ["\\Seen", "\\Flagged", "Later"], "add")
    before = store.selection(ALICE, INBOX).highestmodseq
    store.store_flags(ALICE, INBOX, [uids[1]], ["\\Answered"], "add")
    selection = store.selection(ALICE, INBOX, changed_since=before)
    assert selection.uids == uids
    assert selection.keywords == {"$Work", "Later"}
    assert selection.first_unseen == uids[2]
    assert [(m.uid, m.flags) for m in selection.changed] == [
        (uids[1], ("$Work", "\\Answered", "\\Seen"))
    ]
    assert selection.highestmodseq == selection.changed[0].modseq
    assert store.selection(ALICE, INBOX).changed == []
    store.store_flags(ALICE, INBOX, [uids[2]], ["\\Seen"], "add")
    assert store.selection(ALICE, INBOX).first_unseen == 0


def test_prefilter_leaves_out_only_kept_values_that_lack_a_needle(store: SQLiteStore) -> None:
    """The searched values after the prefix are searched, not the structure."""
    uids = [store.append(ALICE, INBOX, b"Subject: %d\r\n\r\nx\r\n" % n) for n in range(6)]
    store.save_structures(
        ALICE,
        INBOX,
        dict.fromkeys(uids, b"structure: invoice r\xc3\xa9sum\xc3\xa9"),
        {
            uids[0]: b"values-1:invoice r\xc3\xa9sum\xc3\xa9",
            uids[1]: b"values-1:invoice only",
            uids[2]: b"values-1:nothing",
            uids[3]: b"values-0:nothing, but another version",
            uids[4]: b"values-1:r\xc3\xa9sum\xc3\xa9, invoice",
        },
    )  # uids[5] has none kept
    prefilter = (b"values-1:", (b"invoice", "résumé".encode()))
    infos, kept, searched = store.search_rows(ALICE, INBOX, uids, prefilter)
    left_in = [uids[0], uids[3], uids[4], uids[5]]
    assert [info.uid for info in infos] == left_in
    assert list(kept) == left_in
    assert list(searched) == [uids[0], uids[3], uids[4]]
    assert searched[uids[3]] == b"values-0:nothing, but another version"
    infos, kept, searched = store.search_rows(ALICE, INBOX, uids)
    assert [info.uid for info in infos] == uids and list(searched) == uids[:5]
    assert infos == store.message_infos(ALICE, INBOX, uids)
