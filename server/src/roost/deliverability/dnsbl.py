"""Is the VPS's address on a DNS blocklist? Receivers that use one refuse our mail.

RFC 5782 §2.1: the address's octets (IPv6: nibbles) reversed under the list's zone; an A
record 127.0.0.2-127.0.0.255 means listed, no such name means not listed. Spamhaus
answers 127.255.255.x when it refuses the query itself (from an open or public resolver,
or over its free-use limit), which says nothing about the address.
"""

from __future__ import annotations

import ipaddress

from roost.deliverability.context import Context
from roost.deliverability.report import Finding, failed, passed, warned
from roost.dns.resolver import DNSError, reverse_name

_REFUSED = ipaddress.ip_network("127.255.255.0/24")
_LISTED = ipaddress.ip_network("127.0.0.0/8")
REMOVAL = {
    "zen.spamhaus.org": "https://check.spamhaus.org",
    "bl.spamcop.net": "https://www.spamcop.net/bl.shtml",
    "b.barracudacentral.org": "https://www.barracudacentral.org/rbl/removal-request",
}


def query_name(address: str, zone: str) -> str:
    """``2.0.0.127.zen.spamhaus.org`` for 127.0.0.2 (RFC 5782 §2.1, §2.4 for IPv6)."""
    reverse = reverse_name(address).rstrip(".")
    for suffix in (".in-addr.arpa", ".ip6.arpa"):
        reverse = reverse.removesuffix(suffix)
    return f"{reverse}.{zone.rstrip('.')}"


def check_dnsbls(ctx: Context) -> list[Finding]:
    return [_check(ctx, address, zone) for address in ctx.addresses for zone in ctx.dnsbls]


def _check(ctx: Context, address: str, zone: str) -> Finding:
    check = f"dnsbl {zone}"
    try:
        answers = ctx.resolver.a(query_name(address, zone))
    except DNSError as err:
        # Not an answer (RFC 5782 §2.1 answers are A records or NXDOMAIN): unknown, not clean.
        return warned(
            address,
            check,
            f"could not check: the look-up failed: {err}",
            f"the VPS's resolver ([dns] nameservers in roost.toml, else /etc/resolv.conf) "
            f"must resolve names under {zone}; or leave {zone} out (roost_check_dnsbls)",
        )
    if not answers:
        return passed(address, check, "not listed")
    codes = [ipaddress.ip_address(a) for a in answers]
    if any(code in _REFUSED for code in codes):
        return warned(
            address,
            check,
            f"could not check: the list refused the query ({', '.join(answers)})",
            "lists refuse queries from public resolvers: point the VPS at its provider's "
            "resolver or a local one to get an answer",
        )
    if all(code in _LISTED for code in codes):
        where = REMOVAL.get(zone, f"the web site of {zone}")
        return failed(
            address,
            check,
            f"listed ({', '.join(answers)}): receivers using {zone} refuse mail from it",
            f"make sure nothing on the VPS sends spam (an open relay, a stolen password), "
            f"then ask for removal at {where}",
        )
    return warned(address, check, f"could not check: unexpected answer {', '.join(answers)}")
