"""The SQLite schema, migrated forward by `PRAGMA user_version`.

Each migration is a tuple of statements; pending ones run in one transaction together with the
version bump, so a crash mid-migration leaves the previous version intact. Append new migrations;
never edit a released one.

IMAP shapes the mailbox tables: UIDs are per mailbox and strictly ascending, and UIDNEXT only
grows (RFC 9051 §2.3.1.1); each change to a message takes the mailbox's next MODSEQ (RFC 7162
§3.1); `expunged` remembers UIDs removed after a MODSEQ for QRESYNC's VANISHED (RFC 7162 §3.2).
Message bodies live in files named by `blobs`; several message rows may share one blob (one
delivery to many users, IMAP COPY), and a blob goes away with its last row.
"""

from __future__ import annotations

import sqlite3

from roost.store.errors import SchemaTooNew

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        "CREATE TABLE domains (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
        """CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            address TEXT NOT NULL UNIQUE,
            domain_id INTEGER NOT NULL REFERENCES domains(id),
            password_hash TEXT NOT NULL)""",
        """CREATE TABLE aliases (
            id INTEGER PRIMARY KEY,
            address TEXT NOT NULL UNIQUE,
            domain_id INTEGER NOT NULL REFERENCES domains(id))""",
        """CREATE TABLE alias_targets (
            alias_id INTEGER NOT NULL REFERENCES aliases(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            target TEXT NOT NULL,
            PRIMARY KEY (alias_id, position))""",
        """CREATE TABLE mailboxes (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            special_use TEXT,
            uidvalidity INTEGER NOT NULL,
            uidnext INTEGER NOT NULL DEFAULT 1,
            highestmodseq INTEGER NOT NULL DEFAULT 1,
            UNIQUE (user_id, name))""",
        """CREATE TABLE subscriptions (
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            PRIMARY KEY (user_id, name))""",
        """CREATE TABLE blobs (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            size INTEGER NOT NULL)""",
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
            uid INTEGER NOT NULL,
            modseq INTEGER NOT NULL,
            blob_id INTEGER NOT NULL REFERENCES blobs(id),
            internaldate INTEGER NOT NULL,
            tzoffset INTEGER NOT NULL,
            flags TEXT NOT NULL DEFAULT '',
            UNIQUE (mailbox_id, uid))""",
        "CREATE INDEX messages_blob ON messages (blob_id)",
        "CREATE INDEX messages_modseq ON messages (mailbox_id, modseq)",
        """CREATE TABLE expunged (
            mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
            uid INTEGER NOT NULL,
            modseq INTEGER NOT NULL,
            PRIMARY KEY (mailbox_id, uid))""",
    ),
    # IMAP's parsed MIME structure (ENVELOPE, BODYSTRUCTURE, section offsets), kept with the
    # message file it describes, so FETCH parses each message once (issue 10 §6).
    ("ALTER TABLE blobs ADD COLUMN structure BLOB",),
    # HEADER.FIELDS answers for the field lists mail clients list mailboxes with, kept per
    # message file as Dovecot's cache keeps the header fields clients fetch
    # (sqlite_header_fields.py).
    (
        # AUTOINCREMENT: an id is never reused, so a session still holding a dropped
        # list's id cannot keep answers under another list.
        """CREATE TABLE header_field_sets (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            names TEXT NOT NULL UNIQUE,
            used INTEGER NOT NULL)""",
        """CREATE TABLE header_fields (
            blob_id INTEGER NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
            set_id INTEGER NOT NULL REFERENCES header_field_sets(id) ON DELETE CASCADE,
            data BLOB NOT NULL,
            PRIMARY KEY (blob_id, set_id)) WITHOUT ROWID""",
    ),
    # The decoded values of the header SEARCH keys, kept per message file apart from the
    # wide structure row: a header SEARCH then reads narrow rows (issue 10, the benchmark).
    (
        """CREATE TABLE searched_values (
            blob_id INTEGER PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE,
            data BLOB NOT NULL)""",
    ),
)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the database to the latest version; safe when several processes open it at once."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise SchemaTooNew(version, len(MIGRATIONS))
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
