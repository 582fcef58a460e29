"""checks.evaluate with the fake resolver: actions, edge cases, the header it returns."""

from __future__ import annotations

import pytest

from roost import checks, spf
from roost.dns.fake import FakeResolver
from tests.checks.messages import message

ZONE = FakeResolver(
    txt={
        "example.com": ["v=spf1 ip4:192.0.2.1 -all"],
        "_dmarc.example.com": ["v=DMARC1; p=reject"],
        "_dmarc.example.net": ["v=DMARC1; p=quarantine"],
    }
)


def run(msg: bytes, resolver: FakeResolver = ZONE, **kw: str) -> checks.InboundVerdict:
    args = {"client_ip": "192.0.2.99", "helo": "h.example.org", "mail_from": "a@example.com"}
    args.update(kw)
    return checks.evaluate(msg, authserv_id="mx.roost.test", resolver=resolver, **args)


def with_from(field: str) -> bytes:
    return message().replace(b"From: Alice <alice@example.com>", b"From: " + field.encode())


def test_spf_aligned_pass_accepts() -> None:
    verdict = run(message(), client_ip="192.0.2.1")
    assert verdict.action == "accept"
    assert verdict.header.startswith(b"Authentication-Results: mx.roost.test;\r\n\tspf=pass")
    assert verdict.header.endswith(b"header.from=example.com\r\n")


@pytest.mark.parametrize(
    ("reject_action", "expected"), [("reject", "reject"), ("junk", "junk"), ("accept", "accept")]
)
def test_reject_action(reject_action: str, expected: str) -> None:
    assert run(message(), reject_action=reject_action).action == expected


@pytest.mark.parametrize(
    "from_field",
    [
        "a@example.net\r\nFrom: b@example.com",  # a second From field
        "a@example.net, b@example.com",  # two domains in one
        '"PayPal" <service@example.com> x',  # the DMARC bypass: unparseable
        "undisclosed",
    ],
)
def test_from_without_exactly_one_domain_gets_the_reject_action(from_field: str) -> None:
    """RFC 7489 §6.6.1: no domain's policy can be applied, so the strictest action is."""
    msg = with_from(from_field)
    verdict = run(msg, quarantine_action="accept")
    assert verdict.action == "reject"
    assert b"dmarc=permerror" in verdict.header
    assert run(msg, reject_action="junk").action == "junk"  # the operator's policy decides


def test_trailing_comma_still_meets_the_domain_policy() -> None:
    verdict = run(with_from('"PayPal" <service@example.com>,'))
    assert verdict.action == "reject"
    assert b"dmarc=fail" in verdict.header and b"header.from=example.com" in verdict.header


def test_no_from_field_is_rejected() -> None:
    verdict = run(b"Subject: no from\r\n\r\nbody\r\n")
    assert verdict.action == "reject"
    assert b"dmarc=permerror" in verdict.header


def test_dns_trouble_never_rejects() -> None:
    down = FakeResolver(fail=["example.com.", "_dmarc.example.com."])
    verdict = run(message(), resolver=down)
    assert verdict.action == "accept"
    assert b"spf=temperror" in verdict.header
    assert b"dmarc=temperror" in verdict.header


def test_null_sender_checks_helo() -> None:
    helo_zone = FakeResolver(txt={"mail.example.com": ["v=spf1 ip4:192.0.2.1 -all"]})
    verdict = run(message(), resolver=helo_zone, mail_from="", helo="mail.example.com")
    assert b"smtp.helo=mail.example.com" in verdict.header
    assert "spf=fail helo=mail.example.com" in verdict.reason


def test_spf_past_its_budget_is_temperror_not_a_verdict() -> None:
    args = {"client_ip": "192.0.2.99", "helo": "h.example.org", "mail_from": "a@example.com"}
    assert spf.check(resolver=ZONE, **args).result == "fail"
    assert spf.check(resolver=ZONE, budget=0.0, **args).result == "temperror"
