"""Mailboxes and subscriptions in SQLite: the folder half of IMAP (RFC 9051 §6.3)."""

from __future__ import annotations

import sqlite3

from roost.durable import remove_files
from roost.store.addresses import normalize_address
from roost.store.errors import AlreadyExists, MailboxNotAllowed, NoSuchMailbox
from roost.store.interfaces import INBOX, SPECIAL_USES, MailboxInfo
from roost.store.sqlite_base import SQLiteBase, mailbox_name

_INFO = (
    "SELECT b.name, b.special_use, COUNT(m.id), "
    "COALESCE(SUM(instr(' ' || m.flags || ' ', ' \\Seen ') = 0), 0), "
    "b.uidvalidity, b.uidnext, b.highestmodseq "
    "FROM mailboxes b LEFT JOIN messages m ON m.mailbox_id = b.id "
)


def _checked_name(name: str) -> str:
    """Names IMAP can carry: non-empty, no controls (RFC 9051 §5.1), no empty hierarchy level."""
    if not name or any(ord(c) < 0x20 or c == "\x7f" for c in name) or "//" in name:
        raise MailboxNotAllowed(f"{name!r} is not a usable mailbox name")
    return mailbox_name(name)


class SQLiteMailboxes(SQLiteBase):
    def list_mailboxes(self, user: str) -> list[MailboxInfo]:
        """INBOX first, then the rest by name: the order `roost mailbox list` prints."""
        with self._read() as conn:
            rows = conn.execute(
                _INFO + "WHERE b.user_id = ? GROUP BY b.id ORDER BY b.name != 'INBOX', b.name",
                (self._user_id(conn, user),),
            ).fetchall()
        return [MailboxInfo(*row) for row in rows]

    def mailbox_info(self, user: str, mailbox: str) -> MailboxInfo:
        """STATUS / SELECT data for one mailbox (RFC 9051 §6.3.11, RFC 7162 §3.1.2)."""
        with self._read() as conn:
            row = conn.execute(
                _INFO + "WHERE b.id = ? GROUP BY b.id", (self._mailbox_id(conn, user, mailbox),)
            ).fetchone()
        return MailboxInfo(*row)

    def create_mailbox(self, user: str, mailbox: str, special_use: str | None = None) -> None:
        """RFC 9051 §6.3.4 CREATE, with RFC 6154 §5 CREATE-SPECIAL-USE."""
        name = _checked_name(mailbox)
        if special_use is not None and special_use not in SPECIAL_USES:
            raise MailboxNotAllowed(
                f"{special_use!r} is not a special-use attribute; use one of "
                + ", ".join(sorted(SPECIAL_USES))
            )
        with self._write() as conn:
            user_id = self._user_id(conn, user)
            try:
                self._insert_mailbox(conn, user_id, name, special_use)
            except sqlite3.IntegrityError:
                raise AlreadyExists(f"mailbox {name!r} exists already") from None

    def delete_mailbox(self, user: str, mailbox: str) -> None:
        """RFC 9051 §6.3.5: INBOX cannot be deleted; subscriptions are left as they are."""
        if mailbox_name(mailbox) == INBOX:
            raise MailboxNotAllowed("INBOX cannot be deleted (RFC 9051 §6.3.5)")
        with self._write() as conn:
            mailbox_id = self._mailbox_id(conn, user, mailbox)
            blob_ids = [
                row[0]
                for row in conn.execute(
                    "SELECT blob_id FROM messages WHERE mailbox_id = ?", (mailbox_id,)
                )
            ]
            conn.execute("DELETE FROM mailboxes WHERE id = ?", (mailbox_id,))
            paths = self._release_blobs(conn, blob_ids)
        remove_files(self.messages_dir, paths)

    def rename_mailbox(self, user: str, old: str, new: str) -> None:
        """RFC 9051 §6.3.6 RENAME of one mailbox (the IMAP layer renames its children).

        The renamed mailbox takes a fresh UIDVALIDITY, so a client that cached the new name's
        earlier incarnation cannot mistake old UIDs for current ones. Renaming INBOX moves
        its messages to the new mailbox and leaves INBOX empty, as the RFC requires.
        """
        target = _checked_name(new)
        if target == INBOX:
            raise MailboxNotAllowed("nothing can be renamed to INBOX (RFC 9051 §6.3.6)")
        with self._write() as conn:
            user_id = self._user_id(conn, user)
            source_id = self._mailbox_id(conn, user, old)
            try:
                new_id = self._insert_mailbox(conn, user_id, target, None)
            except sqlite3.IntegrityError:
                raise AlreadyExists(f"mailbox {target!r} exists already") from None
            conn.execute(
                "UPDATE mailboxes SET (special_use, uidnext, highestmodseq) = "
                "(SELECT special_use, uidnext, highestmodseq FROM mailboxes WHERE id = :old) "
                "WHERE id = :new",
                {"old": source_id, "new": new_id},
            )
            if mailbox_name(old) == INBOX:
                # INBOX stays, with its UIDVALIDITY: its moved UIDs are expunged (RFC 7162 §3.2).
                conn.execute("UPDATE mailboxes SET special_use = NULL WHERE id = ?", (new_id,))
                (modseq,) = conn.execute(
                    "UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ? "
                    "RETURNING highestmodseq",
                    (source_id,),
                ).fetchone()
                conn.execute(
                    "INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) "
                    "SELECT mailbox_id, uid, ? FROM messages WHERE mailbox_id = ?",
                    (modseq, source_id),
                )
            conn.execute(
                "UPDATE messages SET mailbox_id = ? WHERE mailbox_id = ?", (new_id, source_id)
            )
            if mailbox_name(old) != INBOX:
                conn.execute("DELETE FROM mailboxes WHERE id = ?", (source_id,))

    def subscribe(self, user: str, mailbox: str) -> None:
        """RFC 9051 §6.3.7: a subscription may name a mailbox that does not exist (yet)."""
        name = _checked_name(mailbox)
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO subscriptions (user_id, name) VALUES (?, ?)",
                (self._user_id(conn, user), name),
            )

    def unsubscribe(self, user: str, mailbox: str) -> None:
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM subscriptions WHERE user_id = ? AND name = ?",
                (self._user_id(conn, user), mailbox_name(mailbox)),
            )
            if cursor.rowcount == 0:
                raise NoSuchMailbox(normalize_address(user), mailbox)

    def list_subscriptions(self, user: str) -> list[str]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT name FROM subscriptions WHERE user_id = ? ORDER BY name",
                (self._user_id(conn, user),),
            ).fetchall()
        return [row[0] for row in rows]
