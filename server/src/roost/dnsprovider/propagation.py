"""Waiting until every authoritative server of a zone serves a record.

A validator (an ACME CA, a receiving MTA) may ask any of the zone's servers, so
a change counts only once all of them answer with it. Each server is asked
directly, without recursion (RD clear, RFC 1035 §4.1.1), so no cache hides a
lagging secondary.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

import dns.exception
import dns.flags
import dns.inet
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdatatype
import dns.resolver

from roost.dnsprovider.base import PropagationError, join_txt, normalize_name, normalize_value

#: Seconds one query may take before the server counts as not (yet) answering.
QUERY_TIMEOUT = 3.0


def wait_for_propagation(
    zone: str,
    name: str,
    rtype: str,
    values: Iterable[str],
    *,
    nameservers: Sequence[str] | None = None,
    timeout: float = 300.0,
    interval: float = 2.0,
    port: int = 53,
    resolver: dns.resolver.Resolver | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Block until every authoritative server of ZONE serves all VALUES at NAME/RTYPE.

    NAMESERVERS (host names or addresses) default to the zone's NS records as the
    resolver sees them, which is the delegation validators follow. Other values at
    the name do not matter (two ACME challenges may share ``_acme-challenge``).
    Returns the addresses polled; raises PropagationError naming every server that
    still lagged at the deadline.
    """
    rtype = rtype.upper()
    wanted = {normalize_value(rtype, v) for v in values}
    resolver = resolver or dns.resolver.Resolver()
    deadline = time.monotonic() + timeout
    hosts = list(nameservers) if nameservers else _zone_ns(zone, resolver)
    addresses = _addresses(hosts, resolver)
    qname = dns.name.from_text(normalize_name(name))
    lagging = dict.fromkeys(addresses, "not asked yet")
    while True:
        for address in list(lagging):
            found = _served(address, port, qname, rtype)
            if isinstance(found, str):
                lagging[address] = found
            elif wanted <= found:
                del lagging[address]
            else:
                lagging[address] = f"serves {sorted(found) or 'nothing'}"
        if not lagging:
            return addresses
        if time.monotonic() + interval > deadline:
            detail = "; ".join(f"{a}: {why}" for a, why in lagging.items())
            raise PropagationError(
                f"{name} {rtype} did not reach every authoritative server of {zone} within "
                f"{timeout:.0f} s ({detail})",
                "check that the zone's NS records point at the provider in "
                "roost_dns_provider/roost_dns_credentials, or wait and run again",
            )
        sleep(interval)


def _zone_ns(zone: str, resolver: dns.resolver.Resolver) -> list[str]:
    try:
        answer = resolver.resolve(normalize_name(zone) + ".", "NS")
    except dns.exception.DNSException as exc:
        raise PropagationError(
            f"the NS records of {zone} cannot be looked up ({exc})",
            "check that the domain in roost_domains is delegated to its DNS provider",
        ) from exc
    return sorted(rr.target.to_text() for rr in answer)  # type: ignore[attr-defined]


def _addresses(hosts: Sequence[str], resolver: dns.resolver.Resolver) -> list[str]:
    addresses: list[str] = []
    for host in hosts:
        if _is_address(host):
            addresses.append(host)
            continue
        found: list[str] = []
        for family in ("A", "AAAA"):
            try:
                found += [rr.to_text() for rr in resolver.resolve(host, family)]
            except dns.exception.DNSException:
                continue
        if not found:
            raise PropagationError(
                f"the name server {host} has no address",
                "check the NS records of the zone named in roost_domains",
            )
        addresses += found
    return addresses


def _is_address(host: str) -> bool:
    try:
        dns.inet.af_for_address(host)
    except ValueError:
        return False
    return True


def _served(address: str, port: int, qname: dns.name.Name, rtype: str) -> set[str] | str:
    """The values ADDRESS serves authoritatively, or why it gave no usable answer."""
    query = dns.message.make_query(qname, rtype)
    query.flags &= ~dns.flags.RD
    try:
        response, _ = dns.query.udp_with_fallback(query, address, timeout=QUERY_TIMEOUT, port=port)
    except (dns.exception.DNSException, OSError) as exc:
        return f"no answer ({exc.__class__.__name__})"
    if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return f"answers {dns.rcode.to_text(response.rcode())}"
    if not response.flags & dns.flags.AA:
        return "is not authoritative for the zone"
    rdtype = dns.rdatatype.from_text(rtype)
    values: set[str] = set()
    for rrset in response.answer:
        if rrset.name == qname and rrset.rdtype == rdtype:
            for rdata in rrset:
                values.add(_value(rtype, rdata))
    return values


def _value(rtype: str, rdata: dns.rdata.Rdata) -> str:
    if rtype == "TXT":
        return join_txt(rdata.strings)  # type: ignore[attr-defined]
    return normalize_value(rtype, rdata.to_text())
