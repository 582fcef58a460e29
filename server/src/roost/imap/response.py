"""IMAP data (Python values) written out as server responses (RFC 9051 §4, §7).

`None` is NIL, `int` a number, `Atom` goes out verbatim (flags, keywords, FETCH item names),
`str` and `bytes` are strings, `list`/`tuple` parenthesized lists. A string goes out quoted
when it is short printable ASCII, else as a literal, which carries any byte safely: clients
must accept a literal wherever a string may appear (RFC 9051 §4.3).
"""

from __future__ import annotations

from collections.abc import Iterable

Value = object
_QUOTABLE_MAX = 1024


class Atom(str):
    """Text written as is, never quoted: the caller vouches that it is a valid atom."""

    __slots__ = ()


class Literal8(bytes):
    """Binary data that may hold NUL: sent as `~{n}` (RFC 3516 §4.3 literal8)."""

    __slots__ = ()


def encode(value: Value) -> bytes:
    out = bytearray()
    _write(out, value)
    return bytes(out)


def _write(out: bytearray, value: Value) -> None:
    if value is None:
        out += b"NIL"
    elif isinstance(value, Atom):
        out += value.encode("utf-8")
    elif isinstance(value, bool):
        raise TypeError("IMAP has no booleans")
    elif isinstance(value, int):
        out += str(value).encode()
    elif isinstance(value, str):
        _write_string(out, value.encode("utf-8"))
    elif isinstance(value, Literal8):
        out += b"~{%d}\r\n" % len(value) + value
    elif isinstance(value, bytes | bytearray | memoryview):
        _write_string(out, bytes(value))
    elif isinstance(value, list | tuple):
        out += b"("
        for index, item in enumerate(value):
            if index:
                out += b" "
            _write(out, item)
        out += b")"
    else:
        raise TypeError(f"cannot send {type(value).__name__} as IMAP data")


def _write_string(out: bytearray, data: bytes) -> None:
    if len(data) <= _QUOTABLE_MAX and all(0x20 <= byte <= 0x7E for byte in data):
        out += b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    else:
        out += b"{%d}\r\n" % len(data) + data


def join(values: Iterable[Value]) -> bytes:
    """Values separated by spaces, as in a response line's body."""
    return b" ".join(encode(value) for value in values)


def untagged(*values: Value) -> bytes:
    return b"* " + join(values) + b"\r\n"


def flag_list(flags: Iterable[str]) -> list[Atom]:
    return [Atom(flag) for flag in flags]
