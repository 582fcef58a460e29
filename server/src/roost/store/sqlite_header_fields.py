"""HEADER.FIELDS answers kept per message file, for the field lists mail clients list
mailboxes with (Thunderbird, K-9 and mbsync each send one list, the same on every listing).

Picking a few fields out of every header of a mailbox is most of the cost of such a
listing; kept, the answer is one column read with the message's row. This is Dovecot's
dovecot.index.cache decision in small: what is kept is decided by what clients fetch,
not configured. A field list is kept once a FETCH asks it for a range of messages (the
caller decides what a range is); at most `MAX_SETS` lists are kept, and one unused for
`UNUSED_DAYS` days is dropped with its answers (as Dovecot drops unaccessed fields after
30 days) when a list is next made or marked used. Messages are immutable, so an answer
never goes stale; it goes with its message file (ON DELETE CASCADE) or with its list.
`names` carries the picker's version (`roost.imap.sections.HEADER_FIELDS_VERSION`):
answers another version picked are dropped, not served.
"""

from __future__ import annotations

import time

from roost.store.sqlite_base import SQLiteBase

MAX_SETS = 8
UNUSED_DAYS = 30


def _today() -> int:
    return int(time.time() // 86400)


class SQLiteHeaderFields(SQLiteBase):
    def header_field_set(self, names: str, version: str) -> int | None:
        """The id of the kept field list `names` (lower-cased, sorted, space-separated),
        made now if there is room; None when `MAX_SETS` lists are kept and all in use.
        Lists of another `version` are dropped first. Marks the list used today (one
        write a day per list at most)."""
        key = f"{version} {names}"
        today = _today()
        with self._read() as conn:
            row = conn.execute(
                "SELECT id, used FROM header_field_sets WHERE names = ?", (key,)
            ).fetchone()
        if row is not None and row[1] == today:
            return int(row[0])
        with self._write() as conn:
            conn.execute(
                "DELETE FROM header_field_sets WHERE substr(names, 1, ?) != ?",
                (len(version) + 1, version + " "),
            )
            conn.execute(
                "DELETE FROM header_field_sets WHERE used < ? AND names != ?",
                (today - UNUSED_DAYS, key),
            )
            row = conn.execute(
                "INSERT INTO header_field_sets (names, used) "
                "SELECT ?, ? WHERE (SELECT count(*) FROM header_field_sets) < ? "
                "ON CONFLICT (names) DO UPDATE SET used = excluded.used RETURNING id",
                (key, today, MAX_SETS),
            ).fetchone()
            if row is None:  # full, unless the list is kept already
                row = conn.execute(
                    "UPDATE header_field_sets SET used = ? WHERE names = ? RETURNING id",
                    (today, key),
                ).fetchone()
        return int(row[0]) if row is not None else None

    def save_header_fields(
        self, user: str, mailbox: str, set_id: int, answers: dict[int, bytes]
    ) -> None:
        """Keep the answers of field list `set_id` for these messages (by UID); one that
        was kept meanwhile by another session (or a list dropped meanwhile) is left as
        is. Losing them in a crash costs only picking them again, so one commit serves a
        whole batch."""
        self._write_per_message(
            user,
            mailbox,
            (
                "INSERT OR IGNORE INTO header_fields (blob_id, set_id, data) "
                "SELECT m.blob_id, s.id, ? FROM messages m, header_field_sets s "
                "WHERE s.id = ? AND m.mailbox_id = ? AND m.uid = ?",
                {uid: (data, set_id) for uid, data in answers.items()},
            ),
        )
