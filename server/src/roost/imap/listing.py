"""LIST and LSUB (RFC 9051 §6.3.9), with LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819),
CHILDREN (RFC 3348) and SPECIAL-USE (RFC 6154) attributes.

Names are matched against the pattern with `*` (anything) and `%` (anything but the
hierarchy delimiter "/"). A level that only exists as the parent of another mailbox (left
after its DELETE) is listed as `\\Noselect`, so clients can still walk down to its children.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from roost.store.interfaces import INBOX, MailboxInfo

DELIMITER = "/"


@dataclass(frozen=True)
class ListEntry:
    name: str
    attributes: tuple[str, ...]
    info: MailboxInfo | None  # None for a name that is no mailbox (a parent, a subscription)


def pattern_regex(reference: str, pattern: str) -> re.Pattern[str]:
    """RFC 9051 §6.3.9: the reference and the pattern joined, wildcards expanded."""
    if pattern.startswith(DELIMITER) and reference.endswith(DELIMITER):
        pattern = pattern[1:]
    full = reference + pattern
    if full[:5].upper() == INBOX and (len(full) == 5 or full[5] in "/%*"):
        full = INBOX + full[5:]  # INBOX is case-insensitive (RFC 9051 §5.1)
    parts = []
    for char in full:
        if char == "*":
            parts.append(".*")
        elif char == "%":
            parts.append("[^/]*")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def entries(
    mailboxes: Iterable[MailboxInfo],
    subscriptions: Iterable[str],
    patterns: Iterable[re.Pattern[str]],
    *,
    subscribed_only: bool = False,
    special_use_only: bool = False,
    return_subscribed: bool = False,
) -> list[ListEntry]:
    existing = {info.name: info for info in mailboxes}
    subscribed = set(subscriptions)
    names: set[str] = set(subscribed if subscribed_only else existing)
    for name in list(existing if not subscribed_only else ()):
        names.update(_parents(name))
    children = {parent for name in existing for parent in _parents(name)}
    matchers = list(patterns)
    out = []
    for name in sorted(names, key=lambda n: (n != INBOX, n)):
        if not any(regex.fullmatch(name) for regex in matchers):
            continue
        info = existing.get(name)
        if special_use_only and (info is None or info.special_use is None):
            continue
        attributes = []
        if info is None:
            attributes.append("\\NonExistent" if subscribed_only else "\\Noselect")
        attributes.append("\\HasChildren" if name in children else "\\HasNoChildren")
        if info is not None and info.special_use:
            attributes.append(info.special_use)
        if (return_subscribed or subscribed_only) and name in subscribed:
            attributes.append("\\Subscribed")
        out.append(ListEntry(name, tuple(attributes), info))
    return out


def _parents(name: str) -> list[str]:
    levels = name.split(DELIMITER)
    return [DELIMITER.join(levels[:n]) for n in range(1, len(levels))]
