"""SPF, DKIM and DMARC end to end: roost's checks against a real DNS server (Knot)."""

from __future__ import annotations

import pytest

from roost import checks, spf
from roost.dkim import DKIMKey, DKIMKeyStore, sign, verify
from roost.dns import DNSResolver
from tests.checks.conftest import BAD_IP, GOOD_IP
from tests.checks.messages import message

AUTHSERV = "mx.roost.test"


@pytest.mark.parametrize(
    ("client_ip", "helo", "mail_from", "result", "identity", "domain"),
    [
        (GOOD_IP, "mail.example.com", "alice@example.com", "pass", "mailfrom", "example.com"),
        (BAD_IP, "mail.example.com", "alice@example.com", "fail", "mailfrom", "example.com"),
        (
            BAD_IP,
            "x.example.net",
            "a@softfail.example.com",
            "softfail",
            "mailfrom",
            "softfail.example.com",
        ),
        (GOOD_IP, "x.example.net", "a@nospf.example.com", "none", "mailfrom", "nospf.example.com"),
        # RFC 7208 §2.4: a null reverse-path is checked as postmaster@HELO.
        (GOOD_IP, "mail.example.com", "", "pass", "helo", "mail.example.com"),
        (BAD_IP, "mail.example.com", "", "fail", "helo", "mail.example.com"),
    ],
)
def test_spf_over_real_dns(
    resolver: DNSResolver,
    client_ip: str,
    helo: str,
    mail_from: str,
    result: str,
    identity: str,
    domain: str,
) -> None:
    got = spf.check(client_ip=client_ip, helo=helo, mail_from=mail_from, resolver=resolver)
    assert (got.result, got.identity, got.domain) == (result, identity, domain)


def test_spf_temperror_when_dns_unreachable() -> None:
    # A port nobody listens on: the look-up times out, which is temperror (RFC 7208 §2.6.6).
    dead = DNSResolver(["127.0.0.1:9"], timeout=0.5)
    got = spf.check(client_ip=GOOD_IP, helo="h.example", mail_from="a@example.com", resolver=dead)
    assert got.result == "temperror"


def test_dkim_sign_and_verify_both_algorithms(
    resolver: DNSResolver, example_keys: list[DKIMKey]
) -> None:
    signed = sign(message(), "example.com", example_keys)
    results = verify(signed, resolver)
    assert [(r.result, r.algorithm) for r in results] == [
        ("pass", "rsa-sha256"),
        ("pass", "ed25519-sha256"),
    ]
    assert {r.selector for r in results} == {k.selector for k in example_keys}


def test_dkim_modified_after_signing_fails(
    resolver: DNSResolver, example_keys: list[DKIMKey]
) -> None:
    signed = sign(message(), "example.com", example_keys)
    body_changed = signed.replace(b"noon", b"one")
    header_changed = signed.replace(b"Subject: Lunch", b"Subject: Dinner")
    assert [r.result for r in verify(body_changed, resolver)] == ["fail", "fail"]
    assert [r.result for r in verify(header_changed, resolver)] == ["fail", "fail"]


def test_dkim_oversigned_from_blocks_added_from(
    resolver: DNSResolver, example_keys: list[DKIMKey]
) -> None:
    signed = sign(message(), "example.com", example_keys)
    forged = b"From: ceo@example.com\r\n" + signed
    assert [r.result for r in verify(forged, resolver)] == ["fail", "fail"]


def test_dkim_unknown_selector_is_permerror(
    resolver: DNSResolver, tmp_path_factory: pytest.TempPathFactory
) -> None:
    unpublished = DKIMKeyStore(tmp_path_factory.mktemp("k")).generate(
        "example.com", "ed25519", "unpublished"
    )
    results = verify(sign(message(), "example.com", [unpublished]), resolver)
    assert [r.result for r in results] == ["permerror"]


def evaluate(
    msg: bytes,
    *,
    resolver: DNSResolver,
    ip: str = BAD_IP,
    mail_from: str = "alice@example.com",
    **actions: str,
) -> checks.InboundVerdict:
    return checks.evaluate(
        msg,
        client_ip=ip,
        helo="mail.example.net",
        mail_from=mail_from,
        authserv_id=AUTHSERV,
        resolver=resolver,
        **actions,  # type: ignore[arg-type]
    )


def test_dmarc_pass_by_dkim_despite_spf_fail(
    resolver: DNSResolver, example_keys: list[DKIMKey]
) -> None:
    verdict = evaluate(sign(message(), "example.com", example_keys), resolver=resolver)
    assert verdict.action == "accept"
    assert b"spf=fail" in verdict.header
    assert verdict.header.count(b"dkim=pass header.d=example.com") == 2
    assert b"dmarc=pass" in verdict.header


def test_dmarc_reject(resolver: DNSResolver) -> None:
    verdict = evaluate(message(), resolver=resolver)
    assert verdict.action == "reject"
    assert b"dmarc=fail (p=reject dis=reject) header.from=example.com" in verdict.header


def test_dmarc_reject_action_is_configurable(resolver: DNSResolver) -> None:
    verdict = evaluate(message(), resolver=resolver, reject_action="junk")
    assert verdict.action == "junk"


def test_dmarc_quarantine_goes_to_junk(resolver: DNSResolver) -> None:
    verdict = evaluate(message("a@example.net"), mail_from="a@example.net", resolver=resolver)
    assert verdict.action == "junk"
    assert b"dmarc=fail (p=quarantine dis=quarantine)" in verdict.header
    accepting = evaluate(
        message("a@example.net"),
        mail_from="a@example.net",
        resolver=resolver,
        quarantine_action="accept",
    )
    assert accepting.action == "accept"


def test_dmarc_policy_none_accepts_failures(resolver: DNSResolver) -> None:
    verdict = evaluate(message("a@example.org"), mail_from="a@example.org", resolver=resolver)
    assert verdict.action == "accept"
    assert b"dmarc=fail (p=none dis=none)" in verdict.header


def test_dmarc_subdomain_policy(resolver: DNSResolver) -> None:
    # RFC 7489 §6.6.3: no record at sub.example.com, so example.com's sp= applies.
    verdict = evaluate(message("a@sub.example.com"), mail_from="a@x.example.net", resolver=resolver)
    assert verdict.action == "junk"
    assert b"p=quarantine" in verdict.header


def test_dmarc_relaxed_alignment_passes_subdomain_spf(resolver: DNSResolver) -> None:
    verdict = evaluate(message(), ip=GOOD_IP, mail_from="b@bounces.example.com", resolver=resolver)
    assert verdict.action == "accept"
    assert b"dmarc=pass" in verdict.header


def test_dmarc_strict_alignment_rejects_subdomain_spf(resolver: DNSResolver) -> None:
    aligned_exactly = evaluate(
        message("a@strict.example"), ip=GOOD_IP, mail_from="b@strict.example", resolver=resolver
    )
    assert aligned_exactly.action == "accept"
    subdomain = evaluate(
        message("a@strict.example"),
        ip=GOOD_IP,
        mail_from="b@bounce.strict.example",
        resolver=resolver,
    )
    assert b"spf=pass" in subdomain.header
    assert subdomain.action == "reject"


def test_dmarc_unaligned_dkim_does_not_pass(resolver: DNSResolver, keystore: DKIMKeyStore) -> None:
    # A valid signature by example.org says nothing about mail From example.com.
    signed = sign(message(), "example.org", keystore.current("example.org"))
    verdict = evaluate(signed, resolver=resolver)
    assert verdict.header.count(b"dkim=pass header.d=example.org") == 2
    assert verdict.action == "reject"


def test_second_from_cannot_dodge_policy(resolver: DNSResolver, keystore: DKIMKeyStore) -> None:
    signed = sign(message("a@example.org"), "example.org", keystore.current("example.org"))
    forged = signed.replace(b"From: Alice <a@example.org>", b"From: Bank <ceo@example.com>", 1)
    forged = forged.replace(b"To:", b"From: a@example.org\r\nTo:", 1)
    verdict = evaluate(forged, mail_from="a@example.org", resolver=resolver)
    assert verdict.action == "reject"
