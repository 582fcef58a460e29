"""MX, the mail host's addresses, and its reverse DNS: where mail for a domain goes.

RFC 5321 §5.1: senders deliver to the domain's MX hosts; the mail host name must resolve
to the VPS (A/AAAA). Receivers check that the connecting address's PTR names a host that
resolves back to it (forward-confirmed reverse DNS, RFC 8601 §3 "iprev").
"""

from __future__ import annotations

from roost.deliverability.context import REPUBLISH, Context
from roost.deliverability.report import Finding, failed, passed, warned
from roost.dns.resolver import DNSError
from roost.dnsprovider import ptr
from roost.dnsprovider.ptr import addresses_of


def check_mx(ctx: Context, domain: str) -> list[Finding]:
    try:
        records = ctx.resolver.mx(domain)
    except DNSError as err:
        return [warned(domain, "mx", f"MX look-up failed: {err}", "check the domain's DNS")]
    want = " ".join(ctx.expected_values(domain, domain, "MX")) or f"10 {ctx.hostname}."
    fix = f"publish MX {want} at {domain}: " + REPUBLISH
    hosts = [mx.exchange.lower() for mx in records]
    if not hosts:
        return [failed(domain, "mx", f"{domain} has no MX record", fix)]
    if ctx.hostname not in hosts:
        return [failed(domain, "mx", f"MX points to {', '.join(hosts)}, not {ctx.hostname}", fix)]
    others = [h for h in hosts if h != ctx.hostname]
    if others:
        return [
            warned(
                domain,
                "mx",
                f"MX {ctx.hostname} and also {', '.join(others)}",
                "remove the other MX hosts unless they forward to this server",
            )
        ]
    return [passed(domain, "mx", f"MX {ctx.hostname}")]


def check_addresses(ctx: Context) -> list[Finding]:
    """The mail host's A/AAAA records are the VPS's addresses, and nothing else."""
    host = ctx.hostname
    published = addresses_of(ctx.resolver, host)
    fix = f"publish A/AAAA records for {host} with the VPS's addresses: " + REPUBLISH
    if not published:
        return [failed(host, "a/aaaa", f"{host} has no A or AAAA record", fix)]
    if ctx.addresses_from_dns:
        return [
            passed(
                host,
                "a/aaaa",
                f"{host} -> {', '.join(sorted(published))} (not compared: no --address given)",
            )
        ]
    missing = sorted(set(ctx.addresses) - published)
    extra = sorted(published - set(ctx.addresses))
    if missing or extra:
        detail = f"{host} -> {', '.join(sorted(published))}"
        detail += f"; missing {', '.join(missing)}" if missing else ""
        detail += f"; not this VPS: {', '.join(extra)}" if extra else ""
        return [failed(host, "a/aaaa", detail, fix)]
    return [passed(host, "a/aaaa", f"{host} -> {', '.join(sorted(published))}")]


def check_ptr(ctx: Context) -> list[Finding]:
    """Each VPS address's PTR is the mail host, which resolves back to it (RFC 8601 §3)."""
    findings = []
    for address in ctx.addresses:
        result = ptr.check_ptr(address, ctx.hostname, ctx.resolver)
        if result.error is not None:
            findings.append(warned(address, "ptr", f"PTR look-up failed: {result.error}"))
        elif result.ok:
            findings.append(passed(address, "ptr", f"PTR {ctx.hostname}, forward-confirmed"))
        elif result.names == (ctx.hostname,):
            detail = f"PTR {ctx.hostname}, but {ctx.hostname} does not resolve to {address}"
            fix = f"publish {ctx.hostname} A/AAAA {address}: " + REPUBLISH
            findings.append(failed(address, "ptr", detail, fix))
        else:
            now = f"it is {', '.join(result.names)}" if result.names else "it has none"
            fix = (
                f"ask your VPS provider to set the reverse DNS (PTR) of {address} to "
                f"{ctx.hostname}; many receivers reject mail from addresses without it"
            )
            findings.append(failed(address, "ptr", f"PTR should be {ctx.hostname}, {now}", fix))
    return findings
