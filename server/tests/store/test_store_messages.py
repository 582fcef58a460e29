"""Mailboxes and messages as IMAP will see them: UIDs, MODSEQs, flags, folders."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from store_fixtures import ALICE, BOB

from roost.store import (
    AlreadyExists,
    InvalidFlag,
    MailboxNotAllowed,
    NoSuchMailbox,
    NoSuchMessage,
    NoSuchUser,
    SQLiteStore,
)

MESSAGE = b"From: a@remote.test\r\nSubject: hi\r\n\r\nhello\r\n"


def counts(store: SQLiteStore, user: str) -> dict[str, tuple[int, int]]:
    return {box.name: (box.messages, box.unseen) for box in store.list_mailboxes(user)}


def test_delivery_to_several_users_lands_in_each_inbox(store: SQLiteStore) -> None:
    store.deliver([ALICE, "BOB@example.test", ALICE], MESSAGE)
    for user in (ALICE, BOB):
        assert counts(store, user)["INBOX"] == (1, 1)
        assert store.fetch(user, "inbox", 1) == MESSAGE
    assert len([p for p in store.messages_dir.rglob("*") if p.is_file()]) == 1  # one shared file


def test_junk_delivery_goes_to_the_junk_folder_with_flags(store: SQLiteStore) -> None:
    when = datetime(2024, 2, 29, 12, 0, tzinfo=timezone(timedelta(hours=-5)))
    store.deliver(
        [ALICE], MESSAGE, special_use="\\Junk", flags=["\\seen", "$Phishing"], internaldate=when
    )
    assert counts(store, ALICE)["Junk"] == (1, 0)
    assert counts(store, ALICE)["INBOX"] == (0, 0)
    (info,) = store.messages(ALICE, "Junk")
    assert info.flags == ("$Phishing", "\\Seen")
    assert info.internaldate == when and info.internaldate.utcoffset() == when.utcoffset()
    assert info.size == len(MESSAGE)


def test_special_use_falls_back_to_inbox_when_the_folder_is_gone(store: SQLiteStore) -> None:
    store.delete_mailbox(ALICE, "Junk")
    store.deliver([ALICE], MESSAGE, special_use="\\Junk")
    assert counts(store, ALICE)["INBOX"] == (1, 1)


def test_delivery_to_an_unknown_user_writes_nothing(store: SQLiteStore) -> None:
    with pytest.raises(NoSuchUser):
        store.deliver([ALICE, "nobody@example.test"], MESSAGE)
    assert counts(store, ALICE)["INBOX"] == (0, 0)
    assert not [p for p in store.messages_dir.rglob("*") if p.is_file()]


def test_uids_ascend_and_are_never_reused(store: SQLiteStore) -> None:
    """RFC 9051 §2.3.1.1: UIDs strictly ascend; an expunged UID is never handed out again."""
    uids = [store.append(ALICE, "INBOX", MESSAGE) for _ in range(3)]
    assert uids == [1, 2, 3]
    store.store_flags(ALICE, "INBOX", [3], ["\\Deleted"], "add")
    assert store.expunge(ALICE, "INBOX") == [3]
    assert store.append(ALICE, "INBOX", MESSAGE) == 4
    info = store.mailbox_info(ALICE, "INBOX")
    assert (info.messages, info.uidnext) == (3, 5)
    with pytest.raises(NoSuchMessage):
        store.fetch(ALICE, "INBOX", 3)


def test_uidvalidity_differs_for_a_recreated_mailbox(store: SQLiteStore) -> None:
    store.create_mailbox(ALICE, "Lists")
    first = store.mailbox_info(ALICE, "Lists").uidvalidity
    store.delete_mailbox(ALICE, "Lists")
    store.create_mailbox(ALICE, "Lists")
    assert store.mailbox_info(ALICE, "Lists").uidvalidity > first
    assert 0 < first < 2**32


def test_uidvalidity_grows_even_if_the_clock_steps_back(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    newest = max(box.uidvalidity for box in store.list_mailboxes(BOB))
    monkeypatch.setattr(time, "time", lambda: 1_000_000.0)
    store.create_mailbox(ALICE, "Later")
    assert store.mailbox_info(ALICE, "Later").uidvalidity == newest + 1


def test_flags_store_bumps_modseq_only_on_change(store: SQLiteStore) -> None:
    """RFC 7162 §3.1: each change takes a new, higher MODSEQ; a no-op STORE takes none."""
    store.append(ALICE, "INBOX", MESSAGE)
    store.append(ALICE, "INBOX", MESSAGE, flags=["\\Seen"])
    before = store.mailbox_info(ALICE, "INBOX").highestmodseq
    changed = store.store_flags(ALICE, "INBOX", [1, 2, 99], ["\\SEEN", "Work"], "add")
    assert [(m.uid, m.flags) for m in changed] == [(1, ("\\Seen", "Work")), (2, ("\\Seen", "Work"))]
    after = store.mailbox_info(ALICE, "INBOX")
    assert after.highestmodseq == changed[0].modseq > before
    assert after.unseen == 0
    assert store.store_flags(ALICE, "INBOX", [1, 2], ["\\Seen"], "add") == []
    assert store.mailbox_info(ALICE, "INBOX").highestmodseq == after.highestmodseq
    removed = store.store_flags(ALICE, "INBOX", [1], ["work"], "remove")
    assert removed[0].flags == ("\\Seen",)
    replaced = store.store_flags(ALICE, "INBOX", [2], ["\\Flagged"], "set")
    assert replaced[0].flags == ("\\Flagged",)
    assert counts(store, ALICE)["INBOX"] == (2, 1)


def test_unchanged_since_leaves_newer_messages_alone(store: SQLiteStore) -> None:
    store.append(ALICE, "INBOX", MESSAGE)
    store.append(ALICE, "INBOX", MESSAGE)
    (first,) = store.store_flags(ALICE, "INBOX", [1], ["\\Answered"], "add")
    changed = store.store_flags(
        ALICE, "INBOX", [1, 2], ["\\Seen"], "add", unchanged_since=first.modseq - 1
    )
    assert [m.uid for m in changed] == [2]


@pytest.mark.parametrize("flag", ["\\Recent", "\\Bogus", "two words", "paren(", ""])
def test_unstorable_flags_are_refused(store: SQLiteStore, flag: str) -> None:
    with pytest.raises(InvalidFlag):
        store.append(ALICE, "INBOX", MESSAGE, flags=[flag])


def test_copy_and_move_keep_flags_and_date(store: SQLiteStore) -> None:
    when = datetime(2020, 1, 1, tzinfo=UTC)
    store.append(ALICE, "INBOX", MESSAGE, flags=["\\Flagged"], internaldate=when)
    store.append(ALICE, "INBOX", b"Subject: two\r\n\r\n2\r\n")
    assert store.copy(ALICE, "INBOX", [1, 2, 7], "Archive") == [(1, 1), (2, 2)]
    assert store.move(ALICE, "INBOX", [2], "Trash") == [(2, 1)]
    (copied, _) = store.messages(ALICE, "Archive")
    assert (copied.flags, copied.internaldate) == (("\\Flagged",), when)
    assert [m.uid for m in store.messages(ALICE, "INBOX")] == [1]
    assert store.fetch(ALICE, "Trash", 1) == b"Subject: two\r\n\r\n2\r\n"
    assert store.expunged_since(ALICE, "INBOX", 0) == [2]


def test_expunge_only_deleted_and_only_listed_uids(store: SQLiteStore) -> None:
    for _ in range(4):
        store.append(ALICE, "INBOX", MESSAGE)
    store.store_flags(ALICE, "INBOX", [1, 2, 3], ["\\Deleted"], "add")
    assert store.expunge(ALICE, "INBOX", uids=[2, 4]) == [2]
    mark = store.mailbox_info(ALICE, "INBOX").highestmodseq
    assert store.expunge(ALICE, "INBOX") == [1, 3]
    assert store.expunged_since(ALICE, "INBOX", mark) == [1, 3]
    assert [m.uid for m in store.messages(ALICE, "INBOX")] == [4]


def test_files_go_with_their_last_message(store: SQLiteStore) -> None:
    def files() -> int:
        return len([p for p in store.messages_dir.rglob("*") if p.is_file()])

    store.deliver([ALICE, BOB], MESSAGE)
    store.store_flags(ALICE, "INBOX", [1], ["\\Deleted"])
    store.expunge(ALICE, "INBOX")
    assert files() == 1 and store.fetch(BOB, "INBOX", 1) == MESSAGE
    store.remove_user(BOB)
    assert files() == 0


def test_mailbox_create_rename_delete(store: SQLiteStore) -> None:
    store.create_mailbox(ALICE, "Projects/Roost", special_use="\\Flagged")
    with pytest.raises(AlreadyExists):
        store.create_mailbox(ALICE, "Projects/Roost")
    with pytest.raises(AlreadyExists):
        store.create_mailbox(ALICE, "inbox")
    with pytest.raises(MailboxNotAllowed):
        store.create_mailbox(ALICE, "bad\nname")
    with pytest.raises(MailboxNotAllowed):
        store.create_mailbox(ALICE, "x", special_use="\\Important")
    uid = store.append(ALICE, "Projects/Roost", MESSAGE)
    old = store.mailbox_info(ALICE, "Projects/Roost")
    store.rename_mailbox(ALICE, "Projects/Roost", "Done")
    new = store.mailbox_info(ALICE, "Done")
    assert (new.messages, new.special_use, new.uidnext) == (1, "\\Flagged", old.uidnext)
    assert new.uidvalidity > old.uidvalidity
    assert store.fetch(ALICE, "Done", uid) == MESSAGE
    with pytest.raises(NoSuchMailbox):
        store.mailbox_info(ALICE, "Projects/Roost")
    with pytest.raises(AlreadyExists):
        store.rename_mailbox(ALICE, "Done", "Sent")
    with pytest.raises(MailboxNotAllowed):
        store.delete_mailbox(ALICE, "INBOX")
    store.delete_mailbox(ALICE, "Done")
    assert "Done" not in counts(store, ALICE)


def test_renaming_inbox_moves_its_messages_and_keeps_it(store: SQLiteStore) -> None:
    """RFC 9051 §6.3.6: INBOX is renamed by moving its messages; INBOX itself remains."""
    store.append(ALICE, "INBOX", MESSAGE)
    before = store.mailbox_info(ALICE, "INBOX")
    store.rename_mailbox(ALICE, "INBOX", "Old mail")
    assert counts(store, ALICE)["Old mail"] == (1, 1)
    inbox = store.mailbox_info(ALICE, "INBOX")
    assert (inbox.messages, inbox.uidvalidity, inbox.uidnext) == (0, before.uidvalidity, 2)
    assert store.expunged_since(ALICE, "INBOX", before.highestmodseq) == [1]
    assert store.append(ALICE, "INBOX", MESSAGE) == 2


def test_subscriptions(store: SQLiteStore) -> None:
    store.subscribe(ALICE, "Not/Yet/Created")
    store.unsubscribe(ALICE, "Junk")
    subs = store.list_subscriptions(ALICE)
    assert "Not/Yet/Created" in subs and "Junk" not in subs
    with pytest.raises(NoSuchMailbox):
        store.unsubscribe(ALICE, "Junk")


def test_unknown_mailbox_and_user_errors_name_the_fix(store: SQLiteStore) -> None:
    with pytest.raises(NoSuchMailbox, match=r"roost mailbox list alice@example\.test"):
        store.append(ALICE, "Nope", MESSAGE)
    with pytest.raises(NoSuchUser):
        store.append("nobody@example.test", "INBOX", MESSAGE)
    assert not [p for p in store.messages_dir.rglob("*") if p.is_file()]
