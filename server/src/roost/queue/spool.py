"""The durable outbound queue: one fsynced file per message plus a SQLite index per recipient.

Durability: `enqueue` returns only after the file, its directory and the index row are on disk,
so the `250` that follows it is a promise kept across `kill -9` and power loss.

Delivery is at-least-once. A recipient's rows are removed in one commit right after the remote
server accepts the DATA of its transaction; a crash between that `250` and the commit makes the
transaction in flight on each open connection be sent again after restart. Nothing else can
cause a duplicate: rows are never removed before the remote accepted them.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from roost.addresses import domain_of
from roost.delivery.outcome import printable
from roost.durable import (
    Joined,
    ensure_dir,
    new_message_path,
    remove_files,
    sweep_orphans,
    write_durably,
)
from roost.sqlitedb import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    sender TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS recipients (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    domain TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    warned INTEGER NOT NULL DEFAULT 0,
    crashes INTEGER NOT NULL DEFAULT 0,
    held INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS recipients_due ON recipients (next_attempt);
CREATE INDEX IF NOT EXISTS recipients_message ON recipients (message_id);
"""


ORPHAN_GRACE_SECONDS = 3600.0  # spares a file another process is about to commit
# Columns added after the first release, with their definitions, for databases made before.
_ADDED_COLUMNS = {
    "crashes": "INTEGER NOT NULL DEFAULT 0",
    "held": "INTEGER NOT NULL DEFAULT 0",
}

_SELECT = (
    "SELECT r.id, r.address, r.domain, r.attempts, r.next_attempt, r.last_error, r.warned, "
    "r.held, m.id, m.sender, m.size, m.created "
    "FROM recipients r JOIN messages m ON m.id = r.message_id"
)


class QueueError(Exception):
    pass


@dataclass(frozen=True)
class QueuedRecipient:
    row: int
    address: str
    domain: str
    attempts: int
    next_attempt: float
    last_error: str
    warned: bool
    held: bool = False  # set aside after attempts crashed repeatedly; `roost queue retry` frees


@dataclass(frozen=True)
class QueuedMessage:
    id: str
    sender: str
    size: int
    created: float
    recipients: tuple[QueuedRecipient, ...]


def _migrate(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)
    present = {row[1] for row in conn.execute("PRAGMA table_info(recipients)")}
    for name, definition in _ADDED_COLUMNS.items():
        if name not in present:
            conn.execute(f"ALTER TABLE recipients ADD COLUMN {name} {definition}")


class Spool(Database):
    def __init__(self, state_dir: Path) -> None:
        self.root = Path(state_dir) / "queue"
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        ensure_dir(self.root / "messages")
        super().__init__(self.root / "queue.db", _migrate)
        self.sweep_orphans()

    def sweep_orphans(self, older_than: float = ORPHAN_GRACE_SECONDS) -> list[str]:
        """Remove files a crash left between writing them and committing their row."""
        with self._read() as conn:
            paths = conn.execute("SELECT path FROM messages").fetchall()
        referenced = {path.removeprefix("messages/") for (path,) in paths}
        return sweep_orphans(self.root / "messages", referenced, older_than)

    def enqueue(
        self, queue_id: str, sender: str, recipients: Sequence[str], message: bytes | Joined
    ) -> None:
        """Durable on return: file, directory and index row all fsynced/committed."""
        if not recipients:
            raise QueueError("a queued message needs at least one recipient")
        path = new_message_path(self.root / "messages")
        write_durably(path, message)
        now = time.time()

        def index(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO messages (id, sender, path, size, created) VALUES (?, ?, ?, ?, ?)",
                (queue_id, sender, str(path.relative_to(self.root)), len(message), now),
            )
            conn.executemany(
                "INSERT INTO recipients (message_id, address, domain, next_attempt) "
                "VALUES (?, ?, ?, ?)",
                [(queue_id, rcpt, domain_of(rcpt), now) for rcpt in recipients],
            )

        try:
            self._grouped_write(index)
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def message_bytes(self, queue_id: str) -> bytes:
        with self._read() as conn:
            row = conn.execute("SELECT path FROM messages WHERE id = ?", (queue_id,)).fetchone()
        if row is None:
            raise QueueError(f"no queued message {queue_id}; see `roost queue list`")
        return (self.root / row[0]).read_bytes()

    def due(self, now: float, exclude: Iterable[int] = ()) -> list[QueuedMessage]:
        """Messages with at least one recipient due, listing only their due recipients."""
        skip = set(exclude)
        with self._read() as conn:
            rows = conn.execute(
                _SELECT + " WHERE r.next_attempt <= ? AND r.held = 0 ORDER BY m.created, r.id",
                (now,),
            ).fetchall()
        return _group(row for row in rows if row[0] not in skip)

    def all(self, queue_id: str | None = None) -> list[QueuedMessage]:
        """Every queued message, or just `queue_id` (with all its recipients)."""
        where, args = ("WHERE m.id = ?", (queue_id,)) if queue_id else ("", ())
        with self._read() as conn:
            rows = conn.execute(_SELECT + f" {where} ORDER BY m.created, r.id", args).fetchall()
        return _group(rows)

    def next_due(self, exclude: Iterable[int] = ()) -> float | None:
        """When the next recipient not in `exclude` (those in flight) falls due."""
        skip = list(exclude)
        with self._read() as conn:
            row = conn.execute(
                "SELECT MIN(next_attempt) FROM recipients "
                f"WHERE held = 0 AND id NOT IN ({_marks(skip)})",
                skip,
            ).fetchone()
        return row[0] if row and row[0] is not None else None

    def done(self, rows: Iterable[int]) -> None:
        """Recipients delivered or bounced: remove them, and their message once it has none."""
        rows = list(rows)
        if not rows:
            return
        with self._write() as conn:
            message_ids = {
                r[0]
                for r in conn.execute(
                    f"SELECT DISTINCT message_id FROM recipients WHERE id IN ({_marks(rows)})",
                    rows,
                )
            }
            conn.execute(f"DELETE FROM recipients WHERE id IN ({_marks(rows)})", rows)
            files = self._drop_empty(conn, message_ids)
        remove_files(self.root, files)

    def deferred(self, rows: Iterable[int], error: str, next_attempt: float) -> None:
        """A temporary failure: count the attempt, keep the reason, schedule the next try."""
        rows = list(rows)
        with self._write() as conn:
            conn.execute(
                f"UPDATE recipients SET attempts = attempts + 1, last_error = ?, crashes = 0, "
                f"next_attempt = ? WHERE id IN ({_marks(rows)})",
                [printable(error), next_attempt, *rows],
            )

    def crashed(
        self, rows: Iterable[int], error: str, next_attempt: float, hold_after: int
    ) -> bool:
        """An attempt that ended in an exception of ours: a temporary failure like any other,
        except that after `hold_after` in a row the recipients are held (set aside) rather
        than retried. True when this call held them."""
        rows = list(rows)
        with self._write() as conn:
            held = conn.execute(
                f"UPDATE recipients SET attempts = attempts + 1, crashes = crashes + 1, "
                f"last_error = ?, next_attempt = ?, held = (crashes + 1 >= ?) "
                f"WHERE id IN ({_marks(rows)}) RETURNING held",
                [printable(error), next_attempt, hold_after, *rows],
            ).fetchall()
        return any(h for (h,) in held)

    def warned(self, rows: Iterable[int]) -> None:
        rows = list(rows)
        with self._write() as conn:
            conn.execute(f"UPDATE recipients SET warned = 1 WHERE id IN ({_marks(rows)})", rows)

    def retry(self, queue_id: str | None = None) -> int:
        """Make recipients due now (all, or one message's); returns how many."""
        with self._write() as conn:
            if queue_id is None:
                cursor = conn.execute(_RETRY)
            else:
                self._require(conn, queue_id)
                cursor = conn.execute(_RETRY + " WHERE message_id = ?", (queue_id,))
        return cursor.rowcount

    def drop(self, queue_id: str) -> None:
        """Remove a message without a bounce (the operator's decision)."""
        with self._write() as conn:
            self._require(conn, queue_id)
            conn.execute("DELETE FROM recipients WHERE message_id = ?", (queue_id,))
            files = self._drop_empty(conn, {queue_id})
        remove_files(self.root, files)

    @staticmethod
    def _require(conn: sqlite3.Connection, queue_id: str) -> None:
        if conn.execute("SELECT 1 FROM messages WHERE id = ?", (queue_id,)).fetchone() is None:
            raise QueueError(f"no queued message {queue_id}; see `roost queue list`")

    @staticmethod
    def _drop_empty(conn: sqlite3.Connection, message_ids: set[str]) -> list[str]:
        files = []
        for message_id in message_ids:
            row = conn.execute(
                "DELETE FROM messages WHERE id = ? AND NOT EXISTS "
                "(SELECT 1 FROM recipients WHERE message_id = ?) RETURNING path",
                (message_id, message_id),
            ).fetchone()
            if row is not None:
                files.append(row[0])
        return files


_RETRY = "UPDATE recipients SET next_attempt = 0, held = 0, crashes = 0"


def _marks(rows: Sequence[object]) -> str:
    return ", ".join("?" * len(rows))


def _group(rows: Iterable[tuple]) -> list[QueuedMessage]:  # type: ignore[type-arg]
    messages: dict[str, tuple[tuple, list[QueuedRecipient]]] = {}  # type: ignore[type-arg]
    for row in rows:
        recipient = QueuedRecipient(*row[:6], bool(row[6]), bool(row[7]))
        messages.setdefault(row[8], (row[8:], []))[1].append(recipient)
    return [
        QueuedMessage(head[0], head[1], head[2], head[3], tuple(recipients))
        for head, recipients in messages.values()
    ]
