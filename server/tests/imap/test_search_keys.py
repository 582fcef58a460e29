"""SEARCH keys of RFC 3501 / RFC 9051 (+ RFC 7162 MODSEQ) on the corpus messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from roost.imap.errors import BadCharsetError, BadCommandError
from roost.imap.msgview import LoadedMessage
from roost.imap.search import Bounds, esearch_data, parse_search

DATA = Path(__file__).parent / "msgdata"


class CountingMessage(LoadedMessage):
    """Counts reads of the message bytes, to see which keys leave them alone."""

    reads = 0

    def raw(self) -> bytes:
        self.reads += 1
        return super().raw()


def _mailbox() -> list[CountingMessage]:
    plan = [
        ("alternative.eml", ("\\Seen",), datetime(2026, 11, 4, 9, 0, tzinfo=UTC)),
        (
            "attachment.eml",
            ("\\Answered", "\\Seen", "$Forwarded"),
            datetime(2026, 11, 5, 23, 30, tzinfo=UTC),
        ),
        (
            "nested.eml",
            ("\\Flagged", "\\Recent"),
            datetime(2026, 11, 6, 1, 0, tzinfo=timezone(timedelta(hours=-5))),
        ),
        ("encoded8bit.eml", ("\\Deleted", "\\Draft"), datetime(2026, 11, 7, 12, 0, tzinfo=UTC)),
        ("groups.eml", ("\\Recent", "\\Seen"), datetime(2003, 7, 1, 8, 52, tzinfo=UTC)),
        ("broken.eml", (), datetime(2026, 11, 8, tzinfo=UTC)),
    ]
    return [
        CountingMessage(
            uid=10 * (i + 1),
            seq=i + 1,
            message=(DATA / name).read_bytes(),
            internaldate=when,
            flags=flags,
            modseq=100 + i,
        )
        for i, (name, flags, when) in enumerate(plan)
    ]


def search(*args: object, saved: tuple[int, ...] = ()) -> list[int]:
    """Sequence numbers of the matching messages."""
    mailbox = _mailbox()
    program = parse_search(list(args))
    matches = program.matcher(Bounds(len(mailbox), mailbox[-1].uid, saved))
    return [m.seq for m in mailbox if matches(m)]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["ALL"], [1, 2, 3, 4, 5, 6]),
        (["SEEN"], [1, 2, 5]),
        (["UNSEEN"], [3, 4, 6]),
        (["ANSWERED"], [2]),
        (["UNANSWERED"], [1, 3, 4, 5, 6]),
        (["FLAGGED"], [3]),
        (["UNFLAGGED"], [1, 2, 4, 5, 6]),
        (["DELETED"], [4]),
        (["UNDELETED"], [1, 2, 3, 5, 6]),
        (["DRAFT"], [4]),
        (["UNDRAFT"], [1, 2, 3, 5, 6]),
        (["RECENT"], [3, 5]),
        (["OLD"], [1, 2, 4, 6]),
        (["NEW"], [3]),
        (["KEYWORD", "$forwarded"], [2]),
        (["UNKEYWORD", "$Forwarded"], [1, 3, 4, 5, 6]),
        (["seen", "answered"], [2]),
    ],
)
def test_flag_keys(args, expected):
    assert search(*args) == expected


def test_sequence_and_uid_sets():
    assert search("2:3,6") == [2, 3, 6]
    assert search("5:*") == [5, 6]
    assert search("UID", "25:40") == [3, 4]
    assert search("UID", "100:*") == [6]  # RFC 9051 §6.4.9: n:* holds the last one
    assert search("$", saved=(20, 50)) == [2, 5]
    assert search("UID", "$", saved=(60,)) == [6]
    assert search("NOT", "1:4") == [5, 6]


def test_sizes_and_internal_dates():
    sizes = [m.size for m in _mailbox()]
    assert search("LARGER", str(sizes[3])) == [i + 1 for i, s in enumerate(sizes) if s > sizes[3]]
    assert search("SMALLER", str(sizes[3])) == [i + 1 for i, s in enumerate(sizes) if s < sizes[3]]
    # Dates compare the internal date's own calendar day, time and zone disregarded.
    assert search("ON", "5-Nov-2026") == [2]
    assert search("ON", b"6-Nov-2026") == [3]
    assert search("BEFORE", "5-Nov-2026") == [1, 5]
    assert search("SINCE", "7-nov-2026") == [4, 6]


def test_sent_dates_come_from_the_date_field():
    assert search("SENTON", "1-Jul-2003") == [5]
    assert search("SENTBEFORE", "5-Nov-2026") == [1, 5, 6]  # 6 has no Date: 1970-01-01
    assert search("SENTSINCE", "6-Nov-2026") == [3, 4]  # nested: Fri, 06 Nov 2026 -0500
    assert search("SENTBEFORE", "2-Jan-1970") == [6]  # broken.eml has no Date: 1970-01-01


def test_header_keys_match_decoded_case_insensitive_substrings():
    assert search("CHARSET", "UTF-8", "SUBJECT", "grüße aus".encode()) == [1]
    assert search("FROM", "JÜRGEN".encode()) == [1]  # 8-bit strings are read as UTF-8 anyway
    assert search("CHARSET", "UTF-8", "FROM", "JÜRGEN MÜLLER".encode()) == [1]
    assert search("SUBJECT", "you understand the EXAMPLE") == [4]  # two encoded words
    assert search("FROM", "andré".encode()) == [4]
    assert search("TO", "renée".encode()) == [4]  # raw UTF-8 in the header (RFC 6532)
    assert search("CC", b"big") == [5]
    assert search("BCC", "where.test") == [5]
    assert search("HEADER", "In-Reply-To", b"3456@") == [5]
    assert search("HEADER", "content-language", b"") == [2]
    assert search("HEADER", "X-Absent", b"") == []


def test_body_and_text_decode_transfer_encodings_and_charsets():
    assert search("BODY", "weißwurst".encode()) == [1]  # quoted-printable UTF-8
    assert search("BODY", "</P>") == [1, 3]  # the base64 HTML part; the attached message
    assert search("BODY", "café".encode()) == [2]  # 8-bit ISO-8859-1
    assert search("BODY", "crème brûlée".encode()) == [4]
    assert search("BODY", "inner html") == [3]  # inside an attached message
    assert search("BODY", "Carol") == []  # only in the header
    assert search("TEXT", "carol") == [2]
    assert search("TEXT", "never closed") == []  # x-uuencode: not decodable, not searched
    assert search("TEXT", "first part") == [6]


def test_body_of_8bit_utf8_text_without_a_charset_is_found():
    """No charset means us-ascii (RFC 2045 §5.2), but such 8-bit mail is UTF-8 in practice."""
    raw = (
        b"From: a@example.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "Grüße aus Köln\r\n".encode()
    )
    message = LoadedMessage(uid=1, seq=1, message=raw, internaldate=datetime.now(UTC))
    program = parse_search(["BODY", "grüße".encode()])
    assert program.matcher(Bounds(1, 1, ()))(message)


def test_or_not_and_groups():
    assert search("OR", "FLAGGED", "DRAFT") == [3, 4]
    assert search("NOT", "OR", "SEEN", "DELETED") == [3, 6]
    assert search(["SEEN", "ANSWERED"]) == [2]
    assert search("OR", ["SEEN", "ANSWERED"], ["DELETED"]) == [2, 4]
    assert search("NOT", ["NOT", ["SEEN"]]) == [1, 2, 5]


def test_modseq_key_and_esearch_shaping():
    program = parse_search(["RETURN", ["MIN", "COUNT", "ALL"], "MODSEQ", "103"])
    assert program.uses_modseq and program.return_options == ("MIN", "COUNT", "ALL")
    assert search("MODSEQ", b"/flags/\\seen", "all", "103") == [4, 5, 6]
    assert esearch_data([4, 5, 6, 9], ["MIN", "COUNT", "ALL"], 105) == [
        "MIN",
        4,
        "COUNT",
        4,
        "ALL",
        "4:6,9",
        "MODSEQ",
        105,
    ]
    assert esearch_data([], ["MIN", "MAX", "COUNT", "ALL"]) == ["COUNT", 0]
    assert esearch_data([3], []) == ["ALL", "3"]
    assert parse_search(["RETURN", ["SAVE"], "ALL"]).save
    assert parse_search(["ALL"]).return_options is None


def test_cheap_keys_decide_before_the_message_is_read():
    mailbox = _mailbox()
    program = parse_search(["BODY", b"weisswurst", "FLAGGED", "TEXT", b"x", "UID", "1:30"])
    matches = program.matcher(Bounds(len(mailbox), 60))
    assert [m.seq for m in mailbox if matches(m)] == []
    # Only message 3 is flagged and in the UID range: the only one read, and read once.
    assert [m.reads for m in mailbox] == [0, 0, 1, 0, 0, 0]


def test_unsupported_charset_is_no_badcharset():
    with pytest.raises(BadCharsetError) as raised:
        parse_search(["CHARSET", "ISO-2022-JP", "ALL"])
    assert raised.value.response("A7") == (
        b"A7 NO [BADCHARSET (UTF-8 US-ASCII)] charset ISO-2022-JP is not supported; "
        b"search with CHARSET UTF-8\r\n"
    )
    assert parse_search(["charset", b"us-ascii", "ALL"]).charset == "US-ASCII"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ([], "at least one search key"),
        (["FROM"], "FROM needs a string"),
        (["FROBNICATE"], "unknown SEARCH key"),
        (["LARGER", "ten"], "needs a number"),
        (["SINCE", "2026-11-05"], "not a date"),
        (["SINCE", "31-Feb-2026"], "not a date"),
        (["OR", "SEEN"], "OR needs"),
        (["UID", "1:x"], "invalid sequence set"),
        ([b"quoted"], "got a string"),
        (["RETURN", ["FASTEST"], "ALL"], "unknown SEARCH RETURN option"),
        (["NOT"] * 60 + ["ALL"], "nests deeper"),
    ],
)
def test_bad_programs_are_bad_with_the_reason(args, reason):
    with pytest.raises(BadCommandError, match=reason) as raised:
        parse_search(args)
    assert raised.value.response("A1").startswith(b"A1 BAD ")
