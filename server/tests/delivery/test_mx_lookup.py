"""Choosing MX hosts (RFC 5321 §5.1, RFC 7505) with the in-repo fake resolver."""

from __future__ import annotations

import asyncio

from roost.delivery.mx import MXHosts, mx_hosts
from roost.delivery.outcome import Outcome
from roost.dns.fake import FakeResolver


def lookup(resolver: FakeResolver, domain: str) -> MXHosts | Outcome:
    return asyncio.run(mx_hosts(resolver, domain))


def test_mx_hosts_by_preference() -> None:
    resolver = FakeResolver(
        mx={"d.test.": [(20, "backup.d.test."), (10, "mx1.d.test."), (10, "mx2.d.test.")]}
    )
    found = lookup(resolver, "d.test")
    assert isinstance(found, MXHosts)
    assert set(found.hosts[:2]) == {"mx1.d.test", "mx2.d.test"}
    assert found.hosts[2] == "backup.d.test"


def test_null_mx_fails_permanently() -> None:
    found = lookup(FakeResolver(mx={"nomail.test.": [(0, ".")]}), "nomail.test")
    assert isinstance(found, Outcome)
    assert (found.kind, found.status) == ("permanent", "5.1.10")


def test_no_mx_falls_back_to_address() -> None:
    found = lookup(FakeResolver(a={"plain.test.": ["192.0.2.7"]}), "plain.test")
    assert found == MXHosts(("plain.test",))


def test_no_mx_no_address_is_permanent() -> None:
    found = lookup(FakeResolver(), "void.test")
    assert isinstance(found, Outcome)
    assert (found.kind, found.status) == ("permanent", "5.1.2")


def test_dns_failure_is_temporary() -> None:
    found = lookup(FakeResolver(fail=["flaky.test."]), "flaky.test")
    assert isinstance(found, Outcome)
    assert found.kind == "temporary"
