"""IMAP command syntax (RFC 9051 §9) turned into Python values, with no I/O.

The reader (`reader.py`) hands over one complete command exactly as it came over the wire,
literals included (each `{n}` / `{n+}` / `~{n}` followed by CRLF and n bytes), without the
final CRLF. This module cuts it into a tag, an upper-cased command name and arguments:

- atoms are `str` (NIL stays the atom "NIL"; flags like `\\Seen` and sequence sets are atoms),
- quoted strings and literals are `bytes` (quoted escapes already undone),
- parenthesized lists are `list`.

A bracketed section inside an atom (`BODY[HEADER.FIELDS (FROM TO)]<0.100>`) stays part of that
one atom, spaces and parentheses included, as the FETCH grammar reads it as one item
(RFC 9051 §6.4.5). Anything else that does not fit raises BadCommandError naming what was wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from roost.imap.errors import BadCommandError

Arg = str | bytes | list["Arg"]

# RFC 9051 §9: atom-specials are ( ) { SP CTL list-wildcards quoted-specials resp-specials.
# `%`, `*`, `]` and `\` are allowed here because list-mailbox, sequence sets, flags and
# sections need them; the commands check their own arguments.
_ATOM_END = frozenset(b' (){"\r\n')
_LITERAL = re.compile(rb"~?\{(\d{1,20})(\+?)\}\r\n")
# RFC 9051 §9: tag = 1*<any ASTRING-CHAR except "+">.
_TAG = re.compile(r'[^(){ %*"\\+\x00-\x20\x7f-\U0010ffff]+')
# Lists may nest (BODY sections, SEARCH programs); this depth is far above any real use.
MAX_DEPTH = 16


@dataclass
class Command:
    tag: str
    name: str
    args: list[Arg] = field(default_factory=list)


def parse_command(data: bytes) -> Command:
    """One command; the tag is returned even when the rest fails, via `split_tag`."""
    tag, rest = split_tag(data)
    if not rest:
        raise BadCommandError("missing command name after the tag")
    tokens = _Tokenizer(rest).arguments()
    if not tokens or not isinstance(tokens[0], str):
        raise BadCommandError("the command name must be an atom")
    return Command(tag, tokens[0].upper(), tokens[1:])


def split_tag(data: bytes) -> tuple[str, bytes]:
    """The tag and what follows it; BadCommandError (with tag "*") if there is no usable tag."""
    head, _, rest = data.partition(b" ")
    try:
        tag = head.decode("ascii")
    except UnicodeDecodeError:
        raise BadCommandError("the tag must be printable ASCII") from None
    if not _TAG.fullmatch(tag):
        raise BadCommandError("start with a tag (letters, digits, no '+'), a space, a command")
    return tag, rest


class _Tokenizer:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def arguments(self) -> list[Arg]:
        values = self._sequence(depth=0)
        if self.pos < len(self.data):
            raise BadCommandError(f"unexpected ')' at byte {self.pos}")
        return values

    def _sequence(self, depth: int) -> list[Arg]:
        values: list[Arg] = []
        data = self.data
        while True:
            if self.pos >= len(data):
                return values
            if values:
                if data[self.pos] == 0x29:  # ")"
                    return values
                if data[self.pos] != 0x20:
                    raise BadCommandError(f"expected a space between arguments at byte {self.pos}")
                self.pos += 1
                if self.pos >= len(data):
                    raise BadCommandError("trailing space at the end of the command")
            elif data[self.pos] == 0x29:
                return values
            values.append(self._value(depth))

    def _value(self, depth: int) -> Arg:
        data = self.data
        char = data[self.pos]
        if char == 0x28:  # "("
            if depth >= MAX_DEPTH:
                raise BadCommandError(f"lists nested deeper than {MAX_DEPTH}")
            self.pos += 1
            inner = self._sequence(depth + 1)
            if self.pos >= len(data) or data[self.pos] != 0x29:
                raise BadCommandError("a '(' is not closed by ')'")
            self.pos += 1
            return inner
        if char == 0x22:  # '"'
            return self._quoted()
        if char == 0x7B or (char == 0x7E and data[self.pos + 1 : self.pos + 2] == b"{"):
            return self._literal()
        return self._atom()

    def _quoted(self) -> bytes:
        # RFC 9051 §9: quoted = DQUOTE *QUOTED-CHAR DQUOTE; only \" and \\ are escapes.
        data = self.data
        out = bytearray()
        pos = self.pos + 1
        while pos < len(data):
            char = data[pos]
            if char == 0x22:
                self.pos = pos + 1
                return bytes(out)
            if char == 0x5C:
                escaped = data[pos + 1 : pos + 2]
                if escaped not in (b'"', b"\\"):
                    raise BadCommandError('in a quoted string, "\\" may only escape \'"\' or "\\"')
                out += escaped
                pos += 2
                continue
            if char in (0x0D, 0x0A, 0x00):
                raise BadCommandError("a quoted string cannot hold CR, LF or NUL; use a literal")
            out.append(char)
            pos += 1
        raise BadCommandError("a quoted string is not closed")

    def _literal(self) -> bytes:
        match = _LITERAL.match(self.data, self.pos)
        if match is None:
            raise BadCommandError("a literal is '{size}' then CRLF then that many bytes")
        size = int(match.group(1))
        start = match.end()
        if start + size > len(self.data):
            raise BadCommandError("the literal is shorter than its announced size")
        self.pos = start + size
        return self.data[start : self.pos]

    def _atom(self) -> str:
        data = self.data
        start = pos = self.pos
        while pos < len(data) and data[pos] not in _ATOM_END:
            if data[pos] == 0x5B:  # "[": a section runs to its matching "]"
                close = _section_end(data, pos)
                if close < 0:
                    raise BadCommandError("a '[' in an argument is not closed by ']'")
                pos = close
            pos += 1
        if pos == start:
            raise BadCommandError(f"unexpected {chr(data[pos])!r} at byte {pos}")
        raw = data[start:pos]
        if any(byte < 0x20 or byte > 0x7E for byte in raw):
            raise BadCommandError("an atom holds only printable ASCII; send other text as a string")
        self.pos = pos
        return raw.decode("ascii")


def _section_end(data: bytes, start: int) -> int:
    """The index of the "]" closing the "[" at `start`, skipping quoted strings; -1 if none."""
    pos = start + 1
    quoted = False
    while pos < len(data):
        char = data[pos]
        if char in (0x0D, 0x0A):
            return -1
        if quoted:
            if char == 0x5C:
                pos += 1
            elif char == 0x22:
                quoted = False
        elif char == 0x22:
            quoted = True
        elif char == 0x5D:
            return pos
        pos += 1
    return -1
