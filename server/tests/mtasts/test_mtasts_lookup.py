"""The discovery rules of RFC 8461 §3.3 and §5.1 with DNS faked, HTTPS real.

The fake resolver makes DNS failures and changes instant; the policy server is the
real HTTPS one, so every fetch is a real fetch.
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
import threading
from pathlib import Path

import pytest

from roost.dns.fake import FakeResolver
from roost.maintenance import run_once
from roost.mtasts import MTASTS, Policy, PolicyCache, PolicyFetcher
from roost.tlsrpt import Failure, TLSReportStore
from tests.mtasts.policyserver import PolicyServer
from tests.mtasts.support import ENFORCE, Clock
from tests.testca import TestCA

DOMAIN = "fake.mtasts.test"


def _mtasts(
    resolver: FakeResolver,
    server: PolicyServer,
    ca: TestCA,
    cache: PolicyCache,
    clock: Clock,
    backoff: float = 0,
) -> MTASTS:
    fetcher = PolicyFetcher(resolver, ssl_context=ca.client_context(), port=server.port, timeout=5)
    return MTASTS(resolver, cache, fetcher, fetch_backoff=backoff, clock=clock)


def _resolver(*txt: str, fail: tuple[str, ...] = ()) -> FakeResolver:
    return FakeResolver(
        txt={f"_mta-sts.{DOMAIN}": list(txt)},
        a={f"mta-sts.{DOMAIN}": ["127.0.0.1"]},
        fail=fail,
    )


def test_dns_failure_uses_cached_policy(
    policy_server: PolicyServer, test_ca: TestCA, tmp_path: Path, clock: Clock
) -> None:
    cache = PolicyCache(tmp_path / "c.sqlite")
    policy_server.serve(DOMAIN, ENFORCE.format(d=DOMAIN))
    good = _mtasts(_resolver("v=STSv1; id=1"), policy_server, test_ca, cache, clock)
    policy = asyncio.run(good.policy_for(DOMAIN))
    assert policy is not None

    broken = _resolver(fail=(f"TXT _mta-sts.{DOMAIN}",))
    result = asyncio.run(_mtasts(broken, policy_server, test_ca, cache, clock).lookup(DOMAIN))
    assert result.policy == policy and result.source == "cache"
    assert "look-up failed" in result.reason

    empty = PolicyCache(tmp_path / "empty.sqlite")
    result = asyncio.run(_mtasts(broken, policy_server, test_ca, empty, clock).lookup(DOMAIN))
    assert result.policy is None


def test_expired_policy_with_same_id_is_refetched(
    policy_server: PolicyServer, test_ca: TestCA, clock: Clock, tmp_path: Path
) -> None:
    policy_server.serve(DOMAIN, ENFORCE.format(d=DOMAIN))
    mtasts = _mtasts(
        _resolver("v=STSv1; id=1"),
        policy_server,
        test_ca,
        PolicyCache(tmp_path / "c.sqlite"),
        clock,
    )
    assert asyncio.run(mtasts.lookup(DOMAIN)).source == "fetched"
    clock.advance(3600)
    assert asyncio.run(mtasts.lookup(DOMAIN)).source == "cache"
    clock.advance(86400)
    assert asyncio.run(mtasts.lookup(DOMAIN)).source == "fetched"
    assert policy_server.fetched(DOMAIN) == 2


def test_refresh_fetches_even_when_id_is_unchanged(
    policy_server: PolicyServer, test_ca: TestCA, clock: Clock, tmp_path: Path
) -> None:
    cache = PolicyCache(tmp_path / "c.sqlite")
    policy_server.serve(DOMAIN, ENFORCE.format(d=DOMAIN))
    mtasts = _mtasts(_resolver("v=STSv1; id=1"), policy_server, test_ca, cache, clock)
    asyncio.run(mtasts.lookup(DOMAIN))
    clock.advance(7200)
    assert cache.due_for_refresh(clock.now - 3600, clock.now) == [DOMAIN]
    assert asyncio.run(mtasts.refresh(DOMAIN)).source == "fetched"
    assert cache.due_for_refresh(clock.now - 3600, clock.now) == []
    assert policy_server.fetched(DOMAIN) == 2


def test_failed_fetch_backs_off_until_the_id_changes(
    policy_server: PolicyServer, test_ca: TestCA, clock: Clock, tmp_path: Path
) -> None:
    policy_server.serve(DOMAIN, "down", status=503)
    resolver = _resolver("v=STSv1; id=1")
    mtasts = _mtasts(
        resolver, policy_server, test_ca, PolicyCache(tmp_path / "c.sqlite"), clock, 300
    )
    first = asyncio.run(mtasts.lookup(DOMAIN))
    second = asyncio.run(mtasts.lookup(DOMAIN))
    assert first.policy is second.policy is None
    assert second.result_type == "sts-policy-fetch-error"
    assert "recent fetch failed" in second.reason
    assert policy_server.fetched(DOMAIN) == 1
    clock.advance(301)
    policy_server.serve(DOMAIN, ENFORCE.format(d=DOMAIN))
    assert asyncio.run(mtasts.lookup(DOMAIN)).source == "fetched"


def test_concurrent_lookups_fetch_once(
    policy_server: PolicyServer, test_ca: TestCA, clock: Clock, tmp_path: Path
) -> None:
    policy_server.serve(DOMAIN, ENFORCE.format(d=DOMAIN), delay=0.3)
    mtasts = _mtasts(
        _resolver("v=STSv1; id=1"),
        policy_server,
        test_ca,
        PolicyCache(tmp_path / "c.sqlite"),
        clock,
    )

    async def many() -> list[Policy | None]:
        return await asyncio.gather(*(mtasts.policy_for(DOMAIN) for _ in range(5)))

    results = asyncio.run(many())
    assert len(set(results)) == 1 and results[0] is not None
    assert policy_server.fetched(DOMAIN) == 1


def test_cache_survives_threads_and_prunes(tmp_path: Path) -> None:
    cache = PolicyCache(tmp_path / "threads.sqlite")
    policy = Policy("enforce", ("mx.example.com",), 100, "id1")

    missing: list[str] = []

    def work(n: int) -> None:
        for i in range(50):
            cache.put(f"d{n}-{i}.example", policy, fetched_at=1000.0 + i)
            if cache.get(f"d{n}-{i}.example") is None:
                missing.append(f"d{n}-{i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert missing == []
    entry = cache.get("D0-0.Example.")
    assert entry is not None and entry.policy == policy and entry.expires_at == 1100.0
    assert entry.valid_at(1099.0) and not entry.valid_at(1100.0)
    # Expiry is fetched_at + max_age = 1100 + i: i <= 25 has expired at 1125.
    assert cache.prune(now=1125.0) == 4 * 26
    assert cache.get("d0-25.example") is None and cache.get("d0-26.example") is not None


def test_fetcher_refuses_a_context_that_does_not_verify() -> None:
    """RFC 8461 §3.3: the policy host's certificate must be checked, name included."""
    with pytest.raises(ValueError, match="verifies"):
        PolicyFetcher(FakeResolver(), ssl_context=ssl._create_unverified_context())
    no_names = ssl.create_default_context()
    no_names.check_hostname = False
    with pytest.raises(ValueError, match="verifies"):
        PolicyFetcher(FakeResolver(), ssl_context=no_names)


def test_housekeeping_refreshes_day_old_policies_and_prunes(
    policy_server: PolicyServer, test_ca: TestCA, clock: Clock, tmp_path: Path
) -> None:
    cache = PolicyCache(tmp_path / "c.sqlite")
    reports = TLSReportStore(tmp_path / "r.sqlite")
    week = ENFORCE.format(d=DOMAIN).replace("max_age: 86400", "max_age: 604800")
    policy_server.serve(DOMAIN, week)
    mtasts = _mtasts(_resolver("v=STSv1; id=1"), policy_server, test_ca, cache, clock)
    asyncio.run(mtasts.lookup(DOMAIN))
    old_day = datetime.datetime.fromtimestamp(clock.now, datetime.UTC) - datetime.timedelta(days=40)
    reports.record_failure(DOMAIN, None, Failure("sts-policy-fetch-error"), at=old_day)
    asyncio.run(run_once(mtasts, cache, reports, clock.now + 3600))
    assert policy_server.fetched(DOMAIN) == 1  # an hour old: not due yet
    clock.advance(86400 + 60)
    asyncio.run(run_once(mtasts, cache, reports, clock.now))
    assert policy_server.fetched(DOMAIN) == 2  # a day old and still valid: refreshed
    assert reports.domains(old_day.date()) == []  # older than a month: gone
