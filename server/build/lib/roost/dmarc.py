"""DMARC (RFC 7489) evaluation: policy discovery, identifier alignment, pct sampling.

We use pydmarc (``dmarc``) for what it does well, parsing the policy record into
tags with their defaults (RFC 7489 §6.3). The rest is written here, because
pydmarc's versions do not fit:

- discovery: ``dmarc.resolver`` asks a module-global system resolver, while every
  check in Roost takes an injected one;
- alignment: its relaxed mode calls any parent domain aligned without asking the
  public suffix list, so a passing ``d=co.uk`` or ``d=github.io`` would align with
  every domain below it, whereas RFC 7489 §3.2 compares Organizational Domains;
- pct: it parses pct but never samples (RFC 7489 §6.6.4).

Organizational Domains come from ``publicsuffixlist`` (RFC 7489 §3.2).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import getaddresses
from functools import cache
from typing import Literal

import dmarc as pydmarc
from publicsuffixlist import PublicSuffixList

from roost.dkim.verify import DKIMResult
from roost.dns.resolver import DNSNameError, DNSTemporaryError, Resolver
from roost.rawheaders import fields
from roost.spf import SPFResult

DMARCResultCode = Literal["pass", "fail", "none", "temperror", "permerror"]
Disposition = Literal["none", "quarantine", "reject"]

#: RFC 7489 §6.6.4: a message not sampled by pct gets the next less strict policy.
_LESS_STRICT: dict[Disposition, Disposition] = {
    "reject": "quarantine",
    "quarantine": "none",
    "none": "none",
}


@dataclass(frozen=True)
class DMARCResult:
    """The outcome of DMARC for one RFC5322.From domain.

    ``policy`` is what the receiver should do (after pct sampling); ``published``
    is the p= or sp= that applied, or None when no policy record was found.
    """

    result: DMARCResultCode
    header_from: str
    policy: Disposition
    published: Disposition | None
    reason: str


@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def organizational_domain(domain: str) -> str:
    """RFC 7489 §3.2: the public suffix plus one label (the domain itself if it is a suffix)."""
    domain = domain.lower().rstrip(".")
    return _psl().privatesuffix(domain) or domain


def aligned(from_domain: str, auth_domain: str, strict: bool) -> bool:
    """Identifier alignment (RFC 7489 §3.1.1, §3.1.2): equal, or same Organizational Domain."""
    a = from_domain.lower().rstrip(".")
    b = auth_domain.lower().rstrip(".")
    if strict:
        return a == b
    return organizational_domain(a) == organizational_domain(b)


def from_domains(message: bytes) -> list[str]:
    """The distinct domains of the RFC5322.From addresses, in order (RFC 7489 §6.6.1).

    A message should have exactly one From with one address; when it has more, the
    caller evaluates every domain, so a second From cannot hide the first.
    """
    values = [
        value.decode("utf-8", "replace") for name, value in fields(message) if name == b"from"
    ]
    domains: list[str] = []
    for _name, address in getaddresses(values):
        local, at, domain = address.rpartition("@")
        domain = domain.strip().lower().rstrip(".")
        if at and local and domain and domain not in domains:
            domains.append(domain)
    return domains


def _dmarc_records(resolver: Resolver, domain: str) -> list[str]:
    """The v=DMARC1 TXT records at _dmarc.DOMAIN (RFC 7489 §6.6.3 steps 1-2)."""
    try:
        txts = resolver.txt(f"_dmarc.{domain}.")
    except DNSNameError:
        return []
    records = [t.decode("utf-8", "replace") for t in txts]
    # RFC 7489 §6.6.3: records that do not start with "v=DMARC1" are discarded
    # (§6.4 allows whitespace around "=" and ";").
    return [r for r in records if re.match(r"v[ \t]*=[ \t]*DMARC1[ \t]*(;|$)", r)]


def discover(resolver: Resolver, from_domain: str) -> tuple[str, str] | None:
    """Find (record, domain it was found at), or None (RFC 7489 §6.6.3).

    Looks at the From domain first, then at its Organizational Domain. Several
    records at one name mean no DMARC processing. DNS failures raise
    :class:`DNSTemporaryError`.
    """
    candidates = [from_domain]
    org = organizational_domain(from_domain)
    if org != from_domain:
        candidates.append(org)
    for domain in candidates:
        records = _dmarc_records(resolver, domain)
        if len(records) == 1:
            return records[0], domain
        if len(records) > 1:
            return None
    return None


def evaluate(
    header_from: str,
    spf: SPFResult,
    dkim: Sequence[DKIMResult],
    resolver: Resolver,
    *,
    rand: Callable[[], float] = random.random,
) -> DMARCResult:
    """Evaluate DMARC for the RFC5322.From domain ``header_from`` (RFC 7489 §6.6).

    ``rand`` returns a float in [0, 1) and drives pct sampling; tests pass a fixed one.
    """
    from_domain = header_from.lower().rstrip(".")
    try:
        found = discover(resolver, from_domain)
    except DNSTemporaryError as err:
        return DMARCResult("temperror", from_domain, "none", None, f"policy look-up: {err}")
    if found is None:
        return DMARCResult("none", from_domain, "none", None, "no DMARC record")
    record, record_domain = found
    try:
        policy = pydmarc.DMARC().parse_record(
            record,
            domain=from_domain,
            org_domain=record_domain if record_domain != from_domain else None,
            strict=False,
        )
    except pydmarc.RecordSyntaxError as err:
        return DMARCResult("permerror", from_domain, "none", None, f"bad record: {err}")

    strict_spf = policy.aspf is pydmarc.DMARCAlignment.STRICT
    strict_dkim = policy.adkim is pydmarc.DMARCAlignment.STRICT
    # RFC 7489 §4.2: pass if SPF or DKIM passes *and* is aligned.
    spf_aligned = aligned(from_domain, spf.domain, strict_spf) if spf.domain else False
    if spf.result == "pass" and spf_aligned:
        return DMARCResult("pass", from_domain, "none", None, f"SPF {spf.domain} aligned")
    for sig in dkim:
        if sig.result == "pass" and aligned(from_domain, sig.domain, strict_dkim):
            return DMARCResult("pass", from_domain, "none", None, f"DKIM {sig.domain} aligned")

    # RFC 7489 §6.6.2: an aligned check that failed only temporarily gives no verdict.
    if (spf.result == "temperror" and spf_aligned) or any(
        s.result == "temperror" and aligned(from_domain, s.domain, strict_dkim) for s in dkim
    ):
        return DMARCResult("temperror", from_domain, "none", None, "aligned check temperror")

    # RFC 7489 §6.3: sp= applies to subdomains when the record came from the
    # Organizational Domain; otherwise p=.
    use_sp = record_domain != from_domain and policy.sp is not pydmarc.DMARCDisposition.UNSPECIFIED
    published: Disposition = (policy.sp if use_sp else policy.p).value
    applied = published
    if rand() * 100 >= policy.pct:  # RFC 7489 §6.6.4: sampled out
        applied = _LESS_STRICT[published]
    reason = f"no aligned pass; {'sp' if use_sp else 'p'}={published} pct={policy.pct}"
    return DMARCResult("fail", from_domain, applied, published, reason)
