"""Per-client limits that outlive a single connection: concurrent connections and failed logins."""

from __future__ import annotations

import ipaddress
import time
from collections import defaultdict, deque
from collections.abc import Callable


def client_key(ip: str) -> str:
    """Whom a connection counts against: the IPv4 address, or the IPv6 /64 (one subscriber's
    LAN: a host may take any of its 2^64 addresses, RFC 4291 §2.5.1)."""
    if ":" not in ip:
        return ip
    try:
        return str(ipaddress.IPv6Network(f"{ip.split('%', 1)[0]}/64", strict=False))
    except ValueError:
        return ip


class ConnectionLimiter:
    """Counts open connections per client (`client_key`) so one host cannot take every slot,
    and in all, so that many hosts together cannot take every file descriptor."""

    def __init__(self, per_ip: int, total: int) -> None:
        self.per_ip = per_ip
        self.total = total
        self._open: dict[str, int] = defaultdict(int)
        self._count = 0

    def acquire(self, key: str) -> str | None:
        """None when the connection may proceed, else why not."""
        if self._count >= self.total:
            return f"the server has {self.total} connections"
        if self._open[key] >= self.per_ip:
            return f"{key} has {self.per_ip} connections"
        self._open[key] += 1
        self._count += 1
        return None

    def release(self, key: str) -> None:
        self._count -= 1
        self._open[key] -= 1
        if self._open[key] <= 0:
            del self._open[key]


class ByteBudget:
    """Message bytes the server holds at once, over all sessions: each message is held a few
    times over while it is read, checked and stored (ten 24 MB messages once took the server
    from 123 MB to 1.1 GB). What DATA reads is reserved as it arrives and given back once
    the message is answered; a message that does not fit waits for another try (452)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def reserve(self, size: int) -> bool:
        if self.held + size > self.limit:
            return False
        self.held += size
        return True

    def release(self, size: int) -> None:
        self.held -= size


class AuthThrottle:
    """Sliding-window failure counts per IP and per account.

    Both are needed: per IP stops one host guessing many accounts, per account stops a botnet
    spreading guesses for one account over many hosts. While either is over its limit the
    password is not even checked, so a guess made during a lockout reveals nothing.

    An attempt takes its place before the password is checked (`begin`) and counts as a failure
    until it is known not to be one (`end`): checking first and counting after let 20
    simultaneous guesses through a limit of 10. Memory is bounded: each key keeps at most
    its limit of timestamps, keys whose failures are all older than the window are swept,
    and at most MAX_KEYS keys are kept (the oldest go first).
    """

    MAX_KEYS = 100_000
    SWEEP_EVERY = 1000  # failures between two sweeps of expired keys

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
        self._failures: dict[str, deque[float]] = {}
        self._pending: dict[str, int] = defaultdict(int)
        self._until_sweep = self.SWEEP_EVERY

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

    def begin(self, ip: str, account: str) -> bool:
        """Take a place for one attempt; False (and no place) while either key is locked."""
        keys = ((f"ip:{ip}", self.per_ip), (f"account:{account}", self.per_account))
        if any(self._recent(key) + self._pending[key] >= limit for key, limit in keys):
            return False
        for key, _ in keys:
            self._pending[key] += 1
        return True

    def end(self, ip: str, account: str, failed: bool) -> None:
        """The attempt `begin` let through is over; a failure is remembered for the window."""
        now = self.clock()
        for key, limit in ((f"ip:{ip}", self.per_ip), (f"account:{account}", self.per_account)):
            self._pending[key] -= 1
            if self._pending[key] <= 0:
                del self._pending[key]
            if failed:
                failures = self._failures.pop(key, None) or deque(maxlen=limit)
                failures.append(now)
                self._failures[key] = failures  # re-inserted: the dict's order is by age
        if failed:
            self._bound()

    def _bound(self) -> None:
        self._until_sweep -= 1
        if self._until_sweep <= 0:
            self._until_sweep = self.SWEEP_EVERY
            for key in list(self._failures):
                self._recent(key)
        while len(self._failures) > self.MAX_KEYS:
            del self._failures[next(iter(self._failures))]
