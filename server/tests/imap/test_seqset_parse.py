"""Sequence sets: grammar (RFC 9051 §9), `*` resolution (§6.4.9), `$` (RFC 5182)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.imap.errors import BadCommandError, IMAPError
from roost.imap.seqset import SequenceSet, format_set, ranges_contain


def test_ranges_in_either_order_are_merged_and_sorted():
    s = SequenceSet.parse("9:7,1,2:3,5,4")
    assert s.resolve(100) == [(1, 5), (7, 9)]
    assert list(s.numbers(100)) == [1, 2, 3, 4, 5, 7, 8, 9]


def test_star_is_the_largest_number_even_below_the_low_bound():
    # RFC 9051 §6.4.9: "559:*" always includes the last UID, even if 559 is higher.
    assert SequenceSet.parse("559:*").resolve(20) == [(20, 20)]
    assert SequenceSet.parse("*").resolve(7) == [(7, 7)]
    assert SequenceSet.parse("3:*").resolve(0) == []


def test_numbers_beyond_the_largest_are_dropped():
    assert SequenceSet.parse("2,50:60,4:100").resolve(10) == [(2, 2), (4, 10)]


def test_positions_pick_existing_uids_by_range():
    uids = [3, 5, 8, 13, 21, 34]
    assert list(SequenceSet.parse("4:13,30:*").positions(uids)) == [1, 2, 3, 5]
    assert list(SequenceSet.parse("1:*").positions([])) == []


def test_saved_result_stands_for_the_given_numbers():
    s = SequenceSet.parse("$")
    assert s.saved and str(s) == "$"
    assert s.resolve(10, saved=[5, 3, 4, 9]) == [(3, 5), (9, 9)]
    assert s.resolve(10) == []


@pytest.mark.parametrize(
    "text",
    ["", "0", "1:0", "01", "1,", ",1", "1::2", "a", "1:2:3", "-1", "4294967296", "$,1", " 1"],
)
def test_bad_sets_are_bad_with_a_reason(text):
    with pytest.raises(BadCommandError) as raised:
        SequenceSet.parse(text)
    assert raised.value.response("A1").startswith(b"A1 BAD ")


def test_sequence_numbers_beyond_the_mailbox_are_bad():
    SequenceSet.parse("1:*,3").check_sequence_numbers(3)
    with pytest.raises(BadCommandError, match="has 3 messages"):
        SequenceSet.parse("1:4").check_sequence_numbers(3)
    with pytest.raises(BadCommandError, match="empty"):
        SequenceSet.parse("*").check_sequence_numbers(0)


def test_format_set_compresses_runs():
    assert format_set([9, 1, 2, 3, 7, 10, 2]) == "1:3,7,9:10"
    assert format_set([]) == ""
    assert str(SequenceSet.of([4, 5, 6, 1])) == "1,4:6"


@given(st.sets(st.integers(1, 300)), st.integers(0, 300))
def test_membership_agrees_with_a_plain_set(numbers, largest):
    s = SequenceSet.parse(format_set(numbers)) if numbers else SequenceSet()
    ranges = s.resolve(largest)
    expected = {n for n in numbers if n <= largest}
    assert set(s.numbers(largest)) == expected
    assert all(ranges_contain(ranges, n) == (n in expected) for n in range(0, largest + 2))


@given(st.text(alphabet="0123456789:,*$ a", max_size=40))
def test_any_text_parses_or_raises_a_typed_error(text):
    try:
        s = SequenceSet.parse(text)
    except IMAPError:
        return
    assert SequenceSet.parse(str(s)) == s
