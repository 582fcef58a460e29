"""A small, synchronous DNS resolver interface for the mail checks.

SPF (pyspf), DKIM (dkimpy) and DMARC all run in a worker thread and want plain
blocking look-ups, so this wraps dnspython's synchronous resolver. The checks only
depend on the :class:`Resolver` protocol, so unit tests inject
:class:`roost.dns.fake.FakeResolver` and integration tests point a
:class:`DNSResolver` at a real DNS server on loopback.

Results are lists; an empty list means "no such name" (NXDOMAIN) or "no records of
that type" (NODATA). The checks treat both alike: RFC 7208 §4.6.4 counts both as
void look-ups, and RFC 6376 §6.1.2 and RFC 7489 §6.6.3 treat both as "no record".
Only failures that may succeed on retry raise, as :class:`DNSTemporaryError`, so
callers can answer ``temperror`` instead of a permanent verdict.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Protocol

import dns.exception
import dns.name
import dns.nameserver
import dns.rdata
import dns.rdatatype
import dns.resolver
import dns.reversename


class DNSError(Exception):
    """Base class of the resolver's errors."""


class DNSTemporaryError(DNSError):
    """The look-up failed in a way that may succeed later (timeout, SERVFAIL, REFUSED)."""


class DNSNameError(DNSError):
    """The name cannot be looked up at all (empty or over-long label, RFC 1035 §2.3.4)."""


@dataclass(frozen=True, order=True)
class MX:
    """One MX record: lower preference is tried first (RFC 5321 §5.1)."""

    preference: int
    exchange: str


class Resolver(Protocol):
    """What the mail checks need from DNS.

    Names may be given with or without the trailing dot; they are always absolute
    (no search list). Every method returns ``[]`` for NXDOMAIN and NODATA and raises
    :class:`DNSTemporaryError` or :class:`DNSNameError` otherwise.
    """

    def txt(self, name: str) -> list[bytes]:
        """TXT records, each one's character-strings joined (RFC 7208 §3.3, RFC 6376 §3.6.2.2)."""
        ...

    def a(self, name: str) -> list[str]:
        """IPv4 addresses, as text."""
        ...

    def aaaa(self, name: str) -> list[str]:
        """IPv6 addresses, as text."""
        ...

    def mx(self, name: str) -> list[MX]:
        """MX records, exchange names without the trailing dot, sorted by preference."""
        ...

    def ptr(self, name: str) -> list[str]:
        """PTR targets of an owner name (see :func:`reverse_name`), without trailing dot."""
        ...


def reverse_name(ip: str) -> str:
    """The in-addr.arpa / ip6.arpa owner name of an address (RFC 1035 §3.5, RFC 3596 §2.5)."""
    return dns.reversename.from_address(str(ipaddress.ip_address(ip))).to_text()


def parse_nameserver(spec: str) -> dns.nameserver.Do53Nameserver:
    """Parse ``"IP"``, ``"IP:PORT"`` or ``"[IPv6]:PORT"`` into a plain-DNS nameserver."""
    host, port = spec, 53
    if spec.startswith("["):
        host, sep, rest = spec[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"bad nameserver {spec!r}: expected [IPv6]:PORT")
        if rest:
            port = int(rest[1:])
    elif spec.count(":") == 1:
        host, _, port_text = spec.partition(":")
        port = int(port_text)
    ipaddress.ip_address(host)  # raises ValueError naming the bad address
    if not 0 < port < 65536:
        raise ValueError(f"bad nameserver {spec!r}: port out of range")
    return dns.nameserver.Do53Nameserver(host, port)


class DNSResolver:
    """:class:`Resolver` over dnspython, safe to share between threads.

    ``nameservers`` are ``"IP"`` or ``"IP:PORT"`` strings; ``None`` reads
    /etc/resolv.conf. ``timeout`` bounds each look-up as a whole, retries included
    (RFC 7208 §4.6.4 suggests 20 s for a whole SPF check; the default here is less
    because a check makes several look-ups while an SMTP client waits).

    Thread safety: the dnspython resolver is configured once here and never
    mutated afterwards, which is the condition under which dnspython documents it
    as safe for concurrent use.
    """

    def __init__(self, nameservers: list[str] | None = None, timeout: float = 5.0) -> None:
        if nameservers is None:
            self._resolver = dns.resolver.Resolver(configure=True)
        else:
            if not nameservers:
                raise ValueError("nameservers must be None (system) or a non-empty list")
            self._resolver = dns.resolver.Resolver(configure=False)
            self._resolver.nameservers = [parse_nameserver(s) for s in nameservers]
        # Answers are reused until their TTL runs out (dnspython's LRUCache is thread-safe);
        # a busy MX asks about the same few sender domains again and again.
        self._resolver.cache = dns.resolver.LRUCache(max_size=10000)
        self._resolver.lifetime = timeout
        self._resolver.timeout = timeout

    def _query(self, name: str, rdtype: dns.rdatatype.RdataType) -> list[dns.rdata.Rdata]:
        try:
            qname = dns.name.from_text(name)
        except (dns.name.EmptyLabel, dns.name.LabelTooLong, dns.name.NameTooLong) as err:
            raise DNSNameError(f"{name!r}: {err}") from err
        try:
            answer = self._resolver.resolve(qname, rdtype, search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return []
        except dns.exception.DNSException as err:  # timeout, SERVFAIL/REFUSED from all servers
            raise DNSTemporaryError(f"{name} {rdtype.name}: {err}") from err
        return list(answer.rrset) if answer.rrset is not None else []

    def txt(self, name: str) -> list[bytes]:
        return [b"".join(r.strings) for r in self._query(name, dns.rdatatype.TXT)]

    def a(self, name: str) -> list[str]:
        return [r.address for r in self._query(name, dns.rdatatype.A)]

    def aaaa(self, name: str) -> list[str]:
        return [r.address for r in self._query(name, dns.rdatatype.AAAA)]

    def mx(self, name: str) -> list[MX]:
        records = self._query(name, dns.rdatatype.MX)
        return sorted(MX(r.preference, r.exchange.to_text(omit_final_dot=True)) for r in records)

    def ptr(self, name: str) -> list[str]:
        return [r.target.to_text(omit_final_dot=True) for r in self._query(name, dns.rdatatype.PTR)]
