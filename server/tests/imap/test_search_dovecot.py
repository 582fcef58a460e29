"""SEARCH on header and body text agrees with Dovecot 2.3 (no full-text index: it decodes
RFC 2047 words, transfer encodings and charsets as we do) on the corpus messages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from roost.imap.msgview import LoadedMessage
from roost.imap.search import Bounds, parse_search
from tests.imap import dovecot_pipe as dovecot
from tests.imap.test_msg_dovecot import CORPUS

PROGRAMS = [
    ["SUBJECT", "grüße".encode()],
    ["FROM", "jürgen".encode()],
    ["SUBJECT", b"understand the example"],
    ["SUBJECT", b"there, folded"],
    ["TO", "renée".encode()],
    ["FROM", "andré".encode()],
    ["FROM", b"john.q"],
    ["CC", b"big"],
    ["BCC", b"where.test"],
    ["HEADER", b"Content-Language", b""],
    ["HEADER", b"subject", b"hi"],
    ["BODY", "weißwurst".encode()],
    ["BODY", b"</p>"],
    ["BODY", "café".encode()],
    ["BODY", "crème brûlée".encode()],
    ["BODY", b"inner html"],
    ["BODY", b"just text"],
    ["BODY", b"carol"],
    ["BODY", b"aGVsbG"],
    ["BODY", b"preamble"],
    ["BODY", b"epilogue"],
    ["BODY", b"soft line break in the middle"],
    ["BODY", b"equals sign = here"],
    ["BODY", b"METHOD:REQUEST"],
    ["BODY", b"Status: 5.1.1"],
    ["BODY", b"nobody@example.net"],
    ["BODY", b"img src"],
    ["BODY", b"MIAGCSqGSIb3"],
    ["TEXT", b"carol"],
    ["TEXT", b"never closed"],
    ["TEXT", b"example.com"],
    ["SENTBEFORE", "5-Nov-2026"],
    ["SENTON", "1-Jul-2003"],
    ["SENTSINCE", "6-Nov-2026"],
    ["LARGER", "800"],
    ["OR", "BODY", b"one", "NOT", "SMALLER", "300"],
]


def _imap(args: list[object]) -> bytes:
    return b" ".join(
        b'"' + a.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
        if isinstance(a, bytes)
        else str(a).encode()
        for a in args
    )


@pytest.fixture(scope="module")
def peer() -> Iterator[dovecot.Dovecot]:
    with dovecot.running([p.read_bytes() for p in CORPUS]) as server:
        yield server


@pytest.mark.parametrize("args", PROGRAMS, ids=lambda a: _imap(a).decode())
def test_search_matches_dovecot(peer, args):
    lines = peer.command(b"SEARCH CHARSET UTF-8 " + _imap(args))
    theirs = [int(n) for line in lines if line.startswith(b"* SEARCH") for n in line.split()[2:]]
    now = datetime.now(UTC)
    views = [LoadedMessage(i, i, p.read_bytes(), now) for i, p in enumerate(CORPUS, 1)]
    matches = parse_search(args).matcher(Bounds(len(views), len(views)))
    assert [v.seq for v in views if matches(v)] == theirs
