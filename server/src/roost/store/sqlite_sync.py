"""What an IMAP session reads to build and keep its view of a mailbox (RFC 9051 §7.4, §5.2).

A session takes one consistent snapshot at SELECT, then asks only for what changed since the
highest MODSEQ it has seen: every new or changed message carries a MODSEQ above it (RFC 7162
§3.1), and expunged UIDs are remembered with theirs. Both reads use the `messages_modseq`
index, so a session with nothing new costs one small query, whatever the mailbox size.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from roost.store.errors import NoSuchMessage
from roost.store.flags import decode_flags
from roost.store.interfaces import KeptRow, MailboxChanges, MessageInfo, Selection
from roost.store.sqlite_base import SQLiteBase
from roost.store.sqlite_messages import (
    INFO_AND_STRUCTURE_QUERY,
    KEPT_ROW_QUERY,
    SEARCH_QUERY,
    json_ints,
    message_info,
)
from roost.store.sqlite_messages import INFO_QUERY as MESSAGE_QUERY


class SQLiteSync(SQLiteBase):
    def selection(self, user: str, mailbox: str, changed_since: int | None = None) -> Selection:
        """The mailbox as SELECT needs it, and the messages changed after `changed_since`
        (QRESYNC), in one read transaction. Flags are read as the distinct stored strings
        and the first unseen message found by the index, so a large mailbox costs little
        more than its list of UIDs."""
        with self._read() as conn:
            mailbox_id = self._mailbox_id(conn, user, mailbox)
            row = conn.execute(
                "SELECT name, special_use, uidvalidity, uidnext, highestmodseq FROM mailboxes "
                "WHERE id = ?",
                (mailbox_id,),
            ).fetchone()
            uids = [
                uid
                for (uid,) in conn.execute(
                    "SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid", (mailbox_id,)
                )
            ]
            stored = conn.execute(
                "SELECT DISTINCT flags FROM messages WHERE mailbox_id = ?", (mailbox_id,)
            ).fetchall()
            unseen = conn.execute(
                "SELECT uid FROM messages WHERE mailbox_id = ? "
                "AND instr(' ' || flags || ' ', ' \\Seen ') = 0 ORDER BY uid LIMIT 1",
                (mailbox_id,),
            ).fetchone()
            changed = []
            if changed_since is not None:
                changed = conn.execute(
                    MESSAGE_QUERY + "WHERE m.mailbox_id = ? AND m.modseq > ? ORDER BY m.uid",
                    (mailbox_id, changed_since),
                ).fetchall()
        keywords = frozenset(
            flag for (flags,) in stored for flag in decode_flags(flags) if flag[:1] != "\\"
        )
        return Selection(
            *row,
            uids,
            keywords,
            unseen[0] if unseen else 0,
            [message_info(r) for r in changed],
        )

    def changes_since(self, user: str, mailbox: str, modseq: int) -> MailboxChanges:
        """Messages added or changed, and UIDs expunged, after `modseq`."""
        with self._read() as conn:
            mailbox_id = self._mailbox_id(conn, user, mailbox)
            uidvalidity, uidnext, highest = conn.execute(
                "SELECT uidvalidity, uidnext, highestmodseq FROM mailboxes WHERE id = ?",
                (mailbox_id,),
            ).fetchone()
            if highest <= modseq:
                return MailboxChanges(uidvalidity, uidnext, highest, [], [])
            rows = conn.execute(
                MESSAGE_QUERY + "WHERE m.mailbox_id = ? AND m.modseq > ? ORDER BY m.uid",
                (mailbox_id, modseq),
            ).fetchall()
            expunged = conn.execute(
                "SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
                (mailbox_id, modseq),
            ).fetchall()
        return MailboxChanges(
            uidvalidity, uidnext, highest, [message_info(r) for r in rows], [r[0] for r in expunged]
        )

    def message_infos(self, user: str, mailbox: str, uids: Sequence[int]) -> list[MessageInfo]:
        """The listed messages that still exist, in UID order (FETCH of a set)."""
        with self._read() as conn:
            rows = _rows_for_uids(
                conn,
                MESSAGE_QUERY + "WHERE m.mailbox_id = ? AND ",
                self._mailbox_id(conn, user, mailbox),
                uids,
            )
        return [message_info(row) for row in rows]

    def flag_states(
        self, user: str, mailbox: str, uids: Sequence[int]
    ) -> list[tuple[int, int, bytes]]:
        """(UID, MODSEQ, stored flags) of the listed messages that still exist, in UID order:
        the flags in their stored form (`flags.encode_flags`, space-separated atoms) as
        bytes, ready for a FETCH response. From the rows kept in memory (flag_states.py)."""
        with self._read() as conn:
            mailbox_id = self._mailbox_id(conn, user, mailbox)
            kept = self._flag_states.rows(conn, mailbox_id)
            if kept is None:  # over the cap: only these rows
                return _rows_for_uids(
                    conn,
                    "SELECT m.uid, m.modseq, CAST(m.flags AS BLOB) FROM messages m "
                    "WHERE m.mailbox_id = ? AND ",
                    mailbox_id,
                    uids,
                )
        return [row for row in map(kept.get, sorted(set(uids))) if row is not None]

    def infos_and_structures(
        self, user: str, mailbox: str, uids: Sequence[int]
    ) -> tuple[list[MessageInfo], dict[int, bytes]]:
        """`message_infos` and the parsed structures kept for them (see `save_structures`,
        by UID), in one read: what a FETCH that looks into messages needs."""
        with self._read() as conn:
            rows = _rows_for_uids(
                conn,
                INFO_AND_STRUCTURE_QUERY + "WHERE m.mailbox_id = ? AND ",
                self._mailbox_id(conn, user, mailbox),
                uids,
            )
        kept = {row[0]: row[-1] for row in rows if row[-1] is not None}
        return [message_info(row[:-1]) for row in rows], kept

    def search_rows(
        self,
        user: str,
        mailbox: str,
        uids: Sequence[int],
        prefilter: tuple[bytes, tuple[bytes, ...]] | None = None,
    ) -> tuple[list[MessageInfo], dict[int, bytes], dict[int, bytes]]:
        """What a SEARCH that looks into messages needs, in one read: `message_infos`, the
        structures kept for them and the searched values kept apart (both by UID).

        `prefilter` (prefix, needles): messages whose kept searched values start with
        `prefix` and lack one of the `needles` are left out (the caller knows they cannot
        match: a header SEARCH); those with none kept or another version's stay in. The
        narrow searched values are joined before the blob rows, so a message left out
        costs no read of its wide structure."""
        where = "WHERE "
        head: tuple[object, ...] = ()
        if prefilter is not None:
            prefix, needles = prefilter
            holds_all = " AND ".join(["instr(s.data, ?) > 0"] * len(needles))
            where += f"(s.data IS NULL OR substr(s.data, 1, ?) != ? OR ({holds_all})) AND "
            head = (len(prefix), prefix, *needles)
        with self._read() as conn:
            rows = _rows_for_uids(
                conn,
                SEARCH_QUERY + where + "m.mailbox_id = ? AND ",
                self._mailbox_id(conn, user, mailbox),
                uids,
                head,
            )
        kept = {row[0]: row[-2] for row in rows if row[-2] is not None}
        searched = {row[0]: row[-1] for row in rows if row[-1] is not None}
        return [message_info(row[:-2]) for row in rows], kept, searched

    def kept_rows(
        self, user: str, mailbox: str, uids: Sequence[int], field_set: int | None = None
    ) -> list[KeptRow]:
        """The listed messages that still exist, in UID order, as plain rows with their
        kept structures (and HEADER.FIELDS answers of `field_set`: sqlite_header_fields.py):
        a FETCH answered from those alone (`roost.imap.fetchkept`) then builds no
        `MessageInfo`, no flag tuple and no date-time per message."""
        with self._read() as conn:
            return _rows_for_uids(
                conn,
                KEPT_ROW_QUERY + "WHERE m.mailbox_id = ? AND ",
                self._mailbox_id(conn, user, mailbox),
                uids,
                (field_set,),
            )

    def save_structures(
        self,
        user: str,
        mailbox: str,
        structures: dict[int, bytes],
        searched: dict[int, bytes] | None = None,
    ) -> None:
        """Keep what a reader derived from message files (immutable, so it never goes stale):
        structures, and the searched values `search_rows` returns; losing them in a crash
        costs only a parse, so one commit serves a whole batch."""
        self._write_per_message(
            user,
            mailbox,
            (
                "UPDATE blobs SET structure = ? WHERE id = "
                "(SELECT blob_id FROM messages WHERE mailbox_id = ? AND uid = ?)",
                {uid: (data,) for uid, data in structures.items()},
            ),
            (
                "INSERT OR REPLACE INTO searched_values (blob_id, data) "
                "SELECT blob_id, ? FROM messages WHERE mailbox_id = ? AND uid = ?",
                {uid: (data,) for uid, data in (searched or {}).items()},
            ),
        )

    def message_readers(
        self, user: str, mailbox: str, uids: Sequence[int]
    ) -> dict[int, Callable[[], bytes]]:
        """For a batch of messages, functions that read each one's bytes when called: one
        query for the batch instead of one per message, and no file read unless a FETCH or
        SEARCH item needs the content. A reader raises NoSuchMessage once it is expunged."""
        with self._read() as conn:
            rows = _rows_for_uids(
                conn,
                "SELECT m.uid, b.path FROM messages m JOIN blobs b ON b.id = m.blob_id "
                "WHERE m.mailbox_id = ? AND ",
                self._mailbox_id(conn, user, mailbox),
                uids,
            )
        return {uid: self._file_reader(mailbox, uid, path) for uid, path in rows}

    def _file_reader(self, mailbox: str, uid: int, path: str) -> Callable[[], bytes]:
        def read() -> bytes:
            try:
                return (self.messages_dir / path).read_bytes()
            except FileNotFoundError:  # expunged by another session since the query
                raise NoSuchMessage(mailbox, uid) from None

        return read


def _rows_for_uids(
    conn: sqlite3.Connection,
    query: str,
    mailbox_id: int,
    uids: Sequence[int],
    head: tuple[object, ...] = (),
) -> list[Any]:
    """The rows of `query` (selecting `m.uid` first, ending in "m.mailbox_id = ? AND ")
    for the listed UIDs, in UID order; `head` binds the query's parameters before those.
    A set that is most of a UID range (`1:*` and the batches of a large FETCH or SEARCH)
    is read as that range and filtered here: a range scan of the (mailbox_id, uid) key
    costs about half a lookup of each UID."""
    if not uids:
        return []
    low, high = min(uids), max(uids)
    if high - low < 2 * len(uids):
        wanted = set(uids)
        rows = conn.execute(
            query + "m.uid BETWEEN ? AND ? ORDER BY m.uid", (*head, mailbox_id, low, high)
        ).fetchall()
        return [row for row in rows if row[0] in wanted]
    return conn.execute(
        query + "m.uid IN (SELECT value FROM json_each(?)) ORDER BY m.uid",
        (*head, mailbox_id, json_ints(uids)),
    ).fetchall()
