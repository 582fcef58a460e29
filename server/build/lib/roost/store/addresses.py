"""Canonical forms of addresses and domains, so every lookup compares like with like.

RFC 5321 §2.4 lets a host treat local parts case-sensitively, but users expect `Alice@` and
`alice@` to be one mailbox, so for *hosted* addresses the local part is lowercased. Remote
addresses (alias targets elsewhere) keep their local part as written: only their host may
interpret it. Domains are case-insensitive (RFC 5321 §2.4) and are stored in their ASCII
(IDNA, RFC 5890) form so that `bücher.test` and `xn--bcher-kva.test` are the same domain.
"""

from __future__ import annotations

import re

from roost.store.errors import InvalidAddress

# RFC 5321 §4.1.2 Dot-string: atoms of atext joined by single dots; RFC 6531 §3.3 adds UTF-8.
_ATEXT = r"[A-Za-z0-9!#$&'*+/=?^_`{|}~\-\u0080-\U0010ffff]"
_DOT_STRING = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
# `%` and `!` are valid atext but were routing syntax; never accept them in a hosted name.
_ROUTING = frozenset("%!")
MAX_LOCAL = 64  # RFC 5321 §4.5.3.1.1, in octets
MAX_DOMAIN = 255  # RFC 5321 §4.5.3.1.2, in octets


def normalize_domain(domain: str) -> str:
    """The lowercase ASCII form of a host name; raises InvalidAddress if it is not one."""
    text = domain.strip().lower()
    if not text or text.endswith(".") or text.startswith("[") or ".." in text:
        raise InvalidAddress(f"{domain!r} is not a valid domain name; write it like example.org")
    try:
        # IDNA leaves ASCII labels as they are (their syntax is checked below); skipping the
        # codec for them saves most of the cost of every recipient look-up.
        ascii_form = text if text.isascii() else text.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise InvalidAddress(
            f"{domain!r} is not a valid internationalised domain name ({exc})"
        ) from None
    labels = ascii_form.split(".")
    if len(ascii_form) > MAX_DOMAIN or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidAddress(
            f"{domain!r} is not a valid domain name: labels are letters, digits and inner hyphens"
        )
    return ascii_form


def split_address(address: str) -> tuple[str, str]:
    """Local part and normalised domain; raises InvalidAddress unless exactly one `@`."""
    text = address.strip()
    try:
        text.encode("utf-8")  # SMTP hands over undecodable bytes as lone surrogates
    except UnicodeEncodeError:
        raise InvalidAddress(f"{address!r} is not valid UTF-8 (RFC 6531 §3.3)") from None
    if text.count("@") != 1:
        raise InvalidAddress(f"{address!r} must contain exactly one @, as in user@example.org")
    local, domain = text.split("@")
    if not local or not domain:
        raise InvalidAddress(f"{address!r} needs both a local part and a domain")
    if not _DOT_STRING.fullmatch(local) or _ROUTING & set(local) or len(local.encode()) > MAX_LOCAL:
        raise InvalidAddress(
            f"{address!r}: the local part must be a plain dot-string of at most {MAX_LOCAL} "
            "octets, without quotes, spaces, % or !"
        )
    return local, normalize_domain(domain)


def normalize_address(address: str) -> str:
    """The canonical form of a hosted address: lowercased local part and ASCII domain."""
    local, domain = split_address(address)
    return f"{local.lower()}@{domain}"


def normalize_remote(address: str) -> str:
    """A remote address with its domain normalised and its local part left exactly as given."""
    local, domain = split_address(address)
    return f"{local}@{domain}"


def normalize_alias(alias: str) -> str:
    """An alias key: a hosted address, or `@domain` for the domain's catch-all."""
    if alias.strip().startswith("@"):
        return "@" + normalize_domain(alias.strip()[1:])
    return normalize_address(alias)


def strip_plus(address: str) -> str | None:
    """`user@d` for a canonical `user+tag@d` (RFC 5233 subaddress), or None if there is no tag."""
    local, _, domain = address.rpartition("@")
    base, plus, _tag = local.partition("+")
    if not plus or not base:
        return None
    return f"{base}@{domain}"


def domain_part(address: str) -> str:
    """The domain of a canonical address or `@domain` key."""
    return address.rpartition("@")[2]
