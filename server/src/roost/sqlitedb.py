"""SQLite plumbing shared by every durable table set in Roost (mailbox store, queue, caches).

Concurrency: SMTP handlers call in from worker threads and the CLI may open the same database
from another process, so each thread gets its own connection and WAL mode lets readers proceed
while one writer commits. Writers take the lock up front (`BEGIN IMMEDIATE`) so two
transactions never both read and then fail to upgrade. `synchronous=FULL` makes each commit
durable before it returns, which is what lets SMTP say `250` afterwards.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from roost.durable import fsync_dir

BUSY_TIMEOUT_SECONDS = 30.0


class DatabaseClosed(Exception):  # noqa: N818 - a state, not a failure
    pass


class Database:
    """Per-thread connections to one SQLite file, with durable write transactions."""

    closed_error: type[Exception] = DatabaseClosed

    def __init__(self, db_path: Path, migrate: Callable[[sqlite3.Connection], None]) -> None:
        self._db_path = db_path
        # SQLite gives -wal and -shm the main file's mode, so creating it 0600 covers all three.
        os.close(os.open(db_path, os.O_RDWR | os.O_CREAT, 0o600))
        fsync_dir(db_path.parent)  # the new database's own directory entry
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._closed = False
        migrate(self._conn())

    def close(self) -> None:
        """Close every thread's connection; the database cannot be used afterwards."""
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
                raise self.closed_error(f"{self._db_path} is closed")
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
