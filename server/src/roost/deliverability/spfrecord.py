"""Reading a domain's SPF record from the outside: syntax and the DNS look-ups it costs.

pyspf (:mod:`roost.spf`) evaluates a record for one client; the check also wants to say
*which* term is wrong and how many look-ups the record costs with its includes counted
recursively (RFC 7208 §4.6.4: more than 10 is a permerror at every receiver), so the
record is parsed here against the ABNF of RFC 7208 §12.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from roost.dns.resolver import Resolver

LOOKUP_LIMIT = 10  # RFC 7208 §4.6.4
#: Includes nested deeper than this are a loop or a misconfiguration either way.
MAX_DEPTH = 10
_VERSION = re.compile(r"v=spf1(?: |$)", re.IGNORECASE)  # RFC 7208 §4.5
_QUALIFIERS = "+-?~"
_DOMAIN_MECHANISMS = frozenset({"include", "exists"})  # domain-spec required
_OPTIONAL_DOMAIN = frozenset({"a", "mx", "ptr"})
#: RFC 7208 §4.6.4: terms that cause a DNS query ("exp" does not count).
_LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})
_MODIFIER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")  # RFC 7208 §6 / §12 "name"
#: RFC 7208 §7.1 macro-string: macro-expands or visible characters other than "%".
_MACRO_STRING = re.compile(r"(?:%\{[slodiphcrtv][0-9]*r?[-.+,/_=]*\}|%%|%_|%-|[!-$&-~])*")
_CIDR4 = re.compile(r"/(0|[1-9][0-9]?)$")
_DUAL_CIDR = re.compile(r"(?:/(0|[1-9][0-9]?))?(?://(0|[1-9][0-9]{0,2}))?$")


class SPFSyntaxError(ValueError):
    """The record breaks RFC 7208; the message names the term."""


@dataclass(frozen=True)
class Term:
    """One directive (``qualifier`` set) or modifier (``qualifier`` empty)."""

    name: str
    value: str
    qualifier: str = ""

    @property
    def is_modifier(self) -> bool:
        return not self.qualifier

    @property
    def has_macro(self) -> bool:
        return "%" in self.value


def is_spf(text: str) -> bool:
    return bool(_VERSION.match(text))


def parse(text: str) -> list[Term]:
    """The terms of an SPF record, or :class:`SPFSyntaxError` (RFC 7208 §4.6.1, §5, §6)."""
    if not is_spf(text):
        raise SPFSyntaxError(f"does not start with v=spf1: {text[:60]!r}")
    if not text.isascii():
        raise SPFSyntaxError("SPF records are ASCII (RFC 7208 §3)")
    terms = [_term(word) for word in text.split(" ")[1:] if word]
    for once in ("redirect", "exp"):
        if sum(1 for t in terms if t.is_modifier and t.name == once) > 1:
            raise SPFSyntaxError(f"{once}= appears more than once (RFC 7208 §6)")
    return terms


def _term(word: str) -> Term:
    mechanism = re.match(r"([+\-?~]?)([A-Za-z0-9]+)(.*)$", word)
    # RFC 7208 §12: a modifier is name "=" ...; a name never contains ":" or "/".
    if mechanism and not re.match(r"[A-Za-z][A-Za-z0-9_.-]*=", word):
        qualifier, name, rest = mechanism.groups()
        name = name.lower()
        qualifier = qualifier or "+"
        if name == "all":
            if rest:
                raise SPFSyntaxError(f"{word!r}: all takes no argument")
            return Term(name, "", qualifier)
        if name in ("ip4", "ip6"):
            return Term(name, _network(word, name, rest), qualifier)
        if name in _DOMAIN_MECHANISMS | _OPTIONAL_DOMAIN:
            return Term(name, _domain_argument(word, name, rest), qualifier)
        raise SPFSyntaxError(f"{word!r}: unknown mechanism {name!r} (RFC 7208 §5)")
    name, sep, value = word.partition("=")
    if not sep or not _MODIFIER_NAME.fullmatch(name):
        raise SPFSyntaxError(f"{word!r} is neither a mechanism nor a modifier (RFC 7208 §4.6.1)")
    name = name.lower()
    if not _MACRO_STRING.fullmatch(value):
        raise SPFSyntaxError(f"{word!r}: bad macro string (RFC 7208 §7.1)")
    if name in ("redirect", "exp") and not value:
        raise SPFSyntaxError(f"{word!r}: {name}= needs a domain (RFC 7208 §6)")
    return Term(name, value)


def _network(word: str, name: str, rest: str) -> str:
    if not rest.startswith(":") or len(rest) < 2:
        raise SPFSyntaxError(f"{word!r}: {name} needs ':' and an address (RFC 7208 §5.6)")
    try:
        ipaddress.ip_network(rest[1:], strict=False)
    except ValueError:
        raise SPFSyntaxError(f"{word!r}: not an {name} network (RFC 7208 §5.6)") from None
    address = rest[1:].partition("/")[0]
    family = 4 if name == "ip4" else 6
    if ipaddress.ip_address(address).version != family:
        raise SPFSyntaxError(f"{word!r}: not an IPv{family} address (RFC 7208 §5.6)")
    if "/" in rest and family == 4 and not _CIDR4.search(rest):
        raise SPFSyntaxError(f"{word!r}: bad prefix length (RFC 7208 §5.6)")
    return rest[1:]


def _domain_argument(word: str, name: str, rest: str) -> str:
    spec, cidr = rest, ""
    if name in ("a", "mx"):
        slash = rest.find("/")
        if slash >= 0:
            spec, cidr = rest[:slash], rest[slash:]
            match = _DUAL_CIDR.fullmatch(cidr)
            if not cidr or not match or int(match.group(1) or 0) > 32:
                raise SPFSyntaxError(f"{word!r}: bad prefix length (RFC 7208 §5.6)")
            if int(match.group(2) or 0) > 128:
                raise SPFSyntaxError(f"{word!r}: bad IPv6 prefix length (RFC 7208 §5.6)")
    if not spec:
        if name in _DOMAIN_MECHANISMS:
            raise SPFSyntaxError(f"{word!r}: {name} needs ':' and a domain (RFC 7208 §5.2)")
        return ""
    if not spec.startswith(":") or len(spec) < 2:
        raise SPFSyntaxError(f"{word!r}: expected ':' and a domain after {name}")
    domain = spec[1:]
    if not _MACRO_STRING.fullmatch(domain):
        raise SPFSyntaxError(f"{word!r}: bad domain or macro (RFC 7208 §7.1)")
    return domain


def record(resolver: Resolver, domain: str) -> str | None:
    """The domain's one SPF record, ``None`` if it has none (RFC 7208 §4.5).

    Several are a permerror at every receiver (§3.2), so they raise.
    """
    texts = [t.decode("ascii", "replace") for t in resolver.txt(domain)]
    records = [t for t in texts if is_spf(t)]
    if len(records) > 1:
        raise SPFSyntaxError(f"{domain} has {len(records)} SPF records; keep one (RFC 7208 §3.2)")
    return records[0] if records else None


def count_lookups(resolver: Resolver, domain: str) -> int:
    """DNS-querying terms of DOMAIN's record, includes and redirects counted recursively.

    Stops counting once over the limit (RFC 7208 §4.6.4). Targets built from macros
    depend on the sender and are counted as one look-up each. Raises
    :class:`SPFSyntaxError` for an included record that is missing, broken or loops,
    since receivers answer permerror for those (§5.2), and the resolver's DNSError.
    """
    return _count(resolver, domain, (), 0)


def _count(resolver: Resolver, domain: str, chain: tuple[str, ...], total: int) -> int:
    domain = domain.rstrip(".").lower()
    if domain in chain or len(chain) > MAX_DEPTH:
        raise SPFSyntaxError(f"include loop: {' -> '.join((*chain, domain))}")
    text = record(resolver, domain)
    if text is None:
        if chain:
            raise SPFSyntaxError(
                f"{chain[-1]} includes {domain}, which has no SPF record (RFC 7208 §5.2)"
            )
        return total
    for term in parse(text):
        if term.name not in _LOOKUP_TERMS or (term.is_modifier and term.name != "redirect"):
            continue
        total += 1
        if total > LOOKUP_LIMIT:
            return total
        if term.name in ("include", "redirect") and not term.has_macro:
            total = _count(resolver, term.value, (*chain, domain), total)
    return total
