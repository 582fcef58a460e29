"""Messages in SQLite plus one file each: delivery, IMAP APPEND/FETCH/STORE/COPY/EXPUNGE.

Ordering is what makes this crash-safe: the message file is written and fsynced (file and
directory) *before* the index row is committed, so a committed row never names a missing
file. A crash in between leaves only an unreferenced file, swept at the next start. Deletion
runs the other way round: rows are committed away first, files unlinked afterwards.

One file is shared by every recipient of a delivery (and by IMAP COPY): messages are
immutable, so sharing is safe, and a message to ten local users costs one write and one fsync
instead of ten. The `blobs` table tracks the file; it is deleted with its last message row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from roost.durable import Joined, new_message_path, remove_files, write_durably
from roost.store.addresses import normalize_address
from roost.store.errors import NoSuchMessage
from roost.store.flags import (
    DELETED,
    apply_flags,
    decode_flags,
    encode_flags,
    normalize_flags,
)
from roost.store.interfaces import INBOX, FlagMode, MessageInfo, from_stored_time
from roost.store.mbox import write_mboxrd
from roost.store.sqlite_base import SQLiteBase, to_stored_time

T = TypeVar("T")

_COLUMNS = "SELECT m.uid, m.modseq, m.flags, m.internaldate, m.tzoffset, b.size"  # message_info
_INFO = _COLUMNS + " FROM messages m "
_JOIN_BLOB = "JOIN blobs b ON b.id = m.blob_id "
INFO_QUERY = _INFO + _JOIN_BLOB
INFO_AND_STRUCTURE_QUERY = _COLUMNS + ", b.structure FROM messages m " + _JOIN_BLOB
SEARCH_QUERY = (  # the searched values first: CROSS JOIN keeps SQLite from reordering
    _COLUMNS + ", b.structure, s.data FROM messages m LEFT JOIN searched_values s "
    "ON s.blob_id = m.blob_id CROSS JOIN blobs b ON b.id = m.blob_id "
)
KEPT_ROW_QUERY = (  # interfaces.KeptRow; binds a header field set's id (or NULL) first
    "SELECT m.uid, m.modseq, CAST(m.flags AS BLOB), b.size, m.internaldate, m.tzoffset, "
    "b.structure, h.data FROM messages m " + _JOIN_BLOB + "LEFT JOIN header_fields h "
    "ON h.blob_id = m.blob_id AND h.set_id = ? "
)


def message_info(row: Sequence[Any]) -> MessageInfo:
    uid, modseq, flags, seconds, offset, size = row
    return MessageInfo(uid, modseq, decode_flags(flags), from_stored_time(seconds, offset), size)


def _next_modseq(conn: sqlite3.Connection, mailbox_id: int) -> int:
    """One MODSEQ per change to a mailbox, shared by every message that change touches."""
    (modseq,) = conn.execute(
        "UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ? "
        "RETURNING highestmodseq",
        (mailbox_id,),
    ).fetchone()
    return int(modseq)


def _insert(
    conn: sqlite3.Connection,
    mailbox_id: int,
    blob_id: int,
    flags: str,
    stored_time: tuple[int, int],
) -> int:
    """Add a message row with the mailbox's next UID (RFC 9051 §2.3.1.1: strictly ascending)."""
    uid, modseq = conn.execute(
        "UPDATE mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1 "
        "WHERE id = ? RETURNING uidnext - 1, highestmodseq",
        (mailbox_id,),
    ).fetchone()
    conn.execute(
        "INSERT INTO messages (mailbox_id, uid, modseq, blob_id, internaldate, tzoffset, flags) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (mailbox_id, uid, modseq, blob_id, *stored_time, flags),
    )
    return int(uid)


@dataclass(frozen=True)
class Delivery:
    """One message for local users (see `SQLiteMessages.deliver`)."""

    users: Sequence[str]
    message: bytes | Joined  # Joined: a large message, copied from the file it arrived in
    special_use: str | None = None
    flags: Sequence[str] = ()
    internaldate: datetime | None = None


class SQLiteMessages(SQLiteBase):
    def deliver(
        self,
        users: Sequence[str],
        message: bytes,
        *,
        special_use: str | None = None,
        flags: Sequence[str] = (),
        internaldate: datetime | None = None,
    ) -> None:
        """Durable on return, so SMTP may answer `250` right after (RFC 5321 §6.1).

        `special_use` picks the user's folder with that RFC 6154 attribute (`\\Junk` for
        DMARC quarantine), else INBOX. Unknown users are refused before anything is written.
        """
        (error,) = self.deliver_many(
            [Delivery(users, message, special_use, tuple(flags), internaldate)]
        )
        if error is not None:
            raise error

    def deliver_many(self, deliveries: Sequence[Delivery]) -> list[Exception | None]:
        """Each delivery as `deliver` does, succeeding or failing on its own (the error, or
        None, in order), with one commit (one WAL fsync) for all of them."""
        errors: list[Exception | None] = [None] * len(deliveries)
        pending: list[tuple[int, Path, Callable[[sqlite3.Connection], None]]] = []
        for n, delivery in enumerate(deliveries):
            try:
                recipients = list(dict.fromkeys(normalize_address(u) for u in delivery.users))
                with self._read() as conn:
                    for user in recipients:
                        self._user_id(conn, user)
                if not recipients:
                    continue
                path = self._write_file(delivery.message)
            except Exception as exc:
                errors[n] = exc
                continue
            pending.append((n, path, self._placement(delivery, recipients, path)))
        outcomes = self._write_batch([work for _, _, work in pending])
        changed: set[str] = set()
        for (n, path, _), outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, Exception):
                errors[n] = outcome
                path.unlink(missing_ok=True)
            else:
                changed.update(normalize_address(u) for u in deliveries[n].users)
        for user in changed:
            self.changes.publish(user)
        return errors

    def _placement(
        self, delivery: Delivery, recipients: list[str], path: Path
    ) -> Callable[[sqlite3.Connection], None]:
        stored_flags = encode_flags(normalize_flags(delivery.flags))
        stored_time = to_stored_time(delivery.internaldate)

        def place(conn: sqlite3.Connection, blob_id: int) -> None:
            for user in recipients:
                target = self._target(conn, user, delivery.special_use)
                _insert(conn, target, blob_id, stored_flags, stored_time)

        return self._indexing(path, len(delivery.message), place)

    def _target(self, conn: sqlite3.Connection, user: str, special_use: str | None) -> int:
        """The user's folder with that RFC 6154 attribute; INBOX if they deleted it."""
        if special_use is not None:
            row = conn.execute(
                "SELECT id FROM mailboxes WHERE user_id = ? AND special_use = ? ORDER BY id",
                (self._user_id(conn, user), special_use),
            ).fetchone()
            if row is not None:
                return int(row[0])
        return self._mailbox_id(conn, user, INBOX)

    def append(
        self,
        user: str,
        mailbox: str,
        message: bytes,
        flags: Sequence[str] = (),
        internaldate: datetime | None = None,
    ) -> int:
        """IMAP APPEND (RFC 9051 §6.3.12); returns the UID for APPENDUID (RFC 4315)."""
        stored_flags = encode_flags(normalize_flags(flags))
        stored_time = to_stored_time(internaldate)
        with self._read() as conn:
            self._mailbox_id(conn, user, mailbox)
        uid = self._add_blob(
            message,
            lambda conn, blob_id: _insert(
                conn, self._mailbox_id(conn, user, mailbox), blob_id, stored_flags, stored_time
            ),
        )
        self._changed(user)
        return uid

    def _add_blob(self, message: bytes, place: Callable[[sqlite3.Connection, int], T]) -> T:
        """Write the file durably, then commit its index rows; undo the file if that fails."""
        path = self._write_file(message)
        try:
            return self._grouped_write(self._indexing(path, len(message), place))
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def _write_file(self, message: bytes | Joined) -> Path:
        path = new_message_path(self.messages_dir)
        write_durably(path, message)
        return path

    def _indexing(
        self, path: Path, size: int, place: Callable[[sqlite3.Connection, int], T]
    ) -> Callable[[sqlite3.Connection], T]:
        """The index rows for a message file: its blob row, then `place` (folder entries)."""
        relative = f"{path.parent.name}/{path.name}"

        def index(conn: sqlite3.Connection) -> T:
            cursor = conn.execute("INSERT INTO blobs (path, size) VALUES (?, ?)", (relative, size))
            return place(conn, int(cursor.lastrowid or 0))

        return index

    def messages(self, user: str, mailbox: str) -> list[MessageInfo]:
        """Every message's UID, MODSEQ, flags, INTERNALDATE and size, in UID order."""
        with self._read() as conn:
            rows = conn.execute(
                _INFO + _JOIN_BLOB + "WHERE m.mailbox_id = ? ORDER BY m.uid",
                (self._mailbox_id(conn, user, mailbox),),
            ).fetchall()
        return [message_info(row) for row in rows]

    def fetch(self, user: str, mailbox: str, uid: int) -> bytes:
        """The message exactly as received (RFC 9051 §6.4.5 BODY[])."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT b.path FROM messages m "
                + _JOIN_BLOB
                + "WHERE m.mailbox_id = ? AND m.uid = ?",
                (self._mailbox_id(conn, user, mailbox), uid),
            ).fetchone()
        if row is None:
            raise NoSuchMessage(mailbox, uid)
        try:
            return (self.messages_dir / str(row[0])).read_bytes()
        except FileNotFoundError:  # expunged by another session since the query
            raise NoSuchMessage(mailbox, uid) from None

    def store_flags(
        self,
        user: str,
        mailbox: str,
        uids: Sequence[int],
        flags: Sequence[str],
        mode: FlagMode = "set",
        *,
        unchanged_since: int | None = None,
    ) -> list[MessageInfo]:
        """RFC 9051 §6.4.6 STORE; returns the messages whose flags changed, with new MODSEQs.

        With `unchanged_since` (RFC 7162 §3.1.3 UNCHANGEDSINCE), messages modified after that
        MODSEQ are left alone; the caller reports them as MODIFIED by comparing UIDs.
        """
        change = normalize_flags(flags)
        with self._write() as conn:
            mailbox_id = self._mailbox_id(conn, user, mailbox)
            rows = conn.execute(
                "SELECT uid, modseq, flags FROM messages WHERE mailbox_id = ? AND uid IN "
                "(SELECT value FROM json_each(?)) ORDER BY uid",
                (mailbox_id, json_ints(uids)),
            ).fetchall()
            updates = []
            for uid, modseq, stored in rows:
                if unchanged_since is not None and modseq > unchanged_since:
                    continue
                new = encode_flags(apply_flags(decode_flags(stored), change, mode))
                if new != stored:
                    updates.append((new, uid))
            if not updates:
                return []
            modseq = _next_modseq(conn, mailbox_id)
            conn.executemany(
                "UPDATE messages SET flags = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?",
                [(new, modseq, mailbox_id, uid) for new, uid in updates],
            )
            changed = conn.execute(
                _INFO + _JOIN_BLOB + "WHERE m.mailbox_id = ? AND m.modseq = ? ORDER BY m.uid",
                (mailbox_id, modseq),
            ).fetchall()
        self._changed(user)
        return [message_info(row) for row in changed]

    def copy(
        self, user: str, mailbox: str, uids: Sequence[int], target: str
    ) -> list[tuple[int, int]]:
        """RFC 9051 §6.4.7 COPY: flags and INTERNALDATE kept; returns (old, new) UID pairs
        for COPYUID (RFC 4315 §3). The copies share the original's file."""
        with self._write() as conn:
            pairs = self._copy(conn, user, mailbox, uids, target)
        self._changed(user)
        return pairs

    def move(
        self, user: str, mailbox: str, uids: Sequence[int], target: str
    ) -> list[tuple[int, int]]:
        """RFC 6851 MOVE: copy and expunge in one transaction, so no state shows both or neither."""
        with self._write() as conn:
            pairs = self._copy(conn, user, mailbox, uids, target)
            source_id = self._mailbox_id(conn, user, mailbox)
            paths = self._expunge(conn, source_id, [old for old, _ in pairs])
        remove_files(self.messages_dir, paths)  # empty unless target is the source itself
        self._changed(user)
        return pairs

    def _copy(
        self, conn: sqlite3.Connection, user: str, mailbox: str, uids: Sequence[int], target: str
    ) -> list[tuple[int, int]]:
        source_id = self._mailbox_id(conn, user, mailbox)
        target_id = self._mailbox_id(conn, user, target)
        rows = conn.execute(
            "SELECT uid, blob_id, flags, internaldate, tzoffset FROM messages "
            "WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid",
            (source_id, json_ints(uids)),
        ).fetchall()
        return [
            (uid, _insert(conn, target_id, blob_id, flags, (seconds, offset)))
            for uid, blob_id, flags, seconds, offset in rows
        ]

    def expunge(self, user: str, mailbox: str, uids: Sequence[int] | None = None) -> list[int]:
        """RFC 9051 §6.4.3 EXPUNGE (all `\\Deleted`) or UID EXPUNGE (§6.4.9, only `uids`)."""
        with self._write() as conn:
            mailbox_id = self._mailbox_id(conn, user, mailbox)
            rows = conn.execute(
                "SELECT uid, flags FROM messages WHERE mailbox_id = ? ORDER BY uid", (mailbox_id,)
            ).fetchall()
            wanted = None if uids is None else set(uids)
            doomed = [
                uid
                for uid, flags in rows
                if DELETED in decode_flags(flags) and (wanted is None or uid in wanted)
            ]
            paths = self._expunge(conn, mailbox_id, doomed)
        remove_files(self.messages_dir, paths)
        if doomed:
            self._changed(user)
        return doomed

    def _expunge(self, conn: sqlite3.Connection, mailbox_id: int, uids: list[int]) -> list[str]:
        """Delete rows and remember them for QRESYNC; returns files to unlink after commit."""
        if not uids:
            return []
        modseq = _next_modseq(conn, mailbox_id)
        blob_ids = [
            row[0]
            for row in conn.execute(
                "DELETE FROM messages WHERE mailbox_id = ? AND uid IN "
                "(SELECT value FROM json_each(?)) RETURNING blob_id",
                (mailbox_id, json_ints(uids)),
            )
        ]
        conn.executemany(
            "INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)",
            [(mailbox_id, uid, modseq) for uid in uids],
        )
        return self._release_blobs(conn, blob_ids)

    def expunged_since(self, user: str, mailbox: str, modseq: int) -> list[int]:
        """UIDs expunged after `modseq`, for QRESYNC's VANISHED (EARLIER) (RFC 7162 §3.2.5)."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
                (self._mailbox_id(conn, user, mailbox), modseq),
            ).fetchall()
        return [row[0] for row in rows]

    def export_mbox(self, user: str, mailbox: str, out: BinaryIO) -> int:
        """The mailbox as mboxrd, in UID order; messages expunged meanwhile are skipped."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT b.path, m.internaldate, m.tzoffset FROM messages m "
                + _JOIN_BLOB
                + "WHERE m.mailbox_id = ? ORDER BY m.uid",
                (self._mailbox_id(conn, user, mailbox),),
            ).fetchall()

        def contents() -> Iterator[tuple[bytes, datetime]]:
            for path, seconds, offset in rows:
                try:
                    yield (self.messages_dir / path).read_bytes(), from_stored_time(seconds, offset)
                except FileNotFoundError:
                    continue

        return write_mboxrd(out, contents())


def json_ints(values: Sequence[int]) -> str:
    """A UID set as JSON for `json_each`, so any number of UIDs binds as one parameter."""
    return "[" + ",".join(str(int(value)) for value in values) + "]"
