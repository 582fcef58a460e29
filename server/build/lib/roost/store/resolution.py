"""Recipient resolution and send-as rules, written once over a tiny lookup so every backend
(SQLite now, PostgreSQL later) answers the same way.

Order for a hosted address (the order users expect from Postfix virtual maps and mox):
exact user → exact alias → plus-stripped user/alias (RFC 5233 subaddress) → the domain's
catch-all `@domain` alias → unknown. Aliases expand recursively; an alias reached twice in one
expansion contributes nothing more (so `a → b, b → a` terminates), and a chain deeper than
MAX_ALIAS_DEPTH is refused as a misconfiguration rather than silently truncated.
"""

from __future__ import annotations

from typing import Protocol

from roost.store.addresses import domain_part, normalize_address, split_address, strip_plus
from roost.store.errors import AliasTooDeep, InvalidAddress
from roost.store.interfaces import Resolution

MAX_ALIAS_DEPTH = 10


class Lookup(Protocol):
    """The three questions resolution asks a backend, each about canonical names."""

    def is_local_domain(self, domain: str) -> bool: ...
    def is_user(self, address: str) -> bool: ...
    def alias_targets(self, alias: str) -> list[str] | None: ...


def resolve(lookup: Lookup, address: str) -> Resolution:
    """Where an envelope recipient delivers; raises InvalidAddress for malformed input.

    An address in a domain we do not host resolves to nothing: it is not ours to deliver,
    and only alias targets may point elsewhere.
    """
    canonical = normalize_address(address)
    local: list[str] = []
    remote: list[str] = []
    if lookup.is_local_domain(domain_part(canonical)):
        _expand(lookup, canonical, local, remote, set(), 0)
    return Resolution(tuple(dict.fromkeys(local)), tuple(dict.fromkeys(remote)))


def may_send_as(lookup: Lookup, user: str, address: str) -> bool:
    """Whether `user` may use `address` as envelope or header sender (no open relay).

    Allowed: the user's own address, its `+tag` forms, and explicit aliases (exact or
    plus-tagged) that expand to the user. A catch-all never grants send-as, or every user
    of the domain could impersonate every unassigned address.
    """
    try:
        user = normalize_address(user)
        address = normalize_address(address)
    except InvalidAddress:
        return False
    if not lookup.is_user(user):
        return False
    if lookup.is_user(address):
        return address == user
    base = strip_plus(address)
    if base == user:
        return True
    for candidate in (address, base):
        if candidate is None:
            continue
        targets = lookup.alias_targets(candidate)
        if targets is not None:
            local: list[str] = []
            _expand_alias(lookup, candidate, targets, local, [], set(), 0)
            return user in local
    return False


def _expand(
    lookup: Lookup,
    address: str,
    local: list[str],
    remote: list[str],
    seen: set[str],
    depth: int,
) -> None:
    """Append the final recipients of one hosted address to `local` and `remote`."""
    candidates = [address]
    base = strip_plus(address)
    if base is not None:
        candidates.append(base)
    for candidate in candidates:
        if lookup.is_user(candidate):
            local.append(candidate)
            return
        targets = lookup.alias_targets(candidate)
        if targets is not None:
            _expand_alias(lookup, candidate, targets, local, remote, seen, depth)
            return
    catch_all = "@" + domain_part(address)
    targets = lookup.alias_targets(catch_all)
    if targets is not None:
        _expand_alias(lookup, catch_all, targets, local, remote, seen, depth)


def _expand_alias(
    lookup: Lookup,
    alias: str,
    targets: list[str],
    local: list[str],
    remote: list[str],
    seen: set[str],
    depth: int,
) -> None:
    if alias in seen:
        return
    if depth >= MAX_ALIAS_DEPTH:
        raise AliasTooDeep(alias, MAX_ALIAS_DEPTH)
    seen.add(alias)
    for target in targets:
        target_local, domain = split_address(target)
        if lookup.is_local_domain(domain):
            _expand(lookup, f"{target_local.lower()}@{domain}", local, remote, seen, depth + 1)
        else:
            remote.append(f"{target_local}@{domain}")
