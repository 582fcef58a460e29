"""MTA-STS (RFC 8461): parse and fetch policies, cache them, and apply them to deliveries.

Modules: :mod:`.policy` (parsing, MX matching), :mod:`.fetch` (HTTPS fetch),
:mod:`.cache` (SQLite cache, the stored state), :mod:`.lookup` (discovery per §5.1),
:mod:`.apply` (what a policy asks of one MX), :mod:`.publish` (the policy and TXT record
we publish for our own domains). TLS-RPT records live in :mod:`roost.tlsrpt`.
"""

from roost.mtasts.apply import MX_MISMATCH, TLSRequirement, tls_requirement
from roost.mtasts.cache import CachedPolicy, PolicyCache
from roost.mtasts.fetch import PolicyFetcher, PolicyFetchError, WebPKIError
from roost.mtasts.lookup import MTASTS, Lookup
from roost.mtasts.policy import (
    MTASTSError,
    Policy,
    PolicyError,
    RecordError,
    parse_policy,
    parse_record,
    parse_txt,
)

__all__ = [
    "MTASTS",
    "MX_MISMATCH",
    "CachedPolicy",
    "Lookup",
    "MTASTSError",
    "Policy",
    "PolicyCache",
    "PolicyError",
    "PolicyFetchError",
    "PolicyFetcher",
    "RecordError",
    "TLSRequirement",
    "WebPKIError",
    "parse_policy",
    "parse_record",
    "parse_txt",
    "tls_requirement",
]
