"""Header SEARCH keys answered from the decoded values kept for each message apart from its
structure (RFC 9051 §6.4.4: substring, case-insensitive, MIME-decoded), against the same
search decoding the header section on the spot, and for what an older version kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from roost.imap import mimeheaders
from roost.imap.fetch import Message, Structures
from roost.imap.mime import SEARCHED, kept_searched, searched_filter
from roost.imap.msgview import LoadedMessage
from roost.imap.search import Bounds, parse_search
from roost.imap.searchtext import folded_header
from roost.store.interfaces import MessageInfo

DATA = Path(__file__).parent / "msgdata"
WHEN = datetime(2026, 11, 30, tzinfo=UTC)
EDGES = (
    b"From: =?ISO-8859-1?Q?Andr=E9?= Pirard <pirard@example.org>\r\n"
    b"To: first@example.org,\r\n =?UTF-8?B?SsO8cmdlbg==?= <j@example.org>\r\n"
    b"To: second-to@example.org\r\n"
    b"Cc: Gr\xc3\xbc\xc3\x9fe <cc@example.org>\r\n"
    b"Subject: =?utf-8?q?Invoice_n=C2=BA?=\r\n =?utf-8?q?_42_for?= STRASSE\r\n"
    b"\tfolded on\r\n"
    b"Date: Mon, 30 Nov 2026 01:00:00 +0000\r\n"
    b"\r\n"
    b"body\r\n"
)


def no_file(uid: int) -> Callable[[], bytes]:
    def read() -> bytes:
        raise AssertionError(f"message {uid}'s file was read for a header search")

    return read


def kept_form(raw: bytes) -> tuple[bytes, bytes]:
    """What the FETCH/SEARCH code keeps for a message it parses the first time: the
    structure and the searched values."""
    structures = Structures({})
    structures.get(1, lambda: raw)
    return structures.new[1], structures.new_searched[1]


def kept_message(
    raw: bytes, kept: bytes, searched: bytes | None, read: Callable[[], bytes] | None = None
) -> Message:
    info = MessageInfo(1, 1, (), WHEN, len(raw))
    searched_kept = {1: searched} if searched is not None else {}
    return Message(1, info, read or no_file(1), Structures({1: kept}, searched_kept))


def matches(message: object, *args: object) -> bool:
    program = parse_search(list(args))
    return program.matcher(Bounds(1, 1))(message)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", sorted(DATA.glob("*.eml")), ids=lambda p: p.name)
def test_kept_values_answer_as_decoding_the_header_does(path: Path) -> None:
    raw = path.read_bytes()
    kept = kept_form(raw)
    fresh = LoadedMessage(1, 1, raw, WHEN)
    header = fresh.header()
    for name, value in mimeheaders.fields(header, 0, len(header), SEARCHED):
        decoded = folded_header(value)
        middle = decoded[len(decoded) // 4 : 3 * len(decoded) // 4 + 1]
        for needle in {middle, middle.upper(), decoded, "no such text at all"}:
            args = ("CHARSET", "UTF-8", name.upper(), needle.encode())
            assert matches(kept_message(raw, *kept), *args) == matches(fresh, *args), (
                name,
                needle,
            )
        assert matches(kept_message(raw, *kept), name.upper(), middle.encode())
        # The store's prefilter passes over kept values without a needle's bytes.
        prefix, (needle_bytes,) = searched_filter((middle,))
        assert kept[1].startswith(prefix) and needle_bytes in kept[1]


@pytest.mark.parametrize(
    ("key", "needle", "found"),
    [
        ("FROM", "andré pirard", True),  # ISO-8859-1 Q encoded word
        ("FROM", "ANDRÉ", True),
        ("TO", "jürgen <j@", True),  # B encoded word on a folded line
        ("TO", "second-to", True),  # the second To field counts too
        ("TO", "first@example.org, jürgen", True),
        ("CC", "grüße", True),  # raw UTF-8 (RFC 6532)
        ("CC", "GRÜSSE", True),  # case folding: ß folds to ss
        ("SUBJECT", "invoice nº 42 for strasse", True),  # adjacent encoded words joined
        ("SUBJECT", "Straße", True),
        ("SUBJECT", "strasse\tfolded on", True),  # unfolded: the line break goes, tab stays
        ("SUBJECT", "strasse folded", False),
        ("SUBJECT", "=?utf-8?", False),  # compared decoded, not as written
        ("BCC", "example", False),  # no Bcc field
        ("FROM", "second-to", False),
    ],
)
def test_kept_values_follow_rfc_9051_header_matching(key: str, needle: str, found: bool) -> None:
    kept = kept_form(EDGES)
    args = ("CHARSET", "UTF-8", key, needle.encode())
    assert matches(kept_message(EDGES, *kept), *args) is found
    assert matches(LoadedMessage(1, 1, EDGES, WHEN), *args) is found


def test_kept_values_are_the_decoded_values() -> None:
    searched = kept_searched(kept_form(EDGES)[1])
    assert searched["to"] == (
        "first@example.org, jürgen <j@example.org>",
        "second-to@example.org",
    )
    assert searched["subject"] == ("invoice nº 42 for strasse\tfolded on",)
    assert "bcc" not in searched


@pytest.mark.parametrize(
    "data",
    [
        b"roost-searched-0\0" + kept_form(EDGES)[1][17:],  # another version's
        kept_form(EDGES)[1][:30],  # cut short
        b"roost-searched-1\0" + bytes(8),  # not marshal
        b"roost-searched-1\0N",  # marshal, but not values (None)
    ],
)
def test_values_kept_by_another_version_or_damaged_are_decoded_from_the_kept_header(
    data: bytes,
) -> None:
    """The structure still holds the header section: the values are decoded from it, no
    file is read, and they are kept anew."""
    structure, _ = kept_form(EDGES)
    message = kept_message(EDGES, structure, data)
    assert matches(message, "CHARSET", "UTF-8", "SUBJECT", "straße".encode())
    renewed = message._structures.new_searched[1]
    assert kept_searched(renewed)["from"] == ("andré pirard <pirard@example.org>",)
    assert message._structures.new == {}  # the structure was good: not parsed again


def test_structure_kept_by_an_older_version_is_parsed_again_then_kept_anew() -> None:
    reads = []

    def read() -> bytes:
        reads.append(1)
        return EDGES

    older = b"roost-structure-4\0" + bytes(20) + b"whatever the old layout held"
    message = kept_message(EDGES, older, None, read)
    assert matches(message, "CHARSET", "UTF-8", "SUBJECT", "straße".encode())
    assert not matches(message, "FROM", b"nobody")
    assert reads == [1]  # read once, parsed once
    renewed = message._structures.new[1], message._structures.new_searched[1]
    assert kept_searched(renewed[1])["from"] == ("andré pirard <pirard@example.org>",)
    assert matches(kept_message(EDGES, *renewed), "TO", "JÜRGEN".encode())


def test_header_key_on_other_fields_still_reads_the_kept_header_section() -> None:
    kept = kept_form(EDGES)
    assert matches(kept_message(EDGES, *kept), "HEADER", b"Date", b"30 nov 2026")
    assert matches(kept_message(EDGES, *kept), "SUBJECT", b"")  # "" matches a present field
    assert not matches(kept_message(EDGES, *kept), "BCC", b"")


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["SUBJECT", b"Invoice"], ("invoice",)),
        (["FROM", b"Ann", "UNSEEN", "TO", "B\u00d6B".encode()], ("ann", "böb")),
        (["HEADER", b"Subject", b"X"], ("x",)),  # the same field as SUBJECT
        (["HEADER", b"X-Mailer", b"x"], ()),  # not kept decoded: no prefilter
        (["OR", "SUBJECT", b"a", "SUBJECT", b"b"], ()),  # either may match
        (["NOT", "SUBJECT", b"a"], ()),
        (["SUBJECT", b""], ()),  # "" matches any message with the field
        (["BODY", b"a"], ()),
    ],
)
def test_programs_name_the_texts_every_match_holds(args, needles) -> None:
    assert parse_search(args).key.needles == needles
