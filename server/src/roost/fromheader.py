"""The RFC5322.From field: the one parser DMARC and submission both use.

Two readers of one header that disagree are a bypass: DMARC once saw no author in
`"PayPal" <service@paypal.test>,` (and accepted the message) while submission read it as
service@paypal.test. Here the field is read once, from raw bytes, by a linear scanner of the
RFC 5322 §3.4 mailbox-list grammar (with the obsolete empty list elements of §4.4, which
real mailers still write), and anything else is an error naming the cause: a receiver cannot
apply a domain's policy to an author it cannot identify (RFC 7489 §6.6.1).
"""

from __future__ import annotations

import re

from roost.rawheaders import fields


class FromError(ValueError):
    """The message has no single From field naming its authors (RFC 5322 §3.6, §3.6.2)."""


# RFC 5322 §3.2.3 atext, plus any non-ASCII character (RFC 6532 §3.2).
_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\x80-\U0010ffff]"
_ATOM = re.compile(_ATEXT + "+")
_DOT_ATOM = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
# A domain's labels: letters, digits, hyphens (RFC 5321 §4.1.2), U-labels (RFC 6531 §3.3),
# and the underscore some real hosts carry.
_LABEL = re.compile(r"[A-Za-z0-9_\-\x80-\U0010ffff]+")
_QUOTED = re.compile(r'"((?:[^"\\\r\n]|\\.)*)"', re.S)
_LITERAL = re.compile(r"\[[^\[\]\\]*\]")
_SPACE = re.compile(r"[ \t\r\n]+")
_SPECIALS = "<>@,;:."


def author_addresses(message: bytes) -> list[str]:
    """The addr-specs of the message's one From field, in order (RFC 5322 §3.6.2).

    Raises FromError when the field is missing, repeated, or not a mailbox-list.
    """
    values = [value for name, value in fields(message) if name == b"from"]
    if not values:
        raise FromError("the message has no From field")
    if len(values) > 1:
        raise FromError(f"the message has {len(values)} From fields; exactly one is allowed")
    return parse_mailbox_list(values[0].decode("utf-8", "surrogateescape"))


def author_domain(message: bytes) -> str:
    """The one domain the From field's addresses share, lower-cased (RFC 7489 §6.6.1)."""
    domains: list[str] = []
    for address in author_addresses(message):
        domain = address.rpartition("@")[2].lower().rstrip(".")
        if domain.startswith("["):
            raise FromError(f"the From address {address} has an address literal, not a domain")
        if domain not in domains:
            domains.append(domain)
    if len(domains) > 1:
        raise FromError(f"the From field names {len(domains)} domains: {', '.join(domains)}")
    return domains[0]


def parse_mailbox_list(value: str) -> list[str]:
    """addr-specs of a mailbox-list (RFC 5322 §3.4); FromError when it is not one."""
    tokens = _tokens(value)
    addresses: list[str] = []
    pos = 0
    while pos < len(tokens):
        if tokens[pos] == ",":  # obs-mbox-list: empty elements (RFC 5322 §4.4)
            pos += 1
            continue
        address, pos = _mailbox(tokens, pos)
        addresses.append(address)
        if pos < len(tokens):
            if tokens[pos] != ",":
                raise FromError(f"unexpected {_show(tokens[pos])} after <{address}>")
            pos += 1
    if not addresses:
        raise FromError("the From field names no address")
    return addresses


# A token is a special character as itself, or a tuple (kind, text): ("atom", text),
# ("quoted", content) or ("literal", text). Comments and white space are dropped.
_Token = str | tuple[str, str]


def _tokens(value: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos, end = 0, len(value)
    while pos < end:
        char = value[pos]
        if match := _SPACE.match(value, pos):
            pos = match.end()
        elif char == "(":
            pos = skip_comment(value, pos)
        elif char in _SPECIALS:
            tokens.append(char)
            pos += 1
        elif char == '"':
            if not (match := _QUOTED.match(value, pos)):
                raise FromError("a quoted string is not closed")
            tokens.append(("quoted", re.sub(r"\\(.)", r"\1", match.group(1))))
            pos = match.end()
        elif char == "[":
            if not (match := _LITERAL.match(value, pos)):
                raise FromError("a domain literal is not closed")
            tokens.append(("literal", match.group()))
            pos = match.end()
        elif match := _ATOM.match(value, pos):
            tokens.append(("atom", match.group()))
            pos = match.end()
        else:
            raise FromError(f"the character {char!r} is not allowed here")
    return tokens


def skip_comment(value: str, pos: int) -> int:
    """Past a (possibly nested) comment starting at `pos` (RFC 5322 §3.2.2); FromError when
    it is not closed."""
    depth = 0
    while pos < len(value):
        char = value[pos]
        if char == "\\":
            pos += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return pos + 1
        pos += 1
    raise FromError("a comment is not closed")


def _mailbox(tokens: list[_Token], pos: int) -> tuple[str, int]:
    """name-addr or addr-spec at `pos` (RFC 5322 §3.4): the address and where it ends."""
    start = pos
    while pos < len(tokens) and tokens[pos] not in ("<", ","):
        pos += 1
    if pos < len(tokens) and tokens[pos] == "<":
        for token in tokens[start:pos]:  # the display name: words, and dots (obs-phrase)
            if isinstance(token, str) and token != ".":
                raise FromError(f"unexpected {_show(token)} in a display name; quote it")
        address, pos = _addr_spec(tokens, pos + 1)
        if pos >= len(tokens) or tokens[pos] != ">":
            raise FromError(f"<{address}> is not closed with >")
        return address, pos + 1
    return _addr_spec(tokens, start)


def _addr_spec(tokens: list[_Token], pos: int) -> tuple[str, int]:
    """local-part "@" domain (RFC 5322 §3.4.1), with the obsolete forms' free dots-and-words
    local part; a source route (obs-route) is refused."""
    if pos < len(tokens) and tokens[pos] == "@":
        raise FromError("source routes are not accepted in From (RFC 5322 §4.4)")
    words, pos = _dotted(tokens, pos, ("atom", "quoted"))
    if pos >= len(tokens) or tokens[pos] != "@" or not words:
        raise FromError("an address needs local-part@domain")
    if pos + 1 < len(tokens) and isinstance(tokens[pos + 1], tuple):
        kind, text = tokens[pos + 1]  # type: ignore[misc]
        if kind == "literal":
            return f"{_local(words)}@{text}", pos + 2
    labels, pos = _dotted(tokens, pos + 1, ("atom",))
    domain = ".".join(text for _, text in labels)
    if not labels or not all(_LABEL.fullmatch(text) for _, text in labels):
        raise FromError(f"the address {_local(words)}@{domain} has no valid domain")
    return f"{_local(words)}@{domain}", pos


def _dotted(
    tokens: list[_Token], pos: int, kinds: tuple[str, ...]
) -> tuple[list[tuple[str, str]], int]:
    """word *("." word) at `pos`, the words of the given kinds."""
    words: list[tuple[str, str]] = []
    while pos < len(tokens):
        token = tokens[pos]
        if not isinstance(token, tuple) or token[0] not in kinds:
            break
        words.append(token)
        pos += 1
        if pos < len(tokens) and tokens[pos] == ".":
            pos += 1
            if pos >= len(tokens) or not isinstance(tokens[pos], tuple):
                raise FromError("a dot must be followed by a word in an address")
            continue
        break
    return words, pos


def _local(words: list[tuple[str, str]]) -> str:
    """The local part as an addr-spec writes it: bare when a dot-atom, quoted otherwise."""
    text = ".".join(text for _, text in words)
    if _DOT_ATOM.fullmatch(text) and ".." not in text:
        return text
    return '"' + re.sub(r'(["\\])', r"\\\1", text) + '"'


def _show(token: _Token) -> str:
    return repr(token if isinstance(token, str) else token[1])
