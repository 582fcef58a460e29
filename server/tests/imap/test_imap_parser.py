"""The command parser, the response serializer and modified UTF-7, including fuzzing: no
input makes them raise anything but the BAD they are meant to raise."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roost.imap import mutf7
from roost.imap.errors import BadCommandError
from roost.imap.parser import parse_command
from roost.imap.response import Atom, encode

ATOM_CHARS = "abcxyzABCXYZ0123456789!#$&'+,-./:;<=>?@^_`|}~*%\\"


def test_parses_literals_quoted_strings_lists_and_sections() -> None:
    command = parse_command(
        b'a1 FETCH 1:*,3 (FLAGS BODY.PEEK[HEADER.FIELDS (FROM "TO")]<0.10>) "q\\"uo\\\\te"'
        b" {3}\r\nabc ~{2}\r\n\x00\x01 NIL"
    )
    assert command.tag == "a1" and command.name == "FETCH"
    assert command.args == [
        "1:*,3",
        ["FLAGS", 'BODY.PEEK[HEADER.FIELDS (FROM "TO")]<0.10>'],
        b'q"uo\\te',
        b"abc",
        b"\x00\x01",
        "NIL",
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"", "tag"),
        (b"+tag NOOP", "tag"),
        (b"a", "missing command"),
        (b"a (NOOP", "not closed"),
        (b"a NOOP )", "unexpected ')'"),
        (b"a NOOP  x", "unexpected ' '"),
        (b'a LOGIN "x', "not closed"),
        (b'a LOGIN "a\\b"', "escape"),
        (b"a LOGIN {5}\r\nab", "shorter"),
        (b"a LOGIN {x}", "a literal is"),
        (b"a X caf\xc3\xa9", "printable ASCII"),
        (b"a FETCH 1 BODY[TEXT", "not closed by ']'"),
        (b"a X " + b"(" * 40 + b")" * 40, "nested"),
    ],
)
def test_bad_input_names_the_problem(line: bytes, reason: str) -> None:
    with pytest.raises(BadCommandError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_command(line)


@settings(max_examples=500)
@given(st.binary(max_size=300))
def test_no_input_raises_anything_but_bad(data: bytes) -> None:
    with contextlib.suppress(BadCommandError):
        parse_command(data)


atoms = st.text(ATOM_CHARS, min_size=1, max_size=12).filter(lambda a: a.upper() != "NIL")
strings = st.binary(max_size=40)
values = st.recursive(
    atoms.map(Atom) | strings | st.just(None),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=12,
)


def expected(value: object) -> object:
    if value is None:
        return "NIL"
    if isinstance(value, Atom):
        return str(value)
    if isinstance(value, list):
        return [expected(v) for v in value]
    return value


@settings(max_examples=300)
@given(st.lists(values, max_size=6))
def test_what_we_serialize_parses_back_to_the_same_values(args: list[object]) -> None:
    line = b"t1 CMD" + b"".join(b" " + encode(v) for v in args)
    assert parse_command(line).args == [expected(v) for v in args]


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_modified_utf7_round_trips_and_stays_printable_ascii(name: str) -> None:
    encoded = mutf7.encode(name)
    assert all(0x20 <= ord(c) <= 0x7E for c in encoded)
    assert mutf7.decode(encoded) == name


def test_modified_utf7_known_values_and_errors() -> None:
    assert mutf7.encode("Entwürfe") == "Entw&APw-rfe"
    assert mutf7.decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-") == "~peter/mail/台北/日本語"
    assert mutf7.decode("a&-b") == "a&b"
    for broken in ("a&b", "&Jjo", "&AGE", "caf\xe9"):
        with pytest.raises(mutf7.MailboxNameError):
            mutf7.decode(broken)


@given(st.text(ATOM_CHARS + "&", max_size=20))
def test_modified_utf7_decoding_never_crashes(text: str) -> None:
    with contextlib.suppress(mutf7.MailboxNameError):
        mutf7.decode(text)
