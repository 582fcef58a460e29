"""The mailbox store's side of SQLite: its schema and the lookups both halves need.

Connections and transactions come from `roost.sqlitedb.Database`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from roost.durable import ensure_dir
from roost.sqlitedb import Database
from roost.store.addresses import normalize_address
from roost.store.errors import NoSuchMailbox, NoSuchUser, StoreClosed
from roost.store.flag_states import FlagStates
from roost.store.interfaces import INBOX
from roost.store.notify import ChangeFeed, LocalChanges
from roost.store.schema import migrate


class SQLiteBase(Database):
    """The store's database plus the lookups both halves of the store need."""

    closed_error = StoreClosed

    def __init__(self, state_dir: Path, changes: ChangeFeed | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.changes: ChangeFeed = changes or LocalChanges()
        self.messages_dir = self.state_dir / "messages"
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        ensure_dir(self.messages_dir)
        self._flag_states = FlagStates()
        super().__init__(self.state_dir / "roost.db", migrate)

    def _changed(self, user: str) -> None:
        """Tell the user's sessions, after the commit, that their mail changed (notify.py)."""
        self.changes.publish(normalize_address(user))

    @staticmethod
    def _user_id(conn: sqlite3.Connection, user: str) -> int:
        address = normalize_address(user)
        row = conn.execute("SELECT id FROM users WHERE address = ?", (address,)).fetchone()
        if row is None:
            raise NoSuchUser(address)
        return int(row[0])

    @staticmethod
    def _mailbox_id(conn: sqlite3.Connection, user: str, mailbox: str) -> int:
        row = conn.execute(
            "SELECT id FROM mailboxes WHERE user_id = ? AND name = ?",
            (SQLiteBase._user_id(conn, user), mailbox_name(mailbox)),
        ).fetchone()
        if row is None:
            raise NoSuchMailbox(normalize_address(user), mailbox)
        return int(row[0])

    @staticmethod
    def _insert_mailbox(
        conn: sqlite3.Connection, user_id: int, name: str, special_use: str | None
    ) -> int:
        """A new mailbox with a UIDVALIDITY no earlier mailbox has had.

        RFC 9051 §2.3.1.1: a mailbox recreated under an old name must not reuse the old
        UIDVALIDITY. One counter for the whole store, seeded from the clock and only ever
        increasing, guarantees that even after a restore or a clock step backwards.
        """
        row = conn.execute("SELECT value FROM meta WHERE key = 'uidvalidity'").fetchone()
        uidvalidity = max(int(time.time()), row[0] + 1 if row else 1)
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('uidvalidity', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (uidvalidity,),
        )
        cursor = conn.execute(
            "INSERT INTO mailboxes (user_id, name, special_use, uidvalidity) VALUES (?, ?, ?, ?)",
            (user_id, name, special_use, uidvalidity),
        )
        return int(cursor.lastrowid or 0)

    def _write_per_message(
        self, user: str, mailbox: str, *writes: tuple[str, dict[int, tuple[object, ...]]]
    ) -> None:
        """Each (statement, values) once per message (by UID) in one write transaction,
        bound to that message's values, then the mailbox's id and the UID: what readers
        derived from message files, kept for the next reader."""
        writes = tuple((statement, values) for statement, values in writes if values)
        if not writes:
            return
        with self._write() as conn:
            mailbox_id = self._mailbox_id(conn, user, mailbox)
            for statement, values in writes:
                conn.executemany(
                    statement, [(*params, mailbox_id, uid) for uid, params in values.items()]
                )

    @staticmethod
    def _release_blobs(conn: sqlite3.Connection, blob_ids: Iterable[int]) -> list[str]:
        """Drop blobs no message references; returns their files, to unlink after the commit."""
        paths = []
        for blob_id in set(blob_ids):
            row = conn.execute(
                "DELETE FROM blobs WHERE id = ? AND NOT EXISTS "
                "(SELECT 1 FROM messages WHERE blob_id = ?) RETURNING path",
                (blob_id, blob_id),
            ).fetchone()
            if row is not None:
                paths.append(row[0])
        return paths


def mailbox_name(name: str) -> str:
    """INBOX is case-insensitive (RFC 9051 §5.1); every other name is compared exactly."""
    return INBOX if name.upper() == INBOX else name


def to_stored_time(when: datetime | None) -> tuple[int, int]:
    """(epoch seconds, UTC offset in minutes): INTERNALDATE keeps the zone it was given in."""
    when = when or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    offset = when.utcoffset() or timedelta(0)
    return int(when.timestamp()), int(offset.total_seconds() // 60)
