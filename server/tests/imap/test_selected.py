"""The session's view of a mailbox: sequence numbers of UIDs, one at a time and a batch at
once (a batch of a range FETCH takes the short way), always the same answer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from roost.imap.selected import SelectedMailbox

UIDS = st.lists(st.integers(1, 60), unique=True).map(sorted)


def view(uids: list[int]) -> SelectedMailbox:
    return SelectedMailbox("INBOX", False, 1, 1, uids, condstore=False, qresync=False)


@given(UIDS, UIDS)
def test_seqs_of_a_batch_are_seq_of_each(in_view: list[int], asked: list[int]) -> None:
    mailbox = view(in_view)
    assert list(mailbox.seqs_of(asked)) == [mailbox.seq_of(uid) for uid in asked]


@given(UIDS, st.data())
def test_a_run_of_the_view_is_numbered_by_its_place(
    in_view: list[int], data: st.DataObject
) -> None:
    start = data.draw(st.integers(0, len(in_view)))
    end = data.draw(st.integers(start, len(in_view)))
    assert list(view(in_view).seqs_of(in_view[start:end])) == list(range(start + 1, end + 1))


def test_uids_missing_from_the_view_have_no_number() -> None:
    mailbox = view([3, 5, 8])
    assert list(mailbox.seqs_of([3, 4, 5])) == [1, None, 2]
    assert list(mailbox.seqs_of([9])) == [None]
    assert list(mailbox.seqs_of([])) == []
