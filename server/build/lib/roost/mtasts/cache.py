"""The policy cache: the stored state of MTA-STS, apart from its protocol (like mox's mtastsdb).

RFC 8461 §3.3 and §5.1 make the cache part of the security model, not an
optimisation: a policy fetched once protects deliveries for ``max_age`` seconds even
when an attacker later blocks the TXT record or the HTTPS fetch. So it lives in
SQLite and survives restarts. Connections and transactions come from the shared
:class:`roost.sqlitedb.Database` (a connection per thread, WAL), so the cache is safe
to use from the event loop, worker threads and the CLI alike.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from roost.mtasts.policy import Mode, Policy, normalize_domain
from roost.sqlitedb import Database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS policies (
    domain TEXT PRIMARY KEY,
    policy_id TEXT NOT NULL,
    mode TEXT NOT NULL,
    mx TEXT NOT NULL,          -- JSON list of patterns
    max_age INTEGER NOT NULL,
    fetched_at REAL NOT NULL,  -- Unix time
    expires_at REAL NOT NULL   -- fetched_at + max_age (RFC 8461 §3.2 max_age)
)
"""


@dataclass(frozen=True)
class CachedPolicy:
    """A stored policy with the times the RFC's cache rules need (§3.2 max_age, §5.1)."""

    domain: str
    policy: Policy
    fetched_at: float
    expires_at: float

    def valid_at(self, now: float) -> bool:
        """Unexpired: usable even when the live TXT record or policy is missing (§3.3)."""
        return now < self.expires_at


def _migrate(conn: sqlite3.Connection) -> None:
    conn.executescript(_SCHEMA)


class PolicyCache(Database):
    """Policies per recipient domain in a SQLite file, through :mod:`roost.sqlitedb`."""

    def __init__(self, path: Path) -> None:
        super().__init__(Path(path), _migrate)

    def get(self, domain: str) -> CachedPolicy | None:
        """The stored policy, expired or not (see :meth:`CachedPolicy.valid_at`)."""
        domain = normalize_domain(domain)
        with self._read() as conn:
            row = conn.execute(
                "SELECT policy_id, mode, mx, max_age, fetched_at, expires_at"
                " FROM policies WHERE domain = ?",
                (domain,),
            ).fetchone()
        if row is None:
            return None
        policy_id, mode, mx, max_age, fetched_at, expires_at = row
        patterns = tuple(json.loads(mx))
        policy = Policy(mode=cast(Mode, mode), mx=patterns, max_age=max_age, id=policy_id)
        return CachedPolicy(domain, policy, fetched_at, expires_at)

    def put(self, domain: str, policy: Policy, fetched_at: float) -> CachedPolicy:
        """Store a freshly fetched policy; it replaces any older one (RFC 8461 §3.1 id change)."""
        expires_at = fetched_at + policy.max_age
        entry = CachedPolicy(normalize_domain(domain), policy, fetched_at, expires_at)
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO policies"
                " (domain, policy_id, mode, mx, max_age, fetched_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.domain,
                    policy.id,
                    policy.mode,
                    json.dumps(list(policy.mx)),
                    policy.max_age,
                    entry.fetched_at,
                    entry.expires_at,
                ),
            )
        return entry

    def due_for_refresh(self, fetched_before: float, now: float) -> list[str]:
        """Unexpired policies fetched before a time: RFC 8461 §3.3 (end) asks MTAs to
        refresh cached policies proactively, "once per day" suggested, so that blocking
        the refresh for ``max_age`` is needed to make a policy lapse."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT domain FROM policies WHERE fetched_at < ? AND expires_at > ?"
                " ORDER BY domain",
                (fetched_before, now),
            ).fetchall()
        return [row[0] for row in rows]

    def prune(self, now: float) -> int:
        """Drop expired policies; returns how many."""
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM policies WHERE expires_at <= ?", (now,))
        return cursor.rowcount
