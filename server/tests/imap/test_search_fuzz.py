"""Any argument tree the engine's parser can hand over gives a program or a typed IMAP
error, and any program runs on any message without raising."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from roost.imap.errors import IMAPError
from roost.imap.msgview import LoadedMessage
from roost.imap.search import Bounds, esearch_data, parse_search
from roost.imap.sections import Section, parse_partial

WORDS = [
    "ALL",
    "ANSWERED",
    "BCC",
    "BEFORE",
    "BODY",
    "CC",
    "DELETED",
    "DRAFT",
    "FLAGGED",
    "FROM",
    "HEADER",
    "KEYWORD",
    "LARGER",
    "NEW",
    "NOT",
    "OLD",
    "ON",
    "OR",
    "RECENT",
    "SEEN",
    "SENTBEFORE",
    "SENTON",
    "SENTSINCE",
    "SINCE",
    "SMALLER",
    "SUBJECT",
    "TEXT",
    "TO",
    "UID",
    "UNANSWERED",
    "UNDELETED",
    "UNDRAFT",
    "UNFLAGGED",
    "UNKEYWORD",
    "UNSEEN",
    "MODSEQ",
    "CHARSET",
    "UTF-8",
    "RETURN",
    "MIN",
    "MAX",
    "COUNT",
    "SAVE",
    "1:*",
    "$",
    "2,4:3",
    "0",
    "17",
    "1-Feb-1994",
    "31-Feb-1994",
    "x",
    "",
    "NIL",
    "99999999999999999999999",
]
leaves = st.one_of(st.sampled_from(WORDS), st.text(max_size=8), st.binary(max_size=8))
trees = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4), max_leaves=25)
MESSAGE = (
    b"From: =?utf-8?q?J=C3=BCrgen?= <j@x>\r\nDate: Tue, 1 Jul 2003 10:52:37 +0200\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n"
)


@settings(max_examples=500, deadline=None)
@given(st.lists(trees, max_size=8))
def test_any_arguments_give_a_program_or_a_typed_error(args):
    try:
        program = parse_search(args)
    except IMAPError as error:
        assert error.response("t").startswith((b"t BAD ", b"t NO "))
        return
    view = LoadedMessage(3, 2, MESSAGE, datetime(2026, 1, 1, tzinfo=UTC), ("\\Seen",), 7)
    assert program.matcher(Bounds(2, 3, (3,)))(view) in (True, False)
    esearch_data([2], program.return_options or ())


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.text(max_size=12))
def test_any_section_or_partial_text_parses_or_is_bad(spec, partial):
    for parse in (Section.parse, lambda s: Section.parse(s, binary=True), parse_partial):
        for text in (spec, partial):
            try:
                parse(text)
            except IMAPError as error:
                assert error.status == "BAD"
