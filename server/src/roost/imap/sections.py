"""FETCH BODY[section]<partial> and BINARY[section] (RFC 9051 §6.4.5, RFC 3516).

A `Section` is parsed from the text between the brackets; `body_section` returns its
octets from the raw message and the parsed structure. Whole parts and the full message come
back as memoryview slices of the raw bytes (no copy, however large); only HEADER.FIELDS
builds new bytes. A part that does not exist is the empty string, as Dovecot answers.
"""

from __future__ import annotations

import binascii
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from roost.imap.errors import BadCommandError, UnknownCTEError
from roost.imap.mime import Part, Structure

Octets = bytes | memoryview
TEXTS = ("HEADER.FIELDS.NOT", "HEADER.FIELDS", "HEADER", "TEXT", "MIME")
IDENTITY_ENCODINGS = frozenset({"7bit", "8bit", "binary"})  # RFC 2045 §6.1
MAX_PART_NUMBER = 100_000
_FIELD_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 §3.6.8 ftext
_ATOM = re.compile(r"[^\x00-\x20()*%\\\"{\]\x7f-\xff]+")


def _bad(spec: str, why: str) -> BadCommandError:
    return BadCommandError(
        f"invalid section [{spec[:80]}]: {why}; write e.g. BODY[1.2.MIME] or "
        "BODY[HEADER.FIELDS (From Subject)]"
    )


def _field_names(spec: str, rest: str) -> tuple[str, ...]:
    """RFC 9051 §9 header-list: "(" header-fld-name *(SP header-fld-name) ")", names as
    atoms or quoted strings."""
    rest = rest.strip()
    if not (rest.startswith("(") and rest.endswith(")")):
        raise _bad(spec, "HEADER.FIELDS needs a parenthesized list of field names")
    names = [
        quoted or atom for quoted, atom in re.findall(r'"((?:[^"\\]|\\.)*)"|(\S+)', rest[1:-1])
    ]
    names = [name.replace('\\"', '"').replace("\\\\", "\\") for name in names]
    if not names or not all(_FIELD_NAME.fullmatch(name) for name in names):
        raise _bad(spec, "field names are printable ASCII without ':' or spaces")
    return tuple(names)


@dataclass(frozen=True, slots=True)
class Section:
    """section-spec (RFC 9051 §9): a part path, then '' (whole), HEADER, HEADER.FIELDS,
    HEADER.FIELDS.NOT, TEXT or MIME."""

    path: tuple[int, ...] = ()
    text: str = ""
    fields: tuple[str, ...] = ()

    @classmethod
    def parse(cls, spec: str | bytes, *, binary: bool = False) -> Section:
        """From the text between the brackets. BINARY takes a part path only
        (RFC 3516 §6 section-binary)."""
        if isinstance(spec, bytes):
            spec = spec.decode("latin-1")
        path: list[int] = []
        rest = spec
        while rest[:1].isdigit():
            number, dot, after = rest.partition(".")
            if not number.isascii() or not number.isdigit() or number[0] == "0":
                raise _bad(spec, f"{number!r} is not a part number (1, 2, ...)")
            if int(number) > MAX_PART_NUMBER or len(path) >= 100:
                raise _bad(spec, "part path too long or too large")
            path.append(int(number))
            rest = after
            if not dot:
                break
            if not rest:
                raise _bad(spec, "a part path does not end with '.'")
        if not rest:
            return cls(tuple(path))
        if binary:
            raise _bad(spec, "BINARY takes only a part number")
        keyword, _, names = rest.partition(" ")
        keyword = keyword.upper()
        if keyword not in TEXTS or (keyword == "MIME" and not path):
            raise _bad(spec, f"unknown section text {keyword[:30]!r}")
        if keyword.startswith("HEADER.FIELDS"):
            return cls(tuple(path), keyword, _field_names(spec, names))
        if names:
            raise _bad(spec, f"{keyword} takes no arguments")
        return cls(tuple(path), keyword)

    def __str__(self) -> str:
        """As echoed in the FETCH response (field names upper-cased, as Dovecot does)."""
        parts = [str(n) for n in self.path]
        if self.text:
            parts.append(self.text)
        text = ".".join(parts)
        if self.fields:
            names = (n.upper() if _ATOM.fullmatch(n) else f'"{n.upper()}"' for n in self.fields)
            text += " (" + " ".join(names) + ")"
        return text


def parse_partial(text: str | bytes) -> tuple[int, int]:
    """`<origin.length>` (RFC 9051 §9 partial) as (origin, length)."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    match = re.fullmatch(r"<(0|[1-9][0-9]{0,18})\.([1-9][0-9]{0,18})>", text)
    if not match:
        raise BadCommandError(
            f"invalid partial {text[:40]!r}: write <origin.length>, e.g. <0.1024>"
        )
    return int(match.group(1)), int(match.group(2))


def partial(data: Octets, origin: int, length: int) -> Octets:
    """RFC 9051 §6.4.5: octets from origin, at most length; empty past the end."""
    return data[origin : origin + length]


def locate(structure: Structure, path: Sequence[int]) -> Part | None:
    """The part a path names (RFC 9051 §6.4.5 part numbering), or None.

    The parts of a multipart are numbered from 1; a message/rfc822 part's numbers are
    those of the message it holds. A part without parts is its own part 1, once (so a
    one-part message's BODY[1] is its body and BODY[1.1] is nothing), as Dovecot numbers."""
    node = structure.root
    own_part_taken = False
    for number in path:
        if node.is_message and node.message is not None and node is not structure.root:
            node, own_part_taken = node.message, False
        if node.is_multipart:
            if not 1 <= number <= len(node.parts):
                return None
            node, own_part_taken = node.parts[number - 1], False
        elif number != 1 or own_part_taken:
            return None
        else:
            own_part_taken = True
    return node


def body_section(raw: bytes, structure: Structure, section: Section) -> Octets:
    view = memoryview(raw)
    if not section.path and not section.text:
        return view
    node = locate(structure, section.path)
    if node is None:
        return b""
    if section.text == "MIME":
        return view[node.start : node.body]
    if not section.text:
        return view[node.body : node.end]
    message = node if not section.path else node.message if node.is_message else None
    if message is None:
        return b""  # HEADER and TEXT belong to messages (RFC 9051 §6.4.5)
    if section.text == "TEXT":
        return view[message.body : message.end]
    return header_section(view[message.start : message.body], section)


def header_section(header: Octets, section: Section) -> Octets:
    """HEADER, HEADER.FIELDS or HEADER.FIELDS.NOT from a message's header section alone."""
    return header_picker(section)(header)


HEADER_FIELDS_VERSION = "1"
"""Versions what `header_picker` answers for HEADER.FIELDS: bump it when that changes,
and the answers the store keeps (roost/store/sqlite_header_fields.py) under the old
version are dropped instead of served."""
_MAX_FIELD_LIST = 512


def field_list(section: Section) -> str | None:
    """A HEADER.FIELDS section's names as the store keeps its answers under them
    (lower-cased, sorted, space-separated: the answer depends on nothing else); None for
    other sections and for lists too long to be a client's listing."""
    if section.text != "HEADER.FIELDS" or section.path:
        return None
    names = " ".join(sorted({name.lower() for name in section.fields}))
    return names if len(names) <= _MAX_FIELD_LIST else None


@functools.lru_cache(maxsize=64)
def header_picker(section: Section) -> Callable[[Octets], Octets]:
    """`header_section` for one section, its field names compared case-insensitively and
    its expression compiled once per FETCH, not per message."""
    if section.text == "HEADER":
        return _whole
    wanted = frozenset(name.lower() for name in section.fields)
    keep = section.text == "HEADER.FIELDS"
    lines = _field_lines(wanted) if keep else None

    def pick(header: Octets) -> Octets:
        data = bytes(header)
        if lines is not None and data.count(b"\r") == data.count(b"\r\n"):
            return _fields_found(data, lines)
        return header_lines(data, wanted, keep=keep)

    return pick


def _whole(header: Octets) -> Octets:
    return header


def _fields_found(header: bytes, lines: re.Pattern[bytes]) -> bytes:
    """`header_lines(header, names, keep=True)` for a header whose lines all end in LF or
    CRLF (a bare CR ends a line there too), by one regular expression (`_field_lines`)
    instead of a loop over lines: the HEADER.FIELDS of every message of a mail client's
    listing."""
    if header.startswith((b"\n", b"\r\n")):
        return b"\r\n"
    ends = [i for i in (header.find(b"\n\n"), header.find(b"\n\r\n")) if i >= 0]
    stop = min(ends) + 1 if ends else len(header)
    found = lines.findall(header, 0, stop)
    return b"".join(found) + b"\r\n"


def _field_lines(names: frozenset[str]) -> re.Pattern[bytes]:
    """A field line of one of `names` (ftext, so ASCII: bytes compare as the loop's
    latin-1 text does) with its folded continuation lines; the name may be surrounded by
    whitespace other than a leading space or tab (that line would be a continuation)."""
    alternatives = b"|".join(re.escape(name.encode("ascii")) for name in sorted(names))
    return re.compile(
        rb"^(?![ \t])[ \t\x0b\x0c]*(?:%s)[ \t\x0b\x0c]*:.*(?:\n|\Z)(?:[ \t].*(?:\n|\Z))*"
        % alternatives,
        re.IGNORECASE | re.MULTILINE,
    )


def header_lines(header: bytes, names: set[str], *, keep: bool) -> bytes:
    """The header lines (folded lines whole) whose field name is in `names` (keep=True) or
    not in it (keep=False), as written, then the empty line (for .NOT only if the header
    has one). Lines that are not fields count as not matching, so .NOT keeps them. Both
    quirks are Dovecot's."""
    out: list[bytes] = []
    take = False
    ended = False
    for line in header.splitlines(keepends=True):
        if line in (b"\r\n", b"\n"):
            ended = True
            break
        if line[:1] not in (b" ", b"\t"):
            name, colon, _ = line.partition(b":")
            matched = bool(colon) and name.strip().decode("latin-1").lower() in names
            take = matched == keep
        if take:
            out.append(line)
    if ended or keep:
        out.append(b"\r\n")
    return b"".join(out)


_NOT_BASE64 = bytes(
    c for c in range(256) if not (chr(c).isascii() and (chr(c).isalnum() or chr(c) in "+/"))
)


def _unbase64(data: Octets) -> bytes:
    """Lenient base64 (RFC 2045 §6.8): the data ends at the first "=", characters outside
    the alphabet (line breaks, garbage) are ignored, and a last group of one character is
    dropped rather than failing the FETCH."""
    clean = bytes(data).split(b"=", 1)[0].translate(None, _NOT_BASE64)
    whole = len(clean) - len(clean) % 4
    tail = clean[whole:]
    clean = clean[:whole] + (tail + b"=" * (4 - len(tail)) if len(tail) >= 2 else b"")
    return binascii.a2b_base64(clean)


def decode_transfer(data: Octets, encoding: str | None) -> Octets:
    """Undo Content-Transfer-Encoding (RFC 2045 §6); NO [UNKNOWN-CTE] for others."""
    kind = (encoding or "7bit").lower()
    if kind in IDENTITY_ENCODINGS:
        return data
    if kind == "base64":
        return _unbase64(data)
    if kind == "quoted-printable":
        return binascii.a2b_qp(bytes(data))
    printable = "".join(c if c.isascii() and c.isprintable() else "?" for c in kind[:40])
    raise UnknownCTEError(printable)


def binary_section(raw: bytes, structure: Structure, path: Sequence[int]) -> Octets:
    """BINARY[path] (RFC 3516 §4.2): a leaf part decoded; the whole message, multiparts and
    messages as they are (they carry no encoding of their own to undo)."""
    if not path:
        return memoryview(raw)
    node = locate(structure, path)
    if node is None:
        return b""
    data = memoryview(raw)[node.body : node.end]
    if node.is_multipart or node.is_message:
        return data
    return decode_transfer(data, node.encoding)
