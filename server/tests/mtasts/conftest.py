"""Fixtures for MTA-STS: the test CAs, the HTTPS policy server, and a Knot-backed MTASTS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from roost.dns.resolver import DNSResolver
from roost.mtasts import MTASTS, PolicyCache, PolicyFetcher
from tests.knot import KnotServer, txt
from tests.mtasts.policyserver import PolicyServer
from tests.mtasts.support import Clock
from tests.testca import TestCA


@pytest.fixture(scope="session")
def test_ca() -> TestCA:
    return TestCA("Roost MTA-STS Test CA")


@pytest.fixture(scope="session")
def _policy_server(test_ca: TestCA) -> Iterator[PolicyServer]:
    with PolicyServer(test_ca, TestCA("Untrusted Test CA")) as server:
        yield server


@pytest.fixture
def policy_server(_policy_server: PolicyServer) -> Iterator[PolicyServer]:
    """The shared server, emptied for each test."""
    _policy_server.routes.clear()
    _policy_server.certs.clear()
    _policy_server.requests.clear()
    yield _policy_server


@pytest.fixture
def publish(knot: KnotServer) -> Callable[..., None]:
    """``publish(domain, *txt_records, address=..., extra=...)``: the domain's DNS in Knot."""

    def publish(
        domain: str, *records: str, address: str | None = "127.0.0.1", extra: str = ""
    ) -> None:
        lines = [f"_mta-sts TXT {txt([record])}" for record in records]
        if address is not None:
            lines.append(f"mta-sts A {address}")
        if extra:
            lines.append(extra)
        lines.append('info TXT "mtasts test zone"')
        knot.set_zone(domain, "\n".join(lines))

    return publish


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fetcher(knot: KnotServer, test_ca: TestCA, policy_server: PolicyServer) -> PolicyFetcher:
    resolver = DNSResolver([knot.nameserver], timeout=5)
    return PolicyFetcher(
        resolver, ssl_context=test_ca.client_context(), port=policy_server.port, timeout=5
    )


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    return tmp_path / "mtasts.sqlite"


@pytest.fixture
def mtasts(knot: KnotServer, fetcher: PolicyFetcher, cache_path: Path, clock: Clock) -> MTASTS:
    """MTA-STS against Knot and the HTTPS server; failed fetches are retried at once."""
    resolver = DNSResolver([knot.nameserver], timeout=5)
    return MTASTS(resolver, PolicyCache(cache_path), fetcher, fetch_backoff=0, clock=clock)
