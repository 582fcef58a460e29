"""What every IMAP session of one listener shares: settings, the store, limits, counters."""

from __future__ import annotations

import ssl
from collections import defaultdict
from dataclasses import dataclass

from roost.imap.reader import ReadLimits
from roost.smtp.auth import Authenticator
from roost.smtp.limits import ConnectionLimiter
from roost.store.sqlite import SQLiteStore


@dataclass(frozen=True)
class IMAPLimits:
    """Time and size limits; RFC 9051 §5.4 wants at least 30 minutes before an idle logout."""

    read: ReadLimits
    login_timeout: float = 60.0
    idle_timeout: float = 1800.0
    connections_per_user: int = 20
    fetch_batch: int = 200
    # IDLE also looks for changes this often, for writers in other processes (the CLI), which
    # the in-process change feed does not hear.
    idle_poll: float = 5.0


class UserSessions:
    """Open sessions per logged-in user, so one account cannot hold every connection."""

    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._open: dict[str, int] = defaultdict(int)

    def acquire(self, user: str) -> bool:
        if self._open[user] >= self.per_user:
            return False
        self._open[user] += 1
        return True

    def release(self, user: str) -> None:
        self._open[user] -= 1
        if self._open[user] <= 0:
            del self._open[user]


@dataclass(frozen=True)
class IMAPEndpoint:
    hostname: str
    store: SQLiteStore
    authenticator: Authenticator
    limits: IMAPLimits
    connections: ConnectionLimiter
    users: UserSessions  # shared by 143 and 993: the cap is per account, not per port
    tls_context: ssl.SSLContext | None  # for STARTTLS on 143; None where TLS is implicit
    max_message_size: int = 25 * 1024 * 1024
