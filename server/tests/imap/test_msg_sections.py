"""Section specs (RFC 9051 §6.4.5, §9), partials, BINARY decoding (RFC 3516) and the
cached structure, on cases the Dovecot comparison does not cover."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roost.imap import bodystructure
from roost.imap.errors import BadCommandError, UnknownCTEError
from roost.imap.mime import Kept, parse, text_parts
from roost.imap.sections import (
    Section,
    binary_section,
    body_section,
    decode_transfer,
    header_lines,
    header_section,
    parse_partial,
    partial,
)

DATA = Path(__file__).parent / "msgdata"


@pytest.mark.parametrize(
    ("spec", "parsed", "echo"),
    [
        ("", Section(), ""),
        ("1.2.3", Section((1, 2, 3)), "1.2.3"),
        ("header", Section((), "HEADER"), "HEADER"),
        ("2.TEXT", Section((2,), "TEXT"), "2.TEXT"),
        ("1.MIME", Section((1,), "MIME"), "1.MIME"),
        (
            'HEADER.FIELDS (From "Content-Type" x-spam)',
            Section((), "HEADER.FIELDS", ("From", "Content-Type", "x-spam")),
            "HEADER.FIELDS (FROM CONTENT-TYPE X-SPAM)",
        ),
        (
            b"3.HEADER.FIELDS.NOT (To)",
            Section((3,), "HEADER.FIELDS.NOT", ("To",)),
            "3.HEADER.FIELDS.NOT (TO)",
        ),
    ],
)
def test_section_specs_parse_and_echo(spec, parsed, echo):
    assert Section.parse(spec) == parsed
    assert str(parsed) == echo


@pytest.mark.parametrize(
    "spec",
    [
        "0",
        "1.",
        "1..2",
        "MIME",
        "FOO",
        "HEADER.FIELDS",
        "HEADER.FIELDS ()",
        "TEXT (x)",
        "1.x",
        "01",
    ],
)
def test_bad_section_specs_are_bad(spec):
    with pytest.raises(BadCommandError, match="invalid section"):
        Section.parse(spec)


def test_binary_sections_take_part_numbers_only():
    assert Section.parse("1.2", binary=True) == Section((1, 2))
    with pytest.raises(BadCommandError, match="only a part number"):
        Section.parse("1.MIME", binary=True)


def test_partials():
    assert parse_partial("<0.100>") == (0, 100)
    assert parse_partial(b"<7.1>") == (7, 1)
    for bad in ("<1>", "<0.0>", "<a.1>", "0.1", "<-1.5>"):
        with pytest.raises(BadCommandError, match="invalid partial"):
            parse_partial(bad)
    data = memoryview(b"0123456789")
    assert bytes(partial(data, 3, 4)) == b"3456"
    assert bytes(partial(data, 8, 100)) == b"89"
    assert bytes(partial(data, 50, 5)) == b""


def test_bare_lf_messages_are_served_as_stored_and_agree_with_their_sizes():
    raw = (DATA / "barelf.eml").read_bytes()
    structure = parse(raw)
    text_part = bodystructure.body(structure, extensible=False)[0]
    assert text_part[:2] == (b"text", b"plain")
    assert bytes(body_section(raw, structure, Section((1,)))) == b"line one\nline two"
    assert text_part[6] == len(b"line one\nline two") and text_part[7] == 1
    assert (
        bytes(body_section(raw, structure, Section((1,), "MIME")))
        == b"Content-Type: text/plain\n\n"
    )
    assert bytes(body_section(raw, structure, Section((), "HEADER.FIELDS", ("subject",)))) == (
        b"Subject: bare LF\n\r\n"
    )


def test_whole_parts_are_views_not_copies():
    raw = (DATA / "attachment.eml").read_bytes()
    structure = parse(raw)
    for section in (Section(), Section((2,)), Section((), "TEXT")):
        data = body_section(raw, structure, section)
        assert isinstance(data, memoryview) and data.obj is raw


def test_binary_decodes_lenient_base64_and_quoted_printable():
    assert decode_transfer(b"aGVs\r\nbG8=\r\n", "BASE64") == b"hello"
    assert decode_transfer(b"aGVsbG8", "base64") == b"hello"  # padding missing
    assert decode_transfer(b"a*GV!sbG8=x", "base64") == b"hello"  # stray characters
    assert decode_transfer(b"caf=C3=A9 =\r\nau lait", "quoted-printable") == "café au lait".encode()
    assert decode_transfer(b"as is", None) == b"as is"
    with pytest.raises(UnknownCTEError, match="x-uuencode"):
        decode_transfer(b"begin 644", "x-uuencode")
    raw = (DATA / "attachment.eml").read_bytes()
    assert bytes(binary_section(raw, parse(raw), (2,))) == bytes(range(256)) * 3


@pytest.mark.parametrize("path", sorted(DATA.glob("*.eml")), ids=lambda p: p.name)
def test_structure_survives_its_cache_form(path):
    structure = parse(path.read_bytes())
    kept = Kept.load(structure.to_bytes())
    cached = kept.structure()
    assert cached == structure
    assert kept.text_parts == text_parts(structure.root)
    assert bodystructure.body(cached, extensible=True) == bodystructure.body(
        structure, extensible=True
    )


def test_cache_from_another_version_is_refused():
    version_1 = b'[1, 16, [0, 12, 16, "text", "plain", [], null]]'
    with pytest.raises(ValueError, match="another version"):
        Kept.load(version_1)
    kept = parse(b"Subject: x\r\n\r\nbody").to_bytes()
    with pytest.raises(ValueError, match="damaged"):
        Kept.load(kept[:40])
    with pytest.raises(ValueError, match="damaged"):
        Kept.load(kept[:-5]).structure()


def test_text_parts_are_the_searchable_leaves_in_message_order():
    """text/* and message/* leaves, inside attached messages too; not the attachment."""
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain; charset=ISO-8859-1\r\n"
        b"Content-Transfer-Encoding: Quoted-Printable\r\n\r\ncaf=E9\r\n"
        b"--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"JVBERg==\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner text\r\n"
        b"--b--\r\n"
    )
    parts = text_parts(parse(raw).root)
    assert [(raw[start:end], encoding, charset) for start, end, encoding, charset in parts] == [
        (b"caf=E9", "quoted-printable", "ISO-8859-1"),
        (b"inner text", "7bit", "us-ascii"),
    ]
    assert Kept.load(parse(raw).to_bytes()).text_parts == parts


def test_kept_header_is_the_header_section():
    raw = b"Subject: x\r\nFrom: a@example.org\r\n\r\nbody\r\n"
    kept = Kept.load(parse(raw).to_bytes())
    assert kept.header == raw[: raw.index(b"\r\n\r\n") + 4]


def test_message_global_holds_a_message_like_rfc822():
    """RFC 9051 §7.5.2: MESSAGE/GLOBAL (RFC 6532) carries an envelope, a body and lines."""
    raw = (DATA / "global.eml").read_bytes()
    structure = parse(raw)
    attached = bodystructure.body(structure, extensible=False)[1]
    assert attached[:2] == (b"message", b"global")
    envelope, body, lines = attached[7:10]
    assert envelope[1] == "Grüße".encode()
    assert envelope[2] == (
        (b"=?utf-8?q?J=C3=B6rg?=", None, "jörg".encode(), "bücher.example".encode()),
    )
    assert body[:2] == (b"text", b"plain") and body[5] == b"8bit"
    assert lines == 6
    assert bytes(body_section(raw, structure, Section((2, 1)))) == "Schöne Grüße".encode()
    header = bytes(body_section(raw, structure, Section((2,), "HEADER")))
    assert header.startswith(b"From: =?utf-8?q?J=C3=B6rg?=") and header.endswith(b"8bit\r\n\r\n")


HEADER_PIECES = [
    b"Subject: a\r\n",
    b"subject:b\n",
    b"From : c\r\n",
    b"\x0bTo\x0c:d\r\n",
    b" folded\r\n",
    b"\tfolded\n",
    b"Date: x",
    b" tail",
    b"X-Subject: e\r\n",
    b"Subjectx: f\r\n",
    b"no colon line\r\n",
    b"\r\n",
    b"\n",
    b"\r",
    b":\r\n",
    b"SUBJECT:\r\n",
    b"caf\xe9: g\r\n",
]


@settings(max_examples=1000)
@given(
    st.lists(st.sampled_from(HEADER_PIECES), max_size=12).map(b"".join),
    st.sets(st.sampled_from(["subject", "from", "to", "date", "x-subject"]), min_size=1),
)
def test_header_fields_by_expression_agree_with_the_line_loop(header, names):
    """HEADER.FIELDS takes a regular expression when no bare CR ends a line; it must pick
    what the line-by-line reading picks, on folded, unterminated and odd lines alike."""
    section = Section.parse(f"HEADER.FIELDS ({' '.join(sorted(names))})")
    expected = header_lines(header, set(names), keep=True)
    assert header_section(header, section) == expected
    assert header_section(memoryview(header), section) == expected
