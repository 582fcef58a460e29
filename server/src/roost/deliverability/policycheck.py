"""DMARC and TLS-RPT: the records that tell receivers what to do and where to report."""

from __future__ import annotations

import re

from roost.deliverability.context import REPUBLISH, Context
from roost.deliverability.dmarcrecord import RecordSyntaxError, parse_dmarc, parse_tlsrpt
from roost.deliverability.report import Finding, failed, passed, warned
from roost.dns.resolver import DNSError


def _records(ctx: Context, name: str, version: str) -> list[str]:
    """TXT records at NAME starting with ``v=VERSION`` (others are not ours to judge)."""
    texts = [t.decode("ascii", "replace") for t in ctx.resolver.txt(name)]
    prefix = re.compile(rf"v[ \t]*=[ \t]*{version}[ \t]*(;|$)")
    return [t for t in texts if prefix.match(t)]


def check_dmarc(ctx: Context, domain: str) -> list[Finding]:
    """RFC 7489 §6.6.3: exactly one record at ``_dmarc.<domain>``, with a policy."""
    name = f"_dmarc.{domain}"
    fix = f"publish TXT 'v=DMARC1; p=none' (or quarantine/reject) at {name}: " + REPUBLISH
    try:
        records = _records(ctx, name, "DMARC1")
    except DNSError as err:
        return [warned(domain, "dmarc", f"DMARC look-up failed: {err}", "check the domain's DNS")]
    if len(records) != 1:
        detail = f"no DMARC record at {name}" if not records else f"{len(records)} at {name}"
        return [failed(domain, "dmarc", detail + ": receivers apply no DMARC policy", fix)]
    try:
        tags = parse_dmarc(records[0])
    except RecordSyntaxError as err:
        return [failed(domain, "dmarc", f"invalid DMARC record {records[0]!r}: {err}", fix)]
    if tags["p"].lower() == "none":
        return [
            warned(
                domain,
                "dmarc",
                f"{records[0]!r}: monitoring only, receivers do not act on mail failing DMARC",
                "once reports show your own mail passes, set "
                "dmarc_policy to quarantine or reject in roost_domains and re-run site.yml",
            )
        ]
    return [passed(domain, "dmarc", f"{records[0]!r}")]


def check_tlsrpt(ctx: Context, domain: str) -> list[Finding]:
    """RFC 8460 §3: ``_smtp._tls.<domain>`` names where TLS failure reports go."""
    name = f"_smtp._tls.{domain}"
    fix = "set roost_tlsrpt_rua (e.g. your postmaster address) and re-run site.yml"
    try:
        records = _records(ctx, name, "TLSRPTv1")
    except DNSError as err:
        return [warned(domain, "tls-rpt", f"look-up failed: {err}", "check the domain's DNS")]
    if not records:
        return [
            warned(
                domain,
                "tls-rpt",
                f"no TLS-RPT record at {name}: senders cannot tell "
                "you when TLS to your server fails",
                fix,
            )
        ]
    if len(records) > 1:
        return [failed(domain, "tls-rpt", f"{len(records)} TLS-RPT records at {name}", fix)]
    try:
        parse_tlsrpt(records[0])
    except RecordSyntaxError as err:
        return [failed(domain, "tls-rpt", f"invalid record {records[0]!r}: {err}", fix)]
    return [passed(domain, "tls-rpt", records[0])]
