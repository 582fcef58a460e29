"""FETCH ENVELOPE, BODY and BODYSTRUCTURE values from a parsed structure (RFC 9051 §7.5.2).

The values follow the `msgview.Value` contract (None = NIL, int, bytes = string, tuple =
list). Field values are returned as written in the message, like Dovecot; the defaults the
RFCs name (text/plain, charset us-ascii, 7bit) are filled in where a field is missing.
"""

from __future__ import annotations

from roost.imap.mime import Part, Structure
from roost.imap.msgview import Value

EMPTY_TEXT = Part(0, 0, 0, params=[("charset", "us-ascii")])
"""Stands in for the parts of a multipart that has none: the grammar needs at least one
(RFC 9051 §9 body-type-mpart = 1*body ...), and Dovecot shows this same empty text part."""


def imap_value(value: object) -> Value:
    """Latin-1 text from the parsed structure as IMAP strings (bytes), lists as tuples."""
    if isinstance(value, str):
        return value.encode("latin-1")
    if isinstance(value, list | tuple):
        return tuple(imap_value(v) for v in value)
    return value  # type: ignore[return-value]


def _params(params: list[tuple[str, str]]) -> Value:
    if not params:
        return None
    return tuple(s.encode("latin-1") for pair in params for s in pair)


def _disposition(part: Part) -> Value:
    if part.disposition is None:
        return None
    kind, params = part.disposition
    return (kind.encode("latin-1"), _params(params))


def _language(part: Part) -> Value:
    if not part.language:
        return None
    return tuple(tag.encode("latin-1") for tag in part.language)


def _text(value: str | None) -> bytes | None:
    return None if value is None else value.encode("latin-1")


def envelope(structure: Structure | Part) -> Value:
    part = structure.root if isinstance(structure, Structure) else structure
    return imap_value(part.envelope)


def body(structure: Structure, *, extensible: bool) -> Value:
    """BODYSTRUCTURE (extensible=True) or BODY (False) of the whole message."""
    return _body(structure.root, extensible)


def _body(part: Part, extensible: bool) -> Value:
    if part.is_multipart:
        children = [_body(child, extensible) for child in part.parts or [EMPTY_TEXT]]
        value: list[Value] = [*children, part.subtype.encode("latin-1")]
        if extensible:
            value += [
                _params(part.params),
                _disposition(part),
                _language(part),
                _text(part.location),
            ]
        return tuple(value)
    value = [
        part.type.encode("latin-1"),
        part.subtype.encode("latin-1"),
        _params(part.params),
        _text(part.id),
        _text(part.description),
        (part.encoding or "7bit").encode("latin-1"),
        part.size,
    ]
    if part.is_message and part.message is not None:
        value += [envelope(part.message), _body(part.message, extensible), part.lines]
    elif part.type.lower() == "text":
        value.append(part.lines)
    if extensible:
        value += [_text(part.md5), _disposition(part), _language(part), _text(part.location)]
    return tuple(value)
