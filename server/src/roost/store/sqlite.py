"""SQLiteStore: the embedded default backend, one database file plus one file per message.

Layout under the state directory (all 0700/0600, since mail and password hashes are private):
`roost.db` (+ `-wal`, `-shm`) holds domains, users, aliases, mailboxes and the message index;
`messages/ab/abcdef…` holds message bodies, sharded by the first two hex digits of a random name.
"""

from __future__ import annotations

from pathlib import Path

from roost.durable import sweep_orphans
from roost.store.notify import ChangeFeed
from roost.store.sqlite_directory import SQLiteDirectory
from roost.store.sqlite_header_fields import SQLiteHeaderFields
from roost.store.sqlite_mailboxes import SQLiteMailboxes
from roost.store.sqlite_messages import SQLiteMessages
from roost.store.sqlite_sync import SQLiteSync

ORPHAN_GRACE_SECONDS = 3600.0


class SQLiteStore(SQLiteDirectory, SQLiteMailboxes, SQLiteMessages, SQLiteSync, SQLiteHeaderFields):
    """Directory and MailStore over SQLite (WAL); safe to share between threads and processes."""

    def __init__(
        self,
        state_dir: Path,
        *,
        orphan_grace: float = ORPHAN_GRACE_SECONDS,
        changes: ChangeFeed | None = None,
    ) -> None:
        """Open (creating and migrating if needed) the store, then sweep crash leftovers.

        Only files older than `orphan_grace` seconds are swept: a younger unreferenced file
        may belong to a delivery another process is committing right now.
        """
        super().__init__(state_dir, changes)
        self.sweep_orphans(orphan_grace)

    def sweep_orphans(self, older_than: float = ORPHAN_GRACE_SECONDS) -> list[str]:
        """Delete message files no index row names (left by a crash); returns their paths."""
        with self._read() as conn:
            referenced = {row[0] for row in conn.execute("SELECT path FROM blobs")}
        return sweep_orphans(self.messages_dir, referenced, older_than)
