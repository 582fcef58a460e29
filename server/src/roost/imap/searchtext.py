"""The text SEARCH compares with (RFC 9051 §6.4.4): header values with RFC 2047 encoded
words decoded, and the bodies of text parts with their transfer encoding and charset undone.

Everything degrades instead of failing: unknown charsets and malformed encoded words are
read as UTF-8 with replacement characters, raw 8-bit headers as UTF-8 (RFC 6532) or else
latin-1. Results are case-folded once, so each key's test is a plain substring search.
"""

from __future__ import annotations

import binascii
import codecs
import re
from collections.abc import Sequence

from roost.imap import mimeheaders
from roost.imap.mime import SEARCHED, TextPart
from roost.imap.sections import IDENTITY_ENCODINGS, decode_transfer

MAX_BODY_TEXT = 50 * 1024 * 1024
"""Decoded text kept per message for BODY/TEXT; beyond it the rest is not searched."""
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)[ \t\r\n]+(=\?)")


_ASCII = frozenset({"us-ascii", "ascii", "us_ascii", "646"})
_DECODABLE = IDENTITY_ENCODINGS | {"base64", "quoted-printable"}


def to_text(data: bytes, charset: str | None) -> str:
    """Bytes in a MIME charset (RFC 2231 language suffix dropped) as Unicode; UTF-8 when
    the charset is unknown or names no text encoding (Python also knows 'rot13', 'base64')."""
    name = (charset or "utf-8").split("*", 1)[0].strip().lower()
    if name in _ASCII:
        # A part with no charset is us-ascii by RFC 2045 §5.2, yet 8-bit mail without one is
        # common and nearly always UTF-8: ASCII is a subset, so reading UTF-8 loses nothing.
        name = "utf-8"
    try:
        info = codecs.lookup(name)
        if getattr(info, "_is_text_encoding", True):
            return data.decode(info.name, "replace")
    except (LookupError, ValueError, UnicodeError):
        pass
    return data.decode("utf-8", "replace")


def _decode_word(match: re.Match[str]) -> str:
    charset, kind, text = match.groups()
    data = text.encode("latin-1", "replace")
    try:
        if kind in "Bb":
            raw = binascii.a2b_base64(data + b"=" * (-len(data) % 4))
        else:  # RFC 2047 §4.2: "_" is a space in Q
            raw = binascii.a2b_qp(data.replace(b"_", b" "))
    except (binascii.Error, ValueError):
        return match.group(0)
    return to_text(raw, charset)


def raw_header_text(value: str) -> str:
    """A header value held as latin-1 text (one char per byte) as Unicode: UTF-8 if it
    is (RFC 6532), else latin-1 as it stands."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return value


def decode_header(value: str) -> str:
    """RFC 2047 §6.2: encoded words decoded; whitespace between adjacent ones dropped."""
    value = raw_header_text(value)
    if "=?" not in value:
        return value
    return _ENCODED_WORD.sub(_decode_word, _BETWEEN_WORDS.sub(r"\1\2", value))


def folded_header(value: str) -> str:
    """A header value as the header SEARCH keys compare it: decoded, case-folded."""
    return decode_header(value).casefold()


def searched_values(header: bytes) -> dict[str, tuple[str, ...]]:
    """The values of the SEARCHED fields in a header section, as `folded_header` makes
    them, kept for the message (`mime.keep_searched`): a header SEARCH then neither
    unfolds nor decodes anything. A field the message lacks has no entry."""
    found: dict[str, list[str]] = {}
    for name, value in mimeheaders.fields(header, 0, len(header), SEARCHED):
        found.setdefault(name, []).append(folded_header(value))
    return {name: tuple(values) for name, values in found.items()}


def body_text(raw: bytes, parts: Sequence[TextPart]) -> str:
    """The decoded text of every text part (`mime.text_parts`), case-folded, joined by
    newlines."""
    out: list[str] = []
    budget = MAX_BODY_TEXT
    for start, end, encoding, charset in parts:
        if budget <= 0:
            break
        if encoding not in _DECODABLE:
            continue  # undecodable content is not searched (as Dovecot)
        decoded = decode_transfer(memoryview(raw)[start : min(end, start + budget)], encoding)
        budget -= len(decoded)
        out.append(to_text(bytes(decoded), charset).casefold())
    return "\n".join(out)
