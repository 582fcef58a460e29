"""Where a domain's mail goes when no route or smarthost says otherwise (RFC 5321 §5.1)."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from roost.delivery.outcome import Outcome, permanent, temporary
from roost.dns.resolver import MX, DNSError, Resolver


@dataclass(frozen=True)
class MXHosts:
    hosts: tuple[str, ...]  # in the order to try them


async def mx_hosts(resolver: Resolver, domain: str) -> MXHosts | Outcome:
    """MX hosts by preference (ties shuffled, §5.1), the domain itself when it has no MX but
    has an address (the implicit MX), or a failure: a null MX (RFC 7505 §3) or a domain with
    neither MX nor address records is permanent; a DNS failure is temporary."""
    try:
        records = await asyncio.to_thread(resolver.mx, domain)
        if records:
            if len(records) == 1 and records[0].exchange in ("", "."):
                return permanent(f"{domain} does not accept mail (null MX, RFC 7505)", "5.1.10")
            return MXHosts(tuple(_order(records)))
        if await asyncio.to_thread(resolver.a, domain) or await asyncio.to_thread(
            resolver.aaaa, domain
        ):
            return MXHosts((domain,))
    except DNSError as exc:
        return temporary(f"DNS lookup for {domain} failed: {exc}", "4.4.3")
    return permanent(f"{domain} has no MX or address records", "5.1.2")


def _order(records: list[MX]) -> list[str]:
    by_preference: dict[int, list[str]] = {}
    for record in records:
        if record.exchange not in ("", "."):
            by_preference.setdefault(record.preference, []).append(record.exchange.lower())
    ordered = []
    for preference in sorted(by_preference):
        group = by_preference[preference]
        random.shuffle(group)
        ordered.extend(group)
    return ordered
