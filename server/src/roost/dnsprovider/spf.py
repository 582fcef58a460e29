"""Merging Roost's SPF mechanisms into a domain's existing SPF record.

A domain has at most one SPF record (RFC 7208 §3.2: several are a permerror),
so Roost adds its mechanisms to the record the user has instead of writing a
second one, and keeps every term the user wrote, in order. The merged record
must stay within 10 DNS-querying terms (RFC 7208 §4.6.4).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from roost.dnsprovider.base import DNSProviderError

#: RFC 7208 §4.5: the record starts with "v=spf1" followed by a space or its end.
_VERSION = re.compile(r"^v=spf1(?: |$)", re.IGNORECASE)
#: Terms that cost a DNS query (RFC 7208 §4.6.4); "exp" does not count.
_LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})
LOOKUP_LIMIT = 10


class SPFMergeError(DNSProviderError):
    """Merging would break the record (too many look-ups); the user must trim it."""

    variable = "roost_domains"


def is_spf(value: str) -> bool:
    return bool(_VERSION.match(value))


def terms(value: str) -> list[str]:
    """The record's terms after ``v=spf1`` (RFC 7208 §4.6.1: separated by spaces)."""
    return value.split()[1:] if is_spf(value) else []


def _name(term: str) -> str:
    """The mechanism or modifier name, without qualifier or argument (RFC 7208 §4.6.1)."""
    bare = term.lstrip("+-~?")
    return re.split(r"[:/=]", bare, maxsplit=1)[0].lower()


def lookups(value: str) -> int:
    """DNS-querying terms in the record itself (includes' own terms count too, unseen here)."""
    return sum(1 for term in terms(value) if _name(term) in _LOOKUP_TERMS)


def record(mechanisms: Sequence[str], all_term: str = "-all") -> str:
    """A new SPF record with MECHANISMS and the ALL_TERM default."""
    return " ".join(["v=spf1", *mechanisms, all_term])


def merge(existing: str, mechanisms: Sequence[str]) -> str:
    """EXISTING with every one of MECHANISMS it lacks, before its ``all`` (RFC 7208 §5.1).

    Mechanisms after ``all`` are never evaluated, so ours go before it; without an
    ``all`` they go at the end (modifiers may sit anywhere, RFC 7208 §6). Terms are
    compared case-insensitively (RFC 7208 §4.6.1 names are case-insensitive; so are
    the domain and address arguments Roost writes). Raises SPFMergeError when the
    result would exceed 10 look-ups.
    """
    have = terms(existing)
    known = {t.lower().lstrip("+") for t in have}
    missing = [m for m in mechanisms if m.lower().lstrip("+") not in known]
    if not missing:
        return existing
    position = next((i for i, t in enumerate(have) if _name(t) == "all"), len(have))
    merged = " ".join(["v=spf1", *have[:position], *missing, *have[position:]])
    if lookups(merged) > LOOKUP_LIMIT:
        raise SPFMergeError(
            f"adding {' '.join(missing)} to the SPF record {existing!r} would need "
            f"{lookups(merged)} DNS look-ups, over the limit of {LOOKUP_LIMIT} "
            "(RFC 7208 §4.6.4)",
            "remove include:/a/mx terms the domain no longer needs from its SPF record, "
            "or set replace_conflicts on the domain in roost_domains to replace it with Roost's",
        )
    return merged


def unmerge(existing: str, mechanisms: Sequence[str]) -> str:
    """EXISTING without MECHANISMS (compared as in ``merge``): what ``merge`` added, taken
    back when a domain leaves Roost; every other term stays, in order."""
    ours = {m.lower().lstrip("+") for m in mechanisms}
    have = terms(existing)
    kept = [t for t in have if t.lower().lstrip("+") not in ours]
    return existing if len(kept) == len(have) else " ".join(["v=spf1", *kept])
