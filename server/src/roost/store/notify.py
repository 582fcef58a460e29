"""Change notifications: how a session learns that another one changed a user's mail.

The store publishes the user whose mail changed after each commit (a delivery, an APPEND, a
flag change, an expunge, a folder change); IMAP sessions of that user subscribe and, when
woken, ask the store what changed since the MODSEQ they last saw. The message carries no
detail on purpose: the store stays the one truth, and a lost or doubled notification costs
one query, never a wrong view.

`LocalChanges` serves the sessions of one process. The seam is `ChangeFeed`: a PostgreSQL
backend fills it with LISTEN/NOTIFY (publish = `NOTIFY roost_changes, '<user>'`), so IMAP
front ends on other hosts wake too, without anything else changing.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

Unsubscribe = Callable[[], None]
_Subscriber = tuple[asyncio.AbstractEventLoop, Callable[[], None]]


class ChangeFeed(Protocol):
    def publish(self, user: str) -> None:
        """Called by the store after a committed change to `user`'s mail, from any thread."""

    def subscribe(self, user: str, callback: Callable[[], None]) -> Unsubscribe:
        """`callback` runs on the subscriber's event loop after each change to `user`'s mail."""


class LocalChanges:
    """In-process pub/sub; publishers may be worker threads, subscribers live on event loops."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, dict[int, _Subscriber]] = defaultdict(dict)
        self._next = 0

    def publish(self, user: str) -> None:
        with self._lock:
            targets = list(self._subscribers.get(user, {}).values())
        for loop, callback in targets:
            try:
                loop.call_soon_threadsafe(callback)
            except RuntimeError:  # that loop has closed; its sessions are gone
                continue

    def subscribe(self, user: str, callback: Callable[[], None]) -> Unsubscribe:
        loop = asyncio.get_running_loop()
        with self._lock:
            key = self._next
            self._next += 1
            self._subscribers[user][key] = (loop, callback)

        def unsubscribe() -> None:
            with self._lock:
                entries = self._subscribers.get(user)
                if entries is not None:
                    entries.pop(key, None)
                    if not entries:
                        del self._subscribers[user]

        return unsubscribe
