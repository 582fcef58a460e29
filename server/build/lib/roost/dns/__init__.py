"""DNS look-ups behind one small interface, injected wherever DNS is used."""

from roost.dns.resolver import (
    MX,
    DNSError,
    DNSNameError,
    DNSResolver,
    DNSTemporaryError,
    Resolver,
    reverse_name,
)

__all__ = [
    "MX",
    "DNSError",
    "DNSNameError",
    "DNSResolver",
    "DNSTemporaryError",
    "Resolver",
    "reverse_name",
]
