"""What every IMAP session of one listener shares: settings, the store, limits, counters."""

from __future__ import annotations

import ssl
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
    fetch_batch: int = 500
    # IDLE also looks for changes this often, for writers in other processes (the CLI), which
    # the in-process change feed does not hear.
    idle_poll: float = 5.0


@dataclass(frozen=True)
class IMAPEndpoint:
    hostname: str
    store: SQLiteStore
    authenticator: Authenticator
    limits: IMAPLimits
    connections: ConnectionLimiter
    # Open sessions per account, shared by 143 and 993: one account cannot take every slot.
    users: ConnectionLimiter
    tls_context: ssl.SSLContext | None  # for STARTTLS on 143; None where TLS is implicit
    # 993 (RFC 8314): TLS from the first byte, handshaken by the session once the connection
    # is counted, as on 465, so handshakes left hanging cannot pile up uncounted.
    implicit_tls: ssl.SSLContext | None = None
    max_message_size: int = 25 * 1024 * 1024
