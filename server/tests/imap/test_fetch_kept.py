"""FETCH answered from index rows and kept structures (`fetchkept.KeptLines`): the same bytes
as the general renderer (`fetch.render`) for the same message and items, and None (the caller
then renders the general way) whenever what was kept cannot answer."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roost.imap import mime
from roost.imap.fetch import Message, Structures, parse_items, render
from roost.imap.fetchkept import KeptLines, kept_fields, kept_only
from roost.store.interfaces import MessageInfo
from roost.store.sqlite_base import to_stored_time

DATA = Path(__file__).parent / "msgdata"
WHEN = datetime(2026, 11, 30, 1, 2, 3, tzinfo=timezone(timedelta(hours=-5)))
EIGHT_BIT = (
    b"From: Gr\xc3\xbc\xc3\x9fe <cc@example.org>\r\n"
    b"To: first@example.org,\r\n =?UTF-8?B?SsO8cmdlbg==?= <j@example.org>\r\n"
    b'Subject: caf\xe9 "quoted" and \\ back\r\n\tfolded on\r\n'
    b" X-Not-A-Field\r\n"
    b"Date: Mon, 30 Nov 2026 01:00:00 +0000\r\n"
    b"\r\n"
    b"body\r\n"
)
ODD_HEADERS = [
    EIGHT_BIT,
    b"From: a@example.org\nSubject: bare LF\nDate: Mon, 30 Nov 2026 01:00:00 +0000\n\nbody\n",
    b"Subject: no body at all\r\nFrom: a@example.org\r\n",
    b"Subject: a bare\rCR\r\nFrom : spaced@example.org\r\nfrom: lower@example.org\r\n\r\nx",
    b"\r\nno header",
]
MESSAGES = [path.read_bytes() for path in sorted(DATA.glob("*.eml"))] + ODD_HEADERS
ITEM_LISTS = [
    ["BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)]", "BODYSTRUCTURE"],
    ["UID", "RFC822.SIZE", "FLAGS", "BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date)]"],
    ["BODY.PEEK[HEADER.FIELDS.NOT (Subject Received)]", "ENVELOPE"],
    ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]<3.20>", "BODY.PEEK[HEADER]<0.1>"],
    ["BODY.PEEK[HEADER]<10000.5>", "BODY"],
    ["RFC822.HEADER", "INTERNALDATE", "MODSEQ"],
    ['BODY.PEEK[HEADER.FIELDS ("X-Not-A-Field" "Message-ID" X%s)]'],
    ["ALL"],
    ["FAST"],
    ["FULL"],
]
FLAGS = ("$Forwarded", "\\Answered", "\\Seen")


def kept_form(raw: bytes) -> bytes:
    """What the FETCH/SEARCH code keeps for a message it parses the first time."""
    structures = Structures({})
    structures.get(1, lambda: raw)
    return structures.new[1]


def general(raw: bytes, kept: bytes | None, names: list[str], uid: bool, modseq: bool) -> bytes:
    info = MessageInfo(4711, 99, FLAGS, WHEN, len(raw))
    structures = Structures({} if kept is None else {4711: kept})
    message = Message(17, info, lambda: raw, structures)
    return render(message, parse_items(names), uid=uid, modseq=modseq)


def fast(raw: bytes, kept: bytes | None, names: list[str], uid: bool, modseq: bool) -> bytes | None:
    """The line made from the row alone, the same whether the store keeps the answers of
    the item list's field list or not, and whether it has this message's answer yet."""
    items = parse_items(names)
    assert kept_only(items)
    # The row as the store reads it (tests/store/test_store_sync.py checks it against
    # `message_infos`): flags as stored, INTERNALDATE as seconds and a zone offset.
    row = (4711, 99, " ".join(FLAGS).encode(), len(raw), *to_stored_time(WHEN), kept, None)
    line = KeptLines(items, uid=uid, modseq=modseq).line(17, row)
    keeping = KeptLines(items, uid=uid, modseq=modseq, keep_fields=True)
    assert keeping.line(17, row) == line
    if line is not None and kept_fields(items) is not None:
        answer = keeping.picked.pop(4711)
        again = KeptLines(items, uid=uid, modseq=modseq, keep_fields=True)
        assert again.line(17, (*row[:7], answer)) == line
        assert again.picked == {}  # read from the row, not picked again
    elif line is not None:
        assert keeping.picked == {}
    return line


@pytest.mark.parametrize("raw", MESSAGES, ids=range(len(MESSAGES)))
@pytest.mark.parametrize("names", ITEM_LISTS, ids=" ".join)
@pytest.mark.parametrize("uid", [False, True], ids=["FETCH", "UID FETCH"])
@pytest.mark.parametrize("modseq", [False, True], ids=["", "CHANGEDSINCE"])
def test_kept_lines_are_what_render_makes(
    raw: bytes, names: list[str], uid: bool, modseq: bool
) -> None:
    kept = kept_form(raw)
    assert fast(raw, kept, names, uid, modseq) == general(raw, kept, names, uid, modseq)
    # The general path on a message never parsed before gives the same bytes too.
    assert fast(raw, kept, names, uid, modseq) == general(raw, None, names, uid, modseq)


_FIELD = st.sampled_from(["From", "TO", "subject", "Date", "X-Spam", "X%d", "Received", "Cc"])
_ITEM = st.one_of(
    st.sampled_from(["UID", "FLAGS", "MODSEQ", "INTERNALDATE", "RFC822.SIZE", "RFC822.HEADER"]),
    st.sampled_from(["ENVELOPE", "BODY", "BODYSTRUCTURE"]),
    st.builds(
        lambda peek, text, fields, window: (
            f"BODY{peek}[{text} ({' '.join(fields)})]{window}"
            if text
            else f"BODY{peek}[HEADER]{window}"
        ),
        st.sampled_from(["", ".PEEK"]),
        st.sampled_from(["", "HEADER.FIELDS", "HEADER.FIELDS.NOT"]),
        st.lists(_FIELD, min_size=1, max_size=4),
        st.one_of(
            st.just(""),
            st.builds("<{}.{}>".format, st.integers(0, 300), st.integers(1, 300)),
        ),
    ),
)
_LINE = st.one_of(
    st.builds(
        b"%s:%s\r\n".__mod__,
        st.tuples(
            st.sampled_from([b"From", b"to", b"SUBJECT", b"X-Spam", b" Cc", b"Date ", b"x%d"]),
            st.binary(max_size=30).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
        ),
    ),
    st.sampled_from([b"\tcontinued\r\n", b" more\n", b"not a field\r\n", b"Subject: x\r"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(_LINE, max_size=8),
    body=st.sampled_from([b"\r\nbody\r\n", b"\nbody", b""]),
    names=st.lists(_ITEM, min_size=1, max_size=5),
    uid=st.booleans(),
    modseq=st.booleans(),
)
def test_any_header_and_items_agree(
    lines: list[bytes], body: bytes, names: list[str], uid: bool, modseq: bool
) -> None:
    raw = b"".join(lines) + body
    kept = kept_form(raw)
    assert fast(raw, kept, names, uid, modseq) == general(raw, kept, names, uid, modseq)


def test_what_was_not_kept_is_left_to_the_general_path() -> None:
    names = ["BODY.PEEK[HEADER.FIELDS (FROM)]", "BODYSTRUCTURE"]
    raw = MESSAGES[0]
    assert fast(raw, None, names, False, False) is None  # never parsed yet
    older = b"roost-structure-2\0" + bytes(20) + b"whatever the old layout held"
    assert fast(raw, older, names, False, False) is None
    assert fast(raw, kept_form(raw)[:40], names, False, False) is None  # damaged
    # A structure kept without its rendered values.
    bare = mime.parse(raw).to_bytes()
    assert fast(raw, bare, names, False, False) is None
    header_only = ["BODY.PEEK[HEADER.FIELDS (FROM)]"]
    assert fast(raw, bare, header_only, False, False) == general(raw, bare, header_only, 0, 0)


def test_a_kept_field_list_answer_is_served_as_kept() -> None:
    """The store's answer goes out as it is (with the <partial> window applied), from a
    list named in any case and order; other header items are still picked."""
    raw = EIGHT_BIT
    items = parse_items(
        ["BODY.PEEK[HEADER.FIELDS (Subject FROM)]<2.7>", "BODY.PEEK[HEADER.FIELDS (TO)]"]
    )
    assert kept_fields(items) == "from subject"
    row = (4711, 99, b"", len(raw), *to_stored_time(WHEN), kept_form(raw), b"Kept: yes\r\n\r\n")
    lines = KeptLines(items, uid=False, modseq=False, keep_fields=True)
    to = b"To: first@example.org,\r\n =?UTF-8?B?SsO8cmdlbg==?= <j@example.org>\r\n\r\n"
    assert lines.line(3, row) == (
        b'* 3 FETCH (BODY[HEADER.FIELDS (SUBJECT FROM)]<2> "pt: yes" '
        b"BODY[HEADER.FIELDS (TO)] {%d}\r\n%s)\r\n" % (len(to), to)
    )
    assert lines.picked == {}


def test_only_header_fields_lists_of_the_whole_message_are_kept() -> None:
    assert kept_fields(parse_items(["BODY.PEEK[HEADER.FIELDS.NOT (Received)]"])) is None
    assert kept_fields(parse_items(["BODY.PEEK[1.HEADER.FIELDS (From)]"])) is None
    assert kept_fields(parse_items(["RFC822.HEADER", "ENVELOPE"])) is None
    many = " ".join(f"X-Field-{n}" for n in range(100))
    assert kept_fields(parse_items([f"BODY.PEEK[HEADER.FIELDS ({many})]"])) is None


def test_items_from_the_index_alone_need_nothing_kept() -> None:
    raw = MESSAGES[0]
    names = ["FAST"]
    assert fast(raw, None, names, True, True) == general(raw, None, names, True, True)


@pytest.mark.parametrize(
    "names",
    [
        ["BODY[]"],
        ["BODY.PEEK[TEXT]"],
        ["BODY.PEEK[1]"],
        ["BODY.PEEK[1.HEADER]"],
        ["RFC822"],
        ["BINARY.PEEK[1]"],
        ["BINARY.SIZE[1]"],
        ["RFC822.TEXT"],
        ["FLAGS", "BODY.PEEK[1.MIME]"],
    ],
)
def test_items_needing_the_message_take_the_general_path(names: list[str]) -> None:
    assert not kept_only(parse_items(names))
