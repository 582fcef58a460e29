"""DMARC evaluation with the fake resolver: discovery, alignment, p/sp, pct."""

from __future__ import annotations

import pytest

from roost import dmarc
from roost.dkim import DKIMResult
from roost.dns.fake import FakeResolver
from roost.spf import SPFResult


def spf_result(result: str = "fail", domain: str = "example.com") -> SPFResult:
    return SPFResult(result, "mailfrom", domain, "", "")  # type: ignore[arg-type]


def dkim_result(result: str = "pass", domain: str = "example.com") -> DKIMResult:
    return DKIMResult(result, domain, "s1", "rsa-sha256", "abcdefgh", "")  # type: ignore[arg-type]


def resolver(txt: dict[str, str | list[str]]) -> FakeResolver:
    """A fake resolver with these TXT records (one string means one record)."""
    return FakeResolver(txt={k: [v] if isinstance(v, str) else v for k, v in txt.items()})


REJECT = resolver({"_dmarc.example.com": "v=DMARC1; p=reject; sp=quarantine"})


@pytest.mark.parametrize(
    ("from_domain", "auth_domain", "strict", "expected"),
    [
        ("example.com", "example.com", True, True),
        ("example.com", "EXAMPLE.COM.", True, True),
        ("example.com", "mail.example.com", True, False),
        ("example.com", "mail.example.com", False, True),
        ("a.example.com", "b.example.com", False, True),
        ("example.com", "example.net", False, False),
        ("example.co.uk", "other.co.uk", False, False),
        ("shop.example.co.uk", "example.co.uk", False, True),
        # RFC 7489 §3.2 compares Organizational Domains: a public suffix is not a parent.
        ("example.co.uk", "co.uk", False, False),
        ("alice.github.io", "github.io", False, False),
        ("alice.github.io", "bob.github.io", False, False),
    ],
)
def test_alignment(from_domain: str, auth_domain: str, strict: bool, expected: bool) -> None:
    assert dmarc.aligned(from_domain, auth_domain, strict) is expected


def test_no_record_is_none() -> None:
    got = dmarc.evaluate("example.com", spf_result(), [], FakeResolver())
    assert (got.result, got.policy, got.published) == ("none", "none", None)


def test_spf_aligned_pass() -> None:
    got = dmarc.evaluate("example.com", spf_result("pass", "bounce.example.com"), [], REJECT)
    assert (got.result, got.policy) == ("pass", "none")


def test_dkim_aligned_pass_among_several_signatures() -> None:
    sigs = [dkim_result("fail"), dkim_result("pass", "example.net"), dkim_result("pass")]
    got = dmarc.evaluate("example.com", spf_result(), sigs, REJECT)
    assert got.result == "pass"


def test_failing_domain_gets_p() -> None:
    sigs = [dkim_result("pass", "example.net"), dkim_result("fail")]
    got = dmarc.evaluate("example.com", spf_result("pass", "example.net"), sigs, REJECT)
    assert (got.result, got.policy, got.published) == ("fail", "reject", "reject")


def test_subdomain_gets_sp_from_organizational_domain() -> None:
    got = dmarc.evaluate("news.example.com", spf_result(), [], REJECT)
    assert (got.result, got.policy) == ("fail", "quarantine")


def test_subdomain_without_sp_gets_p() -> None:
    r = resolver({"_dmarc.example.com": "v=DMARC1; p=reject"})
    assert dmarc.evaluate("news.example.com", spf_result(), [], r).policy == "reject"


def test_subdomain_own_record_wins() -> None:
    r = resolver(
        {
            "_dmarc.example.com": "v=DMARC1; p=reject; sp=reject",
            "_dmarc.news.example.com": "v=DMARC1; p=none",
        }
    )
    got = dmarc.evaluate("news.example.com", spf_result(), [], r)
    assert (got.result, got.policy) == ("fail", "none")


def test_strict_alignment_from_record() -> None:
    r = resolver({"_dmarc.example.com": "v=DMARC1; p=reject; aspf=s; adkim=s"})
    sub_spf = spf_result("pass", "bounce.example.com")
    sub_dkim = [dkim_result("pass", "mail.example.com")]
    assert dmarc.evaluate("example.com", sub_spf, sub_dkim, r).result == "fail"
    assert dmarc.evaluate("example.com", spf_result("pass"), [], r).result == "pass"


@pytest.mark.parametrize(
    ("pct", "draw", "policy"),
    [
        (100, 0.999, "reject"),
        (50, 0.49, "reject"),
        (50, 0.50, "quarantine"),  # RFC 7489 §6.6.4: sampled out -> next less strict
        (0, 0.0, "quarantine"),
    ],
)
def test_pct_sampling(pct: int, draw: float, policy: str) -> None:
    r = resolver({"_dmarc.example.com": f"v=DMARC1; p=reject; pct={pct}"})
    got = dmarc.evaluate("example.com", spf_result(), [], r, rand=lambda: draw)
    assert (got.result, got.policy, got.published) == ("fail", policy, "reject")


def test_pct_sampled_out_quarantine_becomes_none() -> None:
    r = resolver({"_dmarc.example.com": "v=DMARC1; p=quarantine; pct=10"})
    assert dmarc.evaluate("example.com", spf_result(), [], r, rand=lambda: 0.5).policy == "none"


def test_non_dmarc_records_are_ignored() -> None:
    r = resolver({"_dmarc.example.com": ["some-verification=abc", "v=DMARC1; p=reject"]})
    assert dmarc.evaluate("example.com", spf_result(), [], r).policy == "reject"


def test_several_dmarc_records_mean_no_policy() -> None:
    r = resolver({"_dmarc.example.com": ["v=DMARC1; p=reject", "v=DMARC1; p=none"]})
    assert dmarc.evaluate("example.com", spf_result(), [], r).result == "none"


def test_record_without_policy_is_permerror() -> None:
    r = resolver({"_dmarc.example.com": "v=DMARC1; rua=mailto:x@example.com"})
    got = dmarc.evaluate("example.com", spf_result(), [], r)
    assert (got.result, got.policy) == ("permerror", "none")


def test_dns_failure_is_temperror() -> None:
    r = FakeResolver(fail=["_dmarc.example.com."])
    got = dmarc.evaluate("example.com", spf_result(), [], r)
    assert (got.result, got.policy) == ("temperror", "none")


def test_aligned_temperror_gives_no_verdict() -> None:
    got = dmarc.evaluate("example.com", spf_result(), [dkim_result("temperror")], REJECT)
    assert (got.result, got.policy) == ("temperror", "none")
    unaligned = dkim_result("temperror", "example.net")
    assert dmarc.evaluate("example.com", spf_result(), [unaligned], REJECT).result == "fail"


@pytest.mark.parametrize(
    ("tags", "spf_passes", "dkim_passes"),
    [
        ("adkim=s", True, False),  # strict DKIM, relaxed SPF: only the SPF subdomain aligns
        ("aspf=s", False, True),  # the reverse
    ],
)
def test_adkim_and_aspf_are_told_apart(tags: str, spf_passes: bool, dkim_passes: bool) -> None:
    """A swapped pair of alignment modes passed every other test."""
    r = resolver({"_dmarc.example.com": f"v=DMARC1; p=reject; {tags}"})
    by_spf = dmarc.evaluate("example.com", spf_result("pass", "bounce.example.com"), [], r)
    by_dkim = dmarc.evaluate(
        "example.com", spf_result("fail"), [dkim_result("pass", "mail.example.com")], r
    )
    assert (by_spf.result == "pass", by_dkim.result == "pass") == (spf_passes, dkim_passes)
