"""FETCH of only UID, FLAGS and MODSEQ, formatted straight from the store's rows
(`fetch.StateLines`): the same bytes as the general renderer, item order kept."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import permutations

import pytest

from roost.imap.fetch import Message, StateLines, Structures, parse_items, render, state_only
from roost.store.interfaces import MessageInfo

WHEN = datetime(2026, 11, 30, tzinfo=UTC)
ITEM_LISTS = [
    list(order) for size in (1, 2, 3) for order in permutations(["UID", "FLAGS", "MODSEQ"], size)
] + [["FLAGS", "FLAGS"]]


def never_read() -> bytes:
    raise AssertionError("a state-only FETCH read the message")


@pytest.mark.parametrize("names", ITEM_LISTS, ids=" ".join)
@pytest.mark.parametrize("uid", [False, True], ids=["FETCH", "UID FETCH"])
@pytest.mark.parametrize("modseq", [False, True], ids=["", "CHANGEDSINCE"])
@pytest.mark.parametrize(
    "flags", [(), ("\\Seen",), ("$Forwarded", "\\Answered", "\\Seen", "nonjunk")]
)
def test_state_lines_are_what_render_makes(
    names: list[str], uid: bool, modseq: bool, flags: tuple[str, ...]
) -> None:
    items = parse_items(names)
    assert state_only(items)
    info = MessageInfo(4711, 99, flags, WHEN, 1234)
    expected = render(Message(17, info, never_read, Structures({})), items, uid=uid, modseq=modseq)
    lines = StateLines(items, uid=uid, modseq=modseq)
    row = (4711, 99, " ".join(flags).encode())
    assert lines.lines([17], [row]) == [expected]
    assert lines.lines([None, 17, None], [row, row, row]) == [expected]  # None: not in view


@pytest.mark.parametrize(
    "names", [["FLAGS", "INTERNALDATE"], ["UID", "RFC822.SIZE"], ["BODY.PEEK[HEADER]"], ["FAST"]]
)
def test_other_items_take_the_general_path(names: list[str]) -> None:
    assert not state_only(parse_items(names))
