"""Reverse DNS of the VPS: the one record the zone's owner cannot publish.

Receivers check that the connecting address has a PTR whose name resolves back
to it (forward-confirmed reverse DNS, RFC 8601 §3 "iprev"), and many expect that
name to be the host's HELO name. Only the address's owner (the VPS provider) can
set it, so Roost checks and says exactly what to ask for.
"""

from __future__ import annotations

from dataclasses import dataclass

import dns.exception
import dns.resolver
import dns.reversename

from roost.dnsprovider.base import normalize_name


@dataclass(frozen=True)
class PTRCheck:
    address: str
    hostname: str
    names: tuple[str, ...]
    ok: bool
    message: str


def check_ptr(
    address: str, hostname: str, resolver: dns.resolver.Resolver | None = None
) -> PTRCheck:
    """Whether ADDRESS's PTR is HOSTNAME and HOSTNAME resolves back to ADDRESS."""
    resolver = resolver or dns.resolver.Resolver()
    hostname = normalize_name(hostname)
    try:
        answer = resolver.resolve(dns.reversename.from_address(address), "PTR")
        names = tuple(sorted(normalize_name(r.to_text()) for r in answer))
    except dns.exception.DNSException:
        names = ()
    forward = _addresses(resolver, hostname)
    if names == (hostname,) and address in forward:
        return PTRCheck(address, hostname, names, True, f"{address} has PTR {hostname}, confirmed")
    now = f"it is now {', '.join(names)}" if names else "it has none now"
    message = (
        f"Ask your VPS provider to set the reverse DNS (PTR record) of {address} to "
        f"{hostname} ({now}). Receivers check it (forward-confirmed reverse DNS) and many "
        "reject or junk mail from addresses without it."
    )
    if address not in forward:
        message += f" {hostname} must also resolve to {address}; the dns role publishes that."
    return PTRCheck(address, hostname, names, False, message)


def _addresses(resolver: dns.resolver.Resolver, name: str) -> set[str]:
    found: set[str] = set()
    for rtype in ("A", "AAAA"):
        try:
            found |= {r.to_text() for r in resolver.resolve(name + ".", rtype)}
        except dns.exception.DNSException:
            continue
    return found
