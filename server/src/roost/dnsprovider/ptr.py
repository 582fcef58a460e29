"""Reverse DNS of the VPS: the one record the zone's owner cannot publish.

Receivers check that the connecting address has a PTR whose name resolves back
to it (forward-confirmed reverse DNS, RFC 8601 §3 "iprev"), and many expect that
name to be the host's HELO name. Only the address's owner (the VPS provider) can
set it, so Roost checks and says exactly what to ask for. The dns role (through
``roost dns ptr``) and ``roost check`` both ask here, each through its resolver.
"""

from __future__ import annotations

from dataclasses import dataclass

from roost.dns.resolver import DNSError, DNSResolver, Resolver, reverse_name
from roost.dnsprovider.base import normalize_name


@dataclass(frozen=True)
class PTRCheck:
    """ADDRESS's PTR names (``error`` when the look-up failed: unknown, not "none") and
    whether HOSTNAME resolves back to ADDRESS."""

    address: str
    hostname: str
    names: tuple[str, ...]
    forward: bool
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.names == (self.hostname,) and self.forward

    @property
    def message(self) -> str:
        """What the play tells the user (the provider's side first: only it can fix it)."""
        if self.ok:
            return f"{self.address} has PTR {self.hostname}, confirmed"
        if self.error is not None:
            now = f"it could not be looked up: {self.error}"
        else:
            now = f"it is now {', '.join(self.names)}" if self.names else "it has none now"
        message = (
            f"Ask your VPS provider to set the reverse DNS (PTR record) of {self.address} to "
            f"{self.hostname} ({now}). Receivers check it (forward-confirmed reverse DNS) and "
            "many reject or junk mail from addresses without it."
        )
        if not self.forward:
            message += f" {self.hostname} must also resolve to {self.address}; the dns role"
            message += " publishes that."
        return message


def addresses_of(resolver: Resolver, name: str) -> set[str]:
    """NAME's A and AAAA records (a failed look-up counts as none)."""
    found: set[str] = set()
    for lookup in (resolver.a, resolver.aaaa):
        try:
            found |= set(lookup(name))
        except DNSError:
            continue
    return found


def check_ptr(address: str, hostname: str, resolver: Resolver | None = None) -> PTRCheck:
    """Whether ADDRESS's PTR is HOSTNAME and HOSTNAME resolves back to ADDRESS
    (RESOLVER: the system's when not given)."""
    resolver = resolver or DNSResolver()
    hostname = normalize_name(hostname)
    try:
        names = tuple(sorted({n.lower() for n in resolver.ptr(reverse_name(address))}))
        error = None
    except DNSError as err:
        names, error = (), str(err)
    forward = address in addresses_of(resolver, hostname)
    return PTRCheck(address, hostname, names, forward, error)
