"""Message flags as IMAP defines them (RFC 9051 §2.3.2), in one canonical stored form.

System flags are case-insensitive and stored in their RFC spelling; keywords are atoms,
compared case-insensitively, and keep the spelling first used. `\\Recent` is a per-session
flag (removed in RFC 9051) and cannot be stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from roost.store.errors import InvalidFlag

SYSTEM_FLAGS = {
    flag.lower(): flag for flag in ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
}
DELETED = "\\Deleted"
# RFC 9051 §9 atom: any CHAR except atom-specials ( ) { SP CTL % * " \ ] and no 8-bit.
_ATOM = re.compile(r'[^(){ %*"\\\]\x00-\x1f\x7f-\U0010ffff]+')


def normalize_flags(flags: Iterable[str]) -> tuple[str, ...]:
    """Validated, de-duplicated flags in a stable order; raises InvalidFlag."""
    chosen: dict[str, str] = {}
    for flag in flags:
        key = flag.lower()
        if key in SYSTEM_FLAGS:
            chosen.setdefault(key, SYSTEM_FLAGS[key])
        elif _ATOM.fullmatch(flag):
            chosen.setdefault(key, flag)
        else:
            raise InvalidFlag(
                f"{flag!r} is not a storable flag: use \\Seen, \\Answered, \\Flagged, "
                "\\Deleted, \\Draft or a keyword atom (RFC 9051 §2.3.2)"
            )
    return tuple(sorted(chosen.values(), key=str.lower))


def encode_flags(flags: Sequence[str]) -> str:
    """The stored form: space-separated (neither flags nor keywords may contain spaces)."""
    return " ".join(flags)


def decode_flags(stored: str) -> tuple[str, ...]:
    return tuple(stored.split())


def apply_flags(current: Sequence[str], change: Sequence[str], mode: str) -> tuple[str, ...]:
    """The flags after a STORE (RFC 9051 §6.4.6): FLAGS, +FLAGS or -FLAGS."""
    if mode == "set":
        return normalize_flags(change)
    if mode == "add":
        return normalize_flags([*current, *change])
    if mode == "remove":
        removed = {flag.lower() for flag in change}
        return tuple(flag for flag in current if flag.lower() not in removed)
    raise ValueError(f"unknown flag mode {mode!r}; use 'set', 'add' or 'remove'")
