"""Policy discovery against real parts: Knot serves the DNS, an HTTPS server the policies.

Each test uses its own domain (its own Knot zone), so tests stay independent while
sharing one DNS server and one HTTPS server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from roost.mtasts import (
    MTASTS,
    PolicyCache,
    PolicyError,
    PolicyFetcher,
    PolicyFetchError,
    WebPKIError,
    tls_requirement,
)
from tests.mtasts.policyserver import CertKind, PolicyServer
from tests.mtasts.support import ENFORCE, TESTING, Clock

Publish = Callable[..., None]


def test_enforce_fetched_then_cached(
    mtasts: MTASTS, publish: Publish, policy_server: PolicyServer, cache_path: Path
) -> None:
    domain = "enforce.mtasts.test"
    publish(domain, "v=STSv1; id=first1")
    policy_server.serve(domain, ENFORCE.format(d=domain))

    first = asyncio.run(mtasts.lookup(domain))
    assert first.source == "fetched" and first.error is None
    assert first.policy is not None
    assert first.policy.mode == "enforce" and first.policy.id == "first1"
    assert first.policy.mx == (f"mail.{domain}", f"*.mx.{domain}")
    assert tls_requirement(first.policy, f"mail.{domain}") == "required-verified"
    assert tls_requirement(first.policy, f"a.mx.{domain}") == "required-verified"
    assert tls_requirement(first.policy, "mail.attacker.test") == "refuse"

    again = asyncio.run(mtasts.lookup(domain))
    assert again.source == "cache" and again.policy == first.policy
    assert policy_server.fetched(domain) == 1

    # The cache is a file: a restarted server still has the policy.
    restarted = MTASTS(mtasts._resolver, PolicyCache(cache_path), mtasts._fetcher)
    assert asyncio.run(restarted.policy_for(domain)) == first.policy
    assert policy_server.fetched(domain) == 1


def test_id_change_triggers_refetch(
    mtasts: MTASTS, publish: Publish, policy_server: PolicyServer
) -> None:
    domain = "idchange.mtasts.test"
    publish(domain, "v=STSv1; id=1")
    policy_server.serve(domain, ENFORCE.format(d=domain))
    first = asyncio.run(mtasts.policy_for(domain))
    assert first is not None and first.mode == "enforce"

    publish(domain, "v=STSv1; id=2")
    policy_server.serve(domain, TESTING.format(d=domain))
    result = asyncio.run(mtasts.lookup(domain))
    assert result.source == "fetched"
    assert result.policy is not None and result.policy.mode == "testing"
    assert result.policy.id == "2"
    assert policy_server.fetched(domain) == 2
    assert asyncio.run(mtasts.lookup(domain)).source == "cache"


def test_fetch_failure_keeps_unexpired_cached_policy(
    mtasts: MTASTS,
    publish: Publish,
    policy_server: PolicyServer,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    domain = "keepcache.mtasts.test"
    publish(domain, "v=STSv1; id=1")
    policy_server.serve(domain, ENFORCE.format(d=domain))
    cached = asyncio.run(mtasts.policy_for(domain))
    assert cached is not None

    # A new id is advertised but the policy host fails: §3.3 keeps the cached policy.
    publish(domain, "v=STSv1; id=2")
    policy_server.serve(domain, "oops", status=500)
    result = asyncio.run(mtasts.lookup(domain))
    assert result.source == "cache" and result.policy == cached
    assert isinstance(result.error, PolicyFetchError)
    assert result.result_type == "sts-policy-fetch-error"
    assert "500" in result.reason
    # The administrator is told why (§3.3 asks for an alert when a refresh fails).
    [warning] = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "policy id 2 failed" in warning.getMessage()
    assert "using cached policy id 1 until" in warning.getMessage()

    # The TXT record disappears (as an attacker stripping it would do): still cached.
    publish(domain)
    assert asyncio.run(mtasts.policy_for(domain)) == cached

    # Once max_age has passed, nothing protects the domain any more.
    clock.advance(86400 + 1)
    result = asyncio.run(mtasts.lookup(domain))
    assert result.policy is None and result.source == "none"


@pytest.mark.parametrize("kind", ["wrong-name", "untrusted", "expired"])
def test_bad_certificate_is_webpki_invalid(
    mtasts: MTASTS, publish: Publish, policy_server: PolicyServer, kind: CertKind
) -> None:
    domain = f"cert-{kind}.mtasts.test"
    publish(domain, "v=STSv1; id=1")
    policy_server.serve(domain, ENFORCE.format(d=domain))
    policy_server.certs[f"mta-sts.{domain}"] = kind
    result = asyncio.run(mtasts.lookup(domain))
    assert result.policy is None
    assert isinstance(result.error, WebPKIError)
    assert result.result_type == "sts-webpki-invalid"
    assert policy_server.fetched(domain) == 0  # no request went over the bad connection


def test_redirect_is_not_followed(
    mtasts: MTASTS, publish: Publish, policy_server: PolicyServer
) -> None:
    domain = "redirect.mtasts.test"
    target = "redirect-target.mtasts.test"
    publish(domain, "v=STSv1; id=1")
    publish(target, "v=STSv1; id=1")
    location = f"https://mta-sts.{target}:{policy_server.port}/.well-known/mta-sts.txt"
    policy_server.serve(domain, "", status=301, headers={"Location": location})
    policy_server.serve(target, ENFORCE.format(d=domain))
    result = asyncio.run(mtasts.lookup(domain))
    assert result.policy is None
    assert result.result_type == "sts-policy-fetch-error"
    assert "redirect" in result.reason
    assert policy_server.fetched(target) == 0


@pytest.mark.parametrize(
    ("response", "why"),
    [
        ({"content_type": "text/html"}, "Content-Type"),
        ({"content_type": None}, "Content-Type"),
        ({"content_type": "application/octet-stream"}, "Content-Type"),
        ({"status": 404}, "status 404"),
        ({"status": 204}, "status 204"),
    ],
)
def test_http_rules(
    mtasts: MTASTS,
    publish: Publish,
    policy_server: PolicyServer,
    response: dict[str, Any],
    why: str,
) -> None:
    domain = "http-rules.mtasts.test"
    publish(domain, "v=STSv1; id=1")
    policy_server.serve(domain, ENFORCE.format(d=domain), **response)
    result = asyncio.run(mtasts.lookup(domain))
    assert result.policy is None and result.result_type == "sts-policy-fetch-error"
    assert why in result.reason


def test_content_type_with_charset_is_accepted(
    mtasts: MTASTS, publish: Publish, policy_server: PolicyServer
) -> None:
    domain = "charset.mtasts.test"
    publish(domain, "v=STSv1; id=1")
    policy_server.serve(domain, ENFORCE.format(d=domain), content_type="Text/Plain; charset=utf-8")
    assert asyncio.run(mtasts.policy_for(domain)) is not None


def test_invalid_policy_is_sts_policy_invalid(
    mtasts: MTASTS, publish: Publish, policy_server: PolicyServer
) -> None:
    domain = "invalid.mtasts.test"
    publish(domain, "v=STSv1; id=1")
    policy_server.serve(domain, "version: STSv1\nmode: enforce\nmax_age: 1\n")  # no mx
    result = asyncio.run(mtasts.lookup(domain))
    assert result.policy is None
    assert isinstance(result.error, PolicyError)
    assert result.result_type == "sts-policy-invalid"


def test_testing_mode(mtasts: MTASTS, publish: Publish, policy_server: PolicyServer) -> None:
    domain = "testing.mtasts.test"
    publish(domain, "v=STSv1; id=t1")
    policy_server.serve(domain, TESTING.format(d=domain))
    policy = asyncio.run(mtasts.policy_for(domain))
    assert policy is not None and policy.mode == "testing"
    # Testing: try verified TLS, record failures, deliver anyway (RFC 8461 §5).
    assert tls_requirement(policy, f"mail.{domain}") == "testing"
    assert tls_requirement(policy, "mail.elsewhere.test") == "testing"


def test_no_txt_record_no_policy_no_fetch(
    mtasts: MTASTS, publish: Publish, policy_server: PolicyServer
) -> None:
    domain = "notxt.mtasts.test"
    publish(domain)  # mta-sts host exists, but no _mta-sts record
    policy_server.serve(domain, ENFORCE.format(d=domain))
    result = asyncio.run(mtasts.lookup(domain))
    assert result.policy is None and result.error is None
    multi = "multi.mtasts.test"
    publish(multi, "v=STSv1; id=1", "v=STSv1; id=2")
    policy_server.serve(multi, ENFORCE.format(d=multi))
    assert asyncio.run(mtasts.policy_for(multi)) is None
    assert policy_server.requests == []


def test_policy_host_without_address(mtasts: MTASTS, publish: Publish) -> None:
    domain = "noaddress.mtasts.test"
    publish(domain, "v=STSv1; id=1", address=None)
    result = asyncio.run(mtasts.lookup(domain))
    assert result.policy is None and result.result_type == "sts-policy-fetch-error"
    assert "resolve" in result.reason


def test_size_cap_and_timeout(
    publish: Publish, policy_server: PolicyServer, fetcher: PolicyFetcher
) -> None:
    big = "big.mtasts.test"
    publish(big, "v=STSv1; id=1")
    policy_server.serve(big, ENFORCE.format(d=big) + "x: " + "y" * 70000 + "\n")
    with pytest.raises(PolicyFetchError, match="larger than 65536"):
        asyncio.run(fetcher.fetch(big))

    slow = "slow.mtasts.test"
    publish(slow, "v=STSv1; id=1")
    policy_server.serve(slow, ENFORCE.format(d=slow), delay=3)
    quick = PolicyFetcher(
        fetcher._resolver, ssl_context=fetcher._context, port=policy_server.port, timeout=1
    )
    with pytest.raises(PolicyFetchError, match="timed out"):
        asyncio.run(quick.fetch(slow))
