"""ENVELOPE (RFC 9051 §7.5.2, RFC 3501 §7.4.2) from a message's header fields.

Values stay as written (an empty Subject is "", an absent one NIL): RFC 2047 encoded words
are not decoded (clients decode them, as with Dovecot and Cyrus), display names and local
parts lose only their quoting. Address lists follow RFC 5322 §3.4 with groups (a group
opens with (NIL NIL name NIL) and closes with (NIL NIL NIL NIL)), obsolete routes (§4.4)
and a trailing comment as the name when there is no phrase. Strings are latin-1 text here;
`bodystructure.imap_value` turns them into bytes.
"""

from __future__ import annotations

from collections.abc import Mapping

from roost.imap.mimeheaders import tokenize

Address = tuple[str | None, str | None, str | None, str | None]
ENVELOPE_FIELDS = frozenset(
    {
        "date",
        "subject",
        "from",
        "sender",
        "reply-to",
        "to",
        "cc",
        "bcc",
        "in-reply-to",
        "message-id",
    }
)
SPECIALS = "<>@,;:.[]"
MISSING_MAILBOX = "MISSING_MAILBOX"
MISSING_DOMAIN = "MISSING_DOMAIN"


def _phrase(tokens: list[tuple[str, str]]) -> str | None:
    """Display name: words joined by one space; '.' in an obsolete phrase (RFC 5322 §4.1)
    sticks to the word before it."""
    words: list[str] = []
    for kind, value in tokens:
        if kind == "." and words:
            words[-1] += "."
        elif kind in ("atom", "quoted", "."):
            words.append(value)
    return " ".join(words) if words else None


def _addr_spec(tokens: list[tuple[str, str]]) -> tuple[str | None, str | None, str | None]:
    """(route, mailbox, host) from the tokens of an addr-spec, with an optional obsolete
    route `@a,@b:` in front (RFC 5322 §4.4)."""
    route = None
    for index, (kind, _) in enumerate(tokens):
        if kind == ":":
            route = "".join(v for k, v in tokens[:index] if k != "comment") or None
            tokens = tokens[index + 1 :]
            break
    at = next((i for i, (kind, _) in enumerate(tokens) if kind == "@"), None)
    local = tokens if at is None else tokens[:at]
    domain = [] if at is None else tokens[at + 1 :]
    mailbox = "".join(v for k, v in local if k != "comment")
    host = "".join(v for k, v in domain if k != "comment")
    return route, mailbox or None, host or None


def _mailbox(tokens: list[tuple[str, str]]) -> Address | None:
    if not tokens:
        return None
    opening = next((i for i, (kind, _) in enumerate(tokens) if kind == "<"), None)
    if opening is not None:
        closing = next((i for i in range(opening, len(tokens)) if tokens[i][0] == ">"), len(tokens))
        name = _phrase(tokens[:opening])
        route, mailbox, host = _addr_spec(tokens[opening + 1 : closing])
    else:
        comments = [v for k, v in tokens if k == "comment" and v]
        name = comments[-1] if comments else None
        route, mailbox, host = _addr_spec(tokens)
    if mailbox is None and host is None:
        return None  # a comment or phrase alone is no address (Dovecot skips it too)
    return (name, route, mailbox or MISSING_MAILBOX, host or MISSING_DOMAIN)


def addresses(value: str | None) -> tuple[Address, ...] | None:
    """An RFC 5322 §3.4 address-list as ENVELOPE addresses; None (NIL) if there are none."""
    if value is None:
        return None
    found: list[Address] = []
    current: list[tuple[str, str]] = []
    in_group = False
    depth = 0
    for token in tokenize(value, SPECIALS, literals=True):
        kind = token[0]
        if kind == "<":
            depth += 1
        elif kind == ">":
            depth = max(0, depth - 1)
        if depth == 0 and kind == ":" and not in_group and not _has_route(current):
            found.append((None, None, _phrase(current) or "", None))
            in_group = True
            current = []
        elif depth == 0 and kind == ";" and in_group:
            address = _mailbox(current)
            if address:
                found.append(address)
            found.append((None, None, None, None))
            in_group = False
            current = []
        elif depth == 0 and kind == ",":
            address = _mailbox(current)
            if address:
                found.append(address)
            current = []
        else:
            current.append(token)
    address = _mailbox(current)
    if address:
        found.append(address)
    if in_group:
        found.append((None, None, None, None))
    return tuple(found) or None


def _has_route(tokens: list[tuple[str, str]]) -> bool:
    """Whether a ':' would end an obsolete route rather than open a group."""
    return bool(tokens) and tokens[0][0] == "@"


def envelope(found: Mapping[str, str]) -> tuple[object, ...]:
    """The ENVELOPE fields in order (RFC 9051 §7.5.2) from each field's first value: date,
    subject, from, sender, reply-to, to, cc, bcc, in-reply-to, message-id. Sender and
    Reply-To default to From when absent or empty."""
    sender_from = addresses(found.get("from"))
    sender = addresses(found.get("sender")) or sender_from
    reply_to = addresses(found.get("reply-to")) or sender_from
    return (
        found.get("date"),
        found.get("subject"),
        sender_from,
        sender,
        reply_to,
        addresses(found.get("to")),
        addresses(found.get("cc")),
        addresses(found.get("bcc")),
        found.get("in-reply-to"),
        found.get("message-id"),
    )
