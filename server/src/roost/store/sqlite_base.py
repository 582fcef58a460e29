"""SQLite plumbing shared by the directory and mailbox halves of SQLiteStore.

Concurrency: SMTP handlers call the store from worker threads and the CLI may open the same
database from another process, so each thread gets its own connection and WAL mode lets
readers proceed while one writer commits. Writers take the lock up front (`BEGIN IMMEDIATE`)
so two transactions never both read and then fail to upgrade. `synchronous=FULL` makes each
commit durable before it returns, which is what lets SMTP say `250` afterwards.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from roost.store.addresses import normalize_address
from roost.store.errors import NoSuchMailbox, NoSuchUser, StoreClosed
from roost.store.files import ensure_dir, fsync_dir
from roost.store.interfaces import INBOX
from roost.store.schema import migrate

BUSY_TIMEOUT_SECONDS = 30.0


class SQLiteBase:
    """Connections, transactions and the lookups both halves of the store need."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.messages_dir = self.state_dir / "messages"
        self._db_path = self.state_dir / "roost.db"
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        ensure_dir(self.messages_dir)
        # SQLite gives -wal and -shm the main file's mode, so creating it 0600 covers all three.
        os.close(os.open(self._db_path, os.O_RDWR | os.O_CREAT, 0o600))
        fsync_dir(self.state_dir)  # the new database's own directory entry
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._closed = False
        migrate(self._conn())

    def close(self) -> None:
        """Close every thread's connection; the store cannot be used afterwards."""
        with self._guard:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and not self._closed:
            return conn
        with self._guard:
            if self._closed:
                raise StoreClosed(f"the store at {self.state_dir} is closed")
            conn = sqlite3.connect(
                self._db_path,
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,
                check_same_thread=False,  # only so close() may close it from another thread
            )
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._connections.append(conn)
        self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed durably on success and rolled back on error."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: a consistent snapshot across several queries."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

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


def from_stored_time(seconds: int, offset_minutes: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone(timedelta(minutes=offset_minutes)))
