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
from typing import Generic, TypeVar

from roost.durable import fsync_dir

BUSY_TIMEOUT_SECONDS = 30.0
T = TypeVar("T")


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
        # Threads of this process queue here for the write lock: SQLite's own busy handler
        # would make a waiting writer sleep 1, 2, 5, 10... ms between tries, which caps the
        # commits per second far below what the disk can do. Other processes (the CLI)
        # still meet the busy timeout.
        self._writer = threading.Lock()
        self._queued: list[_Ticket[object]] = []
        self._queue_guard = threading.Lock()
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
        with self._writer:
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

    def _grouped_write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in a write transaction it may share with other threads' work.

        Group commit: every write that arrives while a commit is on its way to disk waits for
        the write lock, and the first to get it commits them all in one transaction, so one
        WAL fsync serves many messages. Each piece of work runs in its own SAVEPOINT: one
        that fails is undone alone and raises in its own thread; a failed COMMIT fails all.
        `work` must touch nothing but the database, since a batch may be rolled back.
        """
        ticket: _Ticket[T] = _Ticket(work)
        with self._queue_guard:
            self._queued.append(ticket)  # type: ignore[arg-type]
        with self._writer:
            if not ticket.done:
                with self._queue_guard:
                    batch, self._queued = self._queued, []
                self._commit_batch(batch)
        return ticket.outcome()

    def _write_batch(self, works: list[Callable[[sqlite3.Connection], T]]) -> list[T | Exception]:
        """Several pieces of work in one transaction, as `_grouped_write` would combine them
        had they come from several threads; each one's result or error, in order."""
        if not works:
            return []
        tickets: list[_Ticket[T]] = [_Ticket(work) for work in works]
        with self._writer:
            self._commit_batch(tickets)  # type: ignore[arg-type]
        for ticket in tickets:
            if ticket.error is not None and not isinstance(ticket.error, Exception):
                raise ticket.error  # KeyboardInterrupt and the like are not a message's fault
        return [t.result if t.error is None else t.error for t in tickets]  # type: ignore[misc]

    def _commit_batch(self, batch: list[_Ticket[object]]) -> None:
        try:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                for ticket in batch:
                    conn.execute("SAVEPOINT work")
                    try:
                        ticket.result = ticket.work(conn)
                    except Exception as exc:
                        conn.execute("ROLLBACK TO work")
                        ticket.error = exc
                    conn.execute("RELEASE work")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except BaseException as exc:
            for ticket in batch:
                ticket.error = ticket.error or exc
        finally:
            for ticket in batch:
                ticket.done = True


class _Ticket(Generic[T]):
    """One thread's piece of a group commit; `done` is read and written under the write lock."""

    def __init__(self, work: Callable[[sqlite3.Connection], T]) -> None:
        self.work = work
        self.result: T | None = None
        self.error: BaseException | None = None
        self.done = False

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]
