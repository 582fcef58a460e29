"""SPF: one valid record, within 10 look-ups, that passes mail from where we send it.

Where we send from is the VPS's addresses, or the relay smarthost's when outbound mail
goes through one. Whether the record passes them is asked of pyspf (:mod:`roost.spf`),
exactly as a receiver would evaluate it (RFC 7208 §4).
"""

from __future__ import annotations

from roost import spf
from roost.deliverability import spfrecord
from roost.deliverability.context import REPUBLISH, Context
from roost.deliverability.report import Finding, failed, passed, warned
from roost.dns.resolver import DNSError
from roost.dnsprovider.ptr import addresses_of


def check_spf(ctx: Context, domain: str) -> list[Finding]:
    mechanisms = " ".join(ctx.expected_values(domain, domain, "TXT"))
    fix = f"publish an SPF record at {domain} with {mechanisms}: " + REPUBLISH
    try:
        text = spfrecord.record(ctx.resolver, domain)
        if text is None:
            return [failed(domain, "spf", f"{domain} has no SPF record", fix)]
        terms = spfrecord.parse(text)
        count = spfrecord.count_lookups(ctx.resolver, domain)
    except spfrecord.SPFSyntaxError as err:
        return [
            failed(domain, "spf", f"invalid SPF: {err}", f"correct the record at {domain}; " + fix)
        ]
    except DNSError as err:
        return [warned(domain, "spf", f"SPF look-up failed: {err}", "check the domain's DNS")]
    if count > spfrecord.LOOKUP_LIMIT:
        return [
            failed(
                domain,
                "spf",
                f"{text!r} needs more than {spfrecord.LOOKUP_LIMIT} DNS look-ups with its "
                "includes (RFC 7208 §4.6.4): receivers treat it as an error",
                f"remove include:/a/mx terms {domain} no longer needs from its SPF record",
            )
        ]
    if any(t.name == "all" and t.qualifier in "+?" for t in terms):
        loose = next(t.qualifier for t in terms if t.name == "all")
        return [
            failed(
                domain,
                "spf",
                f"{text!r} ends in {loose}all: anyone may send as {domain}",
                f"end the SPF record at {domain} with -all (or ~all)",
            )
        ]
    sender, addresses = _sending_from(ctx)
    uncovered = [a for a in addresses if not _passes(ctx, domain, a)]
    if not addresses:
        return [warned(domain, "spf", f"{text!r}; no address of {sender} to test it with")]
    if uncovered:
        return [
            failed(
                domain,
                "spf",
                f"{text!r} does not pass mail from {sender} ({', '.join(uncovered)})",
                fix,
            )
        ]
    return [passed(domain, "spf", f"{text!r}: {count} look-ups, passes {sender}")]


def _sending_from(ctx: Context) -> tuple[str, list[str]]:
    """Who sends our mail to the internet: the relay, or this VPS."""
    if ctx.relay:
        return f"the relay {ctx.relay}", sorted(addresses_of(ctx.resolver, ctx.relay))
    return "this VPS", list(ctx.addresses)


def _passes(ctx: Context, domain: str, address: str) -> bool:
    result = spf.check(
        client_ip=address,
        helo=ctx.hostname,
        mail_from=f"postmaster@{domain}",
        resolver=ctx.resolver,
    )
    return result.result == "pass"
