"""Which message sequence sets FETCH accepts, and which messages they name, agree with
Dovecot 2.3 on a three-message mailbox (RFC 9051 §9 seq-number: no number beyond the
mailbox, `*` the last message, ranges either way round)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from roost.imap.errors import BadCommandError
from roost.imap.seqset import SequenceSet
from tests.imap import dovecot_pipe as dovecot

COUNT = 3
SETS = ["1", "3", "4", "1:*", "*", "3:*", "*:2", "4:*", "2,5", "3:1", "1,1,2:3,2", "2:2"]


@pytest.fixture(scope="module")
def peer() -> Iterator[dovecot.Dovecot]:
    messages = [b"Subject: %d\r\n\r\nbody\r\n" % n for n in range(COUNT)]
    with dovecot.running(messages) as server:
        yield server


@pytest.mark.parametrize("text", SETS)
def test_fetch_sets_agree_with_dovecot(peer, text):
    numbers = SequenceSet.parse(text)
    try:
        numbers.check_sequence_numbers(COUNT)
    except BadCommandError:
        with pytest.raises(AssertionError, match="BAD"):
            peer.command(b"FETCH %s (UID)" % text.encode())
        return
    lines = peer.command(b"FETCH %s (UID)" % text.encode())
    theirs = [int(re.match(rb"\* (\d+) FETCH", line).group(1)) for line in lines]
    assert list(numbers.numbers(COUNT)) == theirs
