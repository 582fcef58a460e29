"""Policy discovery for a recipient domain: TXT record, cache, fetch (RFC 8461 §3, §5.1).

The order of §5.1's control flow: look for a live policy (``_mta-sts`` TXT, then the
HTTPS fetch unless the cached policy already has the advertised ``id``), cache what
was fetched, and fall back to an unexpired cached policy when nothing live can be
had (§3.3: "the sender MUST apply that cached policy"). No policy at all means the
caller delivers as without MTA-STS.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from roost.dns.resolver import DNSError, Resolver
from roost.mtasts.cache import CachedPolicy, PolicyCache
from roost.mtasts.fetch import PolicyFetcher
from roost.mtasts.policy import MTASTSError, Policy, STSResultType, normalize_domain, parse_txt

log = logging.getLogger("roost.mtasts")

#: After a failed fetch, the same policy id is not fetched again for this long (RFC
#: 8461 §3.3 suggests limiting attempts to one per five minutes or longer per id).
FETCH_BACKOFF = 300.0


@dataclass(frozen=True)
class Lookup:
    """What :meth:`MTASTS.lookup` found, and why: enough for logs and for TLS-RPT.

    ``source`` is ``"fetched"`` (a live policy just fetched), ``"cache"`` (a stored
    unexpired policy) or ``"none"``. ``error`` is set when a fetch failed (even if a
    cached policy is still used); its ``result_type`` (``sts-policy-fetch-error``,
    ``sts-webpki-invalid``, ``sts-policy-invalid``) is what the caller records for
    TLS-RPT (RFC 8460 §4.3.2.2).
    """

    domain: str
    policy: Policy | None
    source: Literal["fetched", "cache", "none"]
    reason: str
    error: MTASTSError | None = None

    @property
    def result_type(self) -> STSResultType | None:
        return self.error.result_type if self.error is not None else None


class MTASTS:
    """MTA-STS for outbound delivery: one instance per server, shared by deliveries.

    ``clock`` returns Unix time (injected so tests can age the cache). ``fetch_backoff``
    is how long a failed fetch of one policy id is not retried.
    """

    def __init__(
        self,
        resolver: Resolver,
        cache: PolicyCache,
        fetcher: PolicyFetcher | None = None,
        *,
        fetch_backoff: float = FETCH_BACKOFF,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._resolver = resolver
        self._cache = cache
        self._fetcher = fetcher if fetcher is not None else PolicyFetcher(resolver)
        self._backoff = fetch_backoff
        self._clock = clock
        self._failed: dict[str, tuple[float, str, MTASTSError]] = {}
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def policy_for(self, domain: str) -> Policy | None:
        """The policy to apply to a delivery to ``domain``, or ``None`` (deliver as usual).

        A policy in mode ``none`` is returned as such: it too means "no MTA-STS"
        (§5), see :func:`roost.mtasts.apply.tls_requirement`.
        """
        return (await self.lookup(domain)).policy

    async def refresh(self, domain: str) -> Lookup:
        """Fetch the policy even if the cached one has the advertised id.

        For the proactive refresh of §3.3 ("once per day"), see
        :meth:`~roost.mtasts.cache.PolicyCache.due_for_refresh`, and for the check §5.1
        asks for before a message is failed permanently.
        """
        return await self.lookup(domain, force_fetch=True)

    async def lookup(self, domain: str, *, force_fetch: bool = False) -> Lookup:
        """Discover the domain's policy (§5.1), logging the reason for the outcome."""
        domain = normalize_domain(domain)
        lock = self._locks.get(domain)
        if lock is None:
            lock = self._locks[domain] = asyncio.Lock()
        async with lock:  # one fetch per domain at a time; waiters then find it cached
            result = await self._lookup(domain, force_fetch)
        log.debug("MTA-STS %s: %s (policy from %s)", domain, result.reason, result.source)
        return result

    async def _lookup(self, domain: str, force_fetch: bool) -> Lookup:
        now = self._clock()
        cached = self._cache.get(domain)
        valid = cached if cached is not None and cached.valid_at(now) else None
        try:
            records = await asyncio.to_thread(self._resolver.txt, f"_mta-sts.{domain}")
        except DNSError as err:
            result = _fallback(domain, valid, f"_mta-sts TXT look-up failed: {err}")
            log.info("MTA-STS %s: %s", domain, result.reason)
            return result
        policy_id = parse_txt(records)
        if policy_id is None:
            return _fallback(domain, valid, "no valid _mta-sts TXT record")
        if valid is not None and valid.policy.id == policy_id and not force_fetch:
            return Lookup(domain, valid.policy, "cache", f"policy id {policy_id} unchanged")
        failed = self._failed.get(domain)
        if failed is not None and not force_fetch:
            until, failed_id, error = failed
            if failed_id == policy_id and now < until:
                return _fallback(domain, valid, f"recent fetch failed: {error}", error)
        try:
            policy = await self._fetcher.fetch(domain, policy_id)
        except MTASTSError as err:
            self._failed[domain] = (now + self._backoff, policy_id, err)
            result = _fallback(domain, valid, f"fetching policy id {policy_id} failed: {err}", err)
            # §3.3: "MTAs SHOULD alert administrators ... when such attempts fail,
            # unless the cached policy mode is 'none'".
            quiet = valid is not None and valid.policy.mode == "none"
            log.log(
                logging.INFO if quiet else logging.WARNING, "MTA-STS %s: %s", domain, result.reason
            )
            return result
        self._failed.pop(domain, None)
        self._cache.put(domain, policy, now)
        was = f"replaces id {cached.policy.id}" if cached is not None else "new"
        log.info(
            "MTA-STS %s: fetched policy id %s mode %s (%s)", domain, policy_id, policy.mode, was
        )
        return Lookup(domain, policy, "fetched", f"fetched policy id {policy_id}")


def _fallback(
    domain: str, valid: CachedPolicy | None, why: str, error: MTASTSError | None = None
) -> Lookup:
    """No live policy: an unexpired cached one still applies (§3.3), else none does."""
    if valid is None:
        return Lookup(domain, None, "none", f"{why}; no cached policy", error)
    reason = f"{why}; using cached policy id {valid.policy.id} until {_iso(valid.expires_at)}"
    return Lookup(domain, valid.policy, "cache", reason, error)


def _iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))
