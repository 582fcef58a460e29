"""Per-client limits that outlive a single connection: concurrent connections and failed logins."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable


class ConnectionLimiter:
    """Counts open connections per client IP so one host cannot take every slot."""

    def __init__(self, per_ip: int) -> None:
        self.per_ip = per_ip
        self._open: dict[str, int] = defaultdict(int)

    def acquire(self, ip: str) -> bool:
        if self._open[ip] >= self.per_ip:
            return False
        self._open[ip] += 1
        return True

    def release(self, ip: str) -> None:
        self._open[ip] -= 1
        if self._open[ip] <= 0:
            del self._open[ip]


class AuthThrottle:
    """Sliding-window failure counts per IP and per account.

    Both are needed: per IP stops one host guessing many accounts, per account stops a botnet
    spreading guesses for one account over many hosts. While either is over its limit the
    password is not even checked, so a guess made during a lockout reveals nothing.
    """

    def __init__(
        self,
        per_ip: int,
        per_account: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_ip = per_ip
        self.per_account = per_account
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str) -> int:
        failures = self._failures.get(key)
        if not failures:
            return 0
        horizon = self.clock() - self.window
        while failures and failures[0] < horizon:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return 0
        return len(failures)

    def blocked(self, ip: str, account: str) -> bool:
        return (
            self._recent(f"ip:{ip}") >= self.per_ip
            or self._recent(f"account:{account}") >= self.per_account
        )

    def failed(self, ip: str, account: str) -> None:
        now = self.clock()
        self._failures[f"ip:{ip}"].append(now)
        self._failures[f"account:{account}"].append(now)
