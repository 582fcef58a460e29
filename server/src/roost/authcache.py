"""Verified credentials, remembered for a while so the right password costs no Argon2 run.

IMAP clients log in often (phones reconnect, Thunderbird opens several connections), and an
Argon2id check costs ~0.2 s of CPU by design. Like Dovecot's auth cache, this keeps, per
account, only a keyed hash (HMAC-SHA256 under a key that lives in this process's memory) of
what was verified: nothing stored could be used to log in or to test guesses offline.

The hash covers the stored password hash as well, so an entry stops matching the moment the
password is changed or the user removed, by any process (the CLI too), with nothing to clear.
Failed logins are never remembered: a wrong password always pays the full check.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable

MAX_ENTRIES = 10_000


class CredentialCache:
    def __init__(
        self,
        ttl: float,
        *,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._entries: dict[str, tuple[bytes, float]] = {}
        self._lock = threading.Lock()  # verifiers run in worker threads
        self.hits = 0  # logins answered without Argon2, for the log and the tests

    def _digest(self, account: str, password: str, stored_hash: str) -> bytes:
        message = b"\0".join(
            s.encode("utf-8", "surrogatepass") for s in (account, stored_hash, password)
        )
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def verified(self, account: str, password: str, stored_hash: str) -> bool:
        """True if this exact password was verified against this stored hash recently."""
        with self._lock:
            entry = self._entries.get(account)
        if entry is None:
            return False
        digest, expires = entry
        if self._clock() >= expires:
            with self._lock:
                if self._entries.get(account) == entry:
                    del self._entries[account]
            return False
        if not hmac.compare_digest(digest, self._digest(account, password, stored_hash)):
            return False
        with self._lock:
            self.hits += 1
        return True

    def remember(self, account: str, password: str, stored_hash: str) -> None:
        """Call only after a successful full verification."""
        entry = (self._digest(account, password, stored_hash), self._clock() + self.ttl)
        with self._lock:
            self._entries.pop(account, None)
            self._entries[account] = entry
            while len(self._entries) > self.max_entries:
                del self._entries[next(iter(self._entries))]  # the oldest entry
