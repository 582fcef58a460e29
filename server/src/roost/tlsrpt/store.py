"""TLS session results per policy domain and UTC day, and the RFC 8460 report of a day.

RFC 8460 §4.1 reports cover whole UTC days; §4.4 needs, per policy, the count of
successful sessions and the failures grouped by their details with a count each. The
store keeps exactly those counters (not sessions), so it stays small however much
mail flows. Sending reports (§3, the ``rua`` of ``_smtp._tls``) is not done here.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
from pathlib import Path
from typing import Any

from roost.mtasts.policy import Policy, normalize_domain
from roost.sqlitedb import Database
from roost.tlsrpt.results import Failure, ReportPolicy

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    day TEXT NOT NULL,              -- UTC date, YYYY-MM-DD
    policy_domain TEXT NOT NULL,
    policy_type TEXT NOT NULL,
    policy_string TEXT NOT NULL,    -- JSON list of lines
    mx_host TEXT NOT NULL,          -- JSON list of patterns
    successes INTEGER NOT NULL,
    PRIMARY KEY (day, policy_domain, policy_type, policy_string, mx_host)
);
CREATE TABLE IF NOT EXISTS failures (
    day TEXT NOT NULL,
    policy_domain TEXT NOT NULL,
    policy_type TEXT NOT NULL,
    policy_string TEXT NOT NULL,
    mx_host TEXT NOT NULL,
    details TEXT NOT NULL,          -- JSON object: the set failure-details fields
    count INTEGER NOT NULL,
    PRIMARY KEY (day, policy_domain, policy_type, policy_string, mx_host, details)
);
"""

#: The store's file in the server's state directory.
DB_NAME = "tlsrpt.db"

_POLICY_KEY = "day, policy_domain, policy_type, policy_string, mx_host"
_Key = tuple[str, str, str, str, str]  # the columns of _POLICY_KEY


def _utc_day(at: datetime.datetime | None) -> str:
    at = at if at is not None else datetime.datetime.now(datetime.UTC)
    if at.tzinfo is None:
        raise ValueError("TLS-RPT times must be timezone-aware (reports are per UTC day)")
    return at.astimezone(datetime.UTC).date().isoformat()


def _migrate(conn: sqlite3.Connection) -> None:
    conn.executescript(_SCHEMA)


class TLSReportStore(Database):
    """Counters of TLS results in a SQLite file, through :mod:`roost.sqlitedb`."""

    def __init__(self, path: Path) -> None:
        super().__init__(Path(path), _migrate)

    def record_success(
        self,
        policy_domain: str,
        policy: Policy | ReportPolicy | None,
        *,
        at: datetime.datetime | None = None,
        count: int = 1,
    ) -> None:
        """Count successful sessions (TLS negotiated as the policy asks) for ``policy_domain``."""
        key = self._key(policy_domain, ReportPolicy.of(policy), at)
        with self._write() as conn:
            _add_session(conn, key, count)

    def record_failure(
        self,
        policy_domain: str,
        policy: Policy | ReportPolicy | None,
        failure: Failure,
        *,
        at: datetime.datetime | None = None,
        count: int = 1,
    ) -> None:
        """Count failed sessions with these details (identical details share a counter)."""
        key = self._key(policy_domain, ReportPolicy.of(policy, failure.result_type), at)
        details = json.dumps(failure.json_fields(), sort_keys=True)
        with self._write() as conn:
            _add_session(conn, key, 0)  # so the policy is listed even without successes
            conn.execute(
                f"INSERT INTO failures ({_POLICY_KEY}, details, count) VALUES (?, ?, ?, ?, ?, ?, ?)"
                f" ON CONFLICT ({_POLICY_KEY}, details)"
                " DO UPDATE SET count = count + excluded.count",
                (*key, details, count),
            )

    def domains(self, day: datetime.date) -> list[str]:
        """Policy domains with results on ``day``: the reports to send for it."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT DISTINCT policy_domain FROM sessions WHERE day = ? ORDER BY 1",
                (day.isoformat(),),
            ).fetchall()
        return [row[0] for row in rows]

    def report(
        self,
        policy_domain: str,
        day: datetime.date,
        *,
        organization_name: str = "",
        contact_info: str = "",
        report_id: str | None = None,
    ) -> dict[str, Any]:
        """The RFC 8460 §4.4 report of one domain and UTC day, as JSON-ready data.

        ``organization-name`` and ``contact-info`` are ours, the reporter's (§4.4).
        ``report-id`` defaults to ``<day>_<domain>``, unique per report as §4.4 asks.
        ``failure-details`` is left out of a policy with no failures.
        """
        domain = normalize_domain(policy_domain)
        day_text = day.isoformat()
        with self._read() as conn:
            sessions = conn.execute(
                "SELECT policy_type, policy_string, mx_host, successes FROM sessions"
                " WHERE day = ? AND policy_domain = ? ORDER BY rowid",
                (day_text, domain),
            ).fetchall()
            failures = conn.execute(
                "SELECT policy_type, policy_string, mx_host, details, count FROM failures"
                " WHERE day = ? AND policy_domain = ? ORDER BY rowid",
                (day_text, domain),
            ).fetchall()
        policies = []
        for policy_type, policy_string, mx_host, successes in sessions:
            details = [
                {**json.loads(d), "failed-session-count": n}
                for t, s, m, d, n in failures
                if (t, s, m) == (policy_type, policy_string, mx_host)
            ]
            policy: dict[str, Any] = {"policy-type": policy_type}
            if json.loads(policy_string):
                policy["policy-string"] = json.loads(policy_string)
            policy["policy-domain"] = domain
            if json.loads(mx_host):
                policy["mx-host"] = json.loads(mx_host)
            entry: dict[str, Any] = {
                "policy": policy,
                "summary": {
                    "total-successful-session-count": successes,
                    "total-failure-session-count": sum(d["failed-session-count"] for d in details),
                },
            }
            if details:
                entry["failure-details"] = details
            policies.append(entry)
        return {
            "organization-name": organization_name,
            "date-range": {
                "start-datetime": f"{day_text}T00:00:00Z",
                "end-datetime": f"{day_text}T23:59:59Z",
            },
            "contact-info": contact_info,
            "report-id": report_id or f"{day_text}_{domain}",
            "policies": policies,
        }

    def failures_since(self, policy_domain: str, since: datetime.date) -> dict[str, int]:
        """Failed sessions for ``policy_domain`` from ``since`` on, by RFC 8460 §4.3 result type."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT details, count FROM failures WHERE policy_domain = ? AND day >= ?",
                (normalize_domain(policy_domain), since.isoformat()),
            ).fetchall()
        counts: dict[str, int] = {}
        for details, count in rows:
            result_type = json.loads(details)["result-type"]
            counts[result_type] = counts.get(result_type, 0) + int(count)
        return counts

    def prune(self, before: datetime.date) -> int:
        """Forget days before ``before`` (once their reports are sent); returns rows removed."""
        removed = 0
        with self._write() as conn:
            for table in ("sessions", "failures"):
                cursor = conn.execute(f"DELETE FROM {table} WHERE day < ?", (before.isoformat(),))
                removed += cursor.rowcount
        return removed

    @staticmethod
    def _key(policy_domain: str, policy: ReportPolicy, at: datetime.datetime | None) -> _Key:
        return (
            _utc_day(at),
            normalize_domain(policy_domain),
            policy.policy_type,
            json.dumps(list(policy.policy_string)),
            json.dumps(list(policy.mx_host)),
        )


def _add_session(conn: sqlite3.Connection, key: _Key, successes: int) -> None:
    conn.execute(
        f"INSERT INTO sessions ({_POLICY_KEY}, successes) VALUES (?, ?, ?, ?, ?, ?)"
        f" ON CONFLICT ({_POLICY_KEY})"
        " DO UPDATE SET successes = successes + excluded.successes",
        (*key, successes),
    )
