"""Each mailbox's (UID, MODSEQ, flags) rows kept in memory, for FETCH of flags only.

`UID FETCH 1:* (FLAGS)` is what sync clients send most, over the whole mailbox; reading
10,000 index rows into Python objects was half of that command's CPU. Like Dovecot's
memory-mapped index, the rows are kept between commands and sessions, and each use first
brings them up to date the way a QRESYNC client does (RFC 7162 §3.2): every change to a
mailbox's messages takes a new MODSEQ, so equal (UIDVALIDITY, HIGHESTMODSEQ) means nothing
changed, and otherwise the rows changed after the kept MODSEQ and the UIDs expunged after it
are all that is read. A mailbox recreated under the same id has another UIDVALIDITY (one
store-wide counter) and is read whole. The rows are read in the caller's read transaction,
so they are its snapshot. A mailbox of more than `MAX_ROWS` messages is never kept, and the
least recently used are dropped beyond `MAX_ROWS` in all (about 20 MB).
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass

MAX_ROWS = 100_000
"""Rows kept in all, and the largest mailbox kept."""

Row = tuple[int, int, bytes]
_COLUMNS = "SELECT uid, modseq, CAST(flags AS BLOB) FROM messages WHERE mailbox_id = ? "


@dataclass(frozen=True, slots=True)
class _Kept:
    uidvalidity: int
    modseq: int
    rows: dict[int, Row]  # never changed once kept: an update makes a new dict


class FlagStates:
    """The kept rows of recently used mailboxes, shared by every thread of the process."""

    def __init__(self, max_rows: int = MAX_ROWS) -> None:
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._kept: OrderedDict[int, _Kept] = OrderedDict()

    def rows(self, conn: sqlite3.Connection, mailbox_id: int) -> dict[int, Row] | None:
        """The mailbox's rows by UID as of `conn`'s read transaction; do not change it.
        None for a mailbox over the cap: the caller reads only the rows it needs."""
        uidvalidity, highest = conn.execute(
            "SELECT uidvalidity, highestmodseq FROM mailboxes WHERE id = ?", (mailbox_id,)
        ).fetchone()
        with self._lock:
            kept = self._kept.get(mailbox_id)
            if kept is not None:
                self._kept.move_to_end(mailbox_id)
        if kept is not None and (kept.uidvalidity, kept.modseq) == (uidvalidity, highest):
            return kept.rows
        if kept is not None and kept.uidvalidity == uidvalidity and kept.modseq < highest:
            rows = _updated(conn, mailbox_id, kept)
        else:
            (count,) = conn.execute(
                "SELECT count(*) FROM messages WHERE mailbox_id = ?", (mailbox_id,)
            ).fetchone()
            if count > self.max_rows:
                return None
            rows = _read_all(conn, mailbox_id)
        self._keep(mailbox_id, _Kept(uidvalidity, highest, rows))
        return rows

    def _keep(self, mailbox_id: int, kept: _Kept) -> None:
        with self._lock:
            current = self._kept.pop(mailbox_id, None)
            if current is not None and (current.uidvalidity, current.modseq) > (
                kept.uidvalidity,
                kept.modseq,
            ):
                kept = current  # another thread kept a later state meanwhile
            if len(kept.rows) > self.max_rows:
                return
            self._kept[mailbox_id] = kept
            total = sum(len(k.rows) for k in self._kept.values())
            while total > self.max_rows:
                _, dropped = self._kept.popitem(last=False)
                total -= len(dropped.rows)


def _read_all(conn: sqlite3.Connection, mailbox_id: int) -> dict[int, Row]:
    shared: dict[bytes, bytes] = {}  # a mailbox has few distinct flag lists: one object each
    return {
        uid: (uid, modseq, shared.setdefault(flags, flags))
        for uid, modseq, flags in conn.execute(_COLUMNS, (mailbox_id,))
    }


def _updated(conn: sqlite3.Connection, mailbox_id: int, kept: _Kept) -> dict[int, Row]:
    rows = dict(kept.rows)
    for (uid,) in conn.execute(
        "SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ?", (mailbox_id, kept.modseq)
    ):
        rows.pop(uid, None)
    for row in conn.execute(_COLUMNS + "AND modseq > ?", (mailbox_id, kept.modseq)):
        rows[row[0]] = row
    return rows
