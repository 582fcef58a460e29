"""IMAP data (Python values) written out as server responses (RFC 9051 §4, §7).

`None` is NIL, `int` a number, `Atom` goes out verbatim (flags, keywords, FETCH item names),
`str` and `bytes` are strings, `list`/`tuple` parenthesized lists. A string goes out quoted
when it is short printable ASCII, else as a literal, which carries any byte safely: clients
must accept a literal wherever a string may appear (RFC 9051 §4.3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

Value = object
_QUOTABLE_MAX = 1024


class Atom(str):
    """Text written as is, never quoted: the caller vouches that it is a valid atom."""

    __slots__ = ()


class Encoded(bytes):
    """A value encoded earlier (by `encode`) and kept: written as is."""

    __slots__ = ()


class Literal8(bytes):
    """Binary data that may hold NUL: sent as `~{n}` (RFC 3516 §4.3 literal8)."""

    __slots__ = ()


def encode(value: Value) -> bytes:
    out = bytearray()
    _write(out, value)
    return bytes(out)


def _write(out: bytearray, value: Value) -> None:
    # The most frequent types first: a large FETCH encodes hundreds of thousands of values.
    kind = type(value)
    if kind is bytes or kind is memoryview or kind is bytearray:
        out += string(bytes(value))  # type: ignore[arg-type]
    elif kind is int:
        out += b"%d" % value  # type: ignore[str-format]
    elif kind is Atom:
        out += value.encode()  # type: ignore[attr-defined]
    elif kind is Encoded:
        out += value  # type: ignore[operator]
    elif kind is list or kind is tuple:
        out += b"("
        first = True
        for item in value:  # type: ignore[attr-defined]
            if not first:
                out += b" "
            first = False
            _write(out, item)
        out += b")"
    elif value is None:
        out += b"NIL"
    elif kind is str:
        out += string(value.encode("utf-8"))  # type: ignore[attr-defined]
    elif kind is Literal8:
        out += b"~{%d}\r\n" % len(value) + value  # type: ignore[arg-type]
    else:
        raise TypeError(f"cannot send {kind.__name__} as IMAP data")


# Anything but printable ASCII makes a string go out as a literal.
_NOT_QUOTABLE = re.compile(rb"[^\x20-\x7e]")


def string(data: bytes) -> bytes:
    """A string as `encode` writes one: quoted, or a literal."""
    if len(data) <= _QUOTABLE_MAX and _NOT_QUOTABLE.search(data) is None:
        if b'"' in data or b"\\" in data:
            data = data.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
        return b'"' + data + b'"'
    return b"{%d}\r\n" % len(data) + data


def join(values: Iterable[Value]) -> bytes:
    """Values separated by spaces, as in a response line's body."""
    return b" ".join(encode(value) for value in values)


def untagged(*values: Value) -> bytes:
    return b"* " + join(values) + b"\r\n"


def flag_list(flags: Iterable[str]) -> list[Atom]:
    return [Atom(flag) for flag in flags]
