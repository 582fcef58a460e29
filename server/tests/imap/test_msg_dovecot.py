"""ENVELOPE, BODYSTRUCTURE, BODY and BODY[section] agree with Dovecot 2.3 (a real peer,
its imap binary run pre-authenticated over a pipe) on every corpus message.

Left out: barelf.eml, as Dovecot reports sizes as if bare LFs were CRLF, while Roost serves
the stored bytes unchanged; global.eml, as Dovecot 2.3 treats message/global as an opaque
part where RFC 9051 §7.5.2 gives it an envelope and body like message/rfc822. Both are
checked in test_msg_sections."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product
from pathlib import Path

import pytest

from roost.imap import bodystructure
from roost.imap.errors import UnknownCTEError
from roost.imap.mime import parse
from roost.imap.sections import Section, binary_section, body_section, locate
from tests.imap import dovecot_pipe as dovecot

DATA = Path(__file__).parent / "msgdata"
UNLIKE_DOVECOT = {"barelf.eml", "global.eml"}
CORPUS = sorted(p for p in DATA.glob("*.eml") if p.name not in UNLIKE_DOVECOT)
BINARY_CORPUS = [p for p in CORPUS if p.name != "broken.eml"]


def _lists(value: object) -> object:
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    if isinstance(value, memoryview):
        return bytes(value)
    return value


@pytest.fixture(scope="module")
def peer() -> Iterator[dovecot.Dovecot]:
    with dovecot.running([p.read_bytes() for p in CORPUS]) as server:
        yield server


def _paths() -> list[tuple[int, ...]]:
    paths: list[tuple[int, ...]] = []
    for depth in (1, 2, 3):
        paths += product((1, 2, 3), repeat=depth)
    return paths


SPECS = [
    "",
    "HEADER",
    "TEXT",
    "HEADER.FIELDS (From Subject Content-Type)",
    "HEADER.FIELDS.NOT (From)",
]


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_envelope_and_bodystructure_match_dovecot(peer, path):
    seq = CORPUS.index(path) + 1
    structure = parse(path.read_bytes())
    theirs = peer.fetch(seq, "ENVELOPE BODYSTRUCTURE BODY RFC822.SIZE")
    assert _lists(bodystructure.envelope(structure)) == theirs["ENVELOPE"]
    assert _lists(bodystructure.body(structure, extensible=True)) == theirs["BODYSTRUCTURE"]
    assert _lists(bodystructure.body(structure, extensible=False)) == theirs["BODY"]
    assert structure.size == theirs["RFC822.SIZE"]


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_body_sections_match_dovecot(peer, path):
    seq = CORPUS.index(path) + 1
    raw = path.read_bytes()
    structure = parse(raw)
    specs = list(SPECS)
    for part in _paths():
        number = ".".join(map(str, part))
        specs += [number, f"{number}.MIME", f"{number}.HEADER", f"{number}.TEXT"]
    sections = [Section.parse(spec) for spec in specs]
    theirs = peer.fetch(seq, " ".join(f"BODY.PEEK[{spec}]" for spec in specs))
    for section in sections:
        mine = bytes(body_section(raw, structure, section))
        assert mine == theirs[f"BODY[{section}]"], section


@pytest.mark.parametrize("path", BINARY_CORPUS, ids=lambda p: p.name)
def test_binary_of_leaf_parts_matches_dovecot(peer, path):
    seq = CORPUS.index(path) + 1
    raw = path.read_bytes()
    structure = parse(raw)
    for part in _paths():
        node = locate(structure, part)
        if node is None or node.is_multipart or node.is_message:
            continue
        number = ".".join(map(str, part))
        theirs = peer.fetch(seq, f"BINARY.PEEK[{number}] BINARY.SIZE[{number}]")
        mine = bytes(binary_section(raw, structure, part))
        assert mine == theirs[f"BINARY[{number}]"], number
        assert len(mine) == theirs[f"BINARY.SIZE[{number}]"], number


def test_unknown_transfer_encoding_is_refused_like_dovecot(peer):
    """broken.eml's part 2 is x-uuencode. (Dovecot refuses BINARY of its 7bit part 1 as
    well, having decoded the whole message; Roost decodes only the part asked for.)"""
    path = DATA / "broken.eml"
    raw = path.read_bytes()
    with pytest.raises(AssertionError, match=r"NO \[UNKNOWN-CTE\]"):
        peer.fetch(CORPUS.index(path) + 1, "BINARY.PEEK[2]")
    with pytest.raises(UnknownCTEError) as raised:
        binary_section(raw, parse(raw), (2,))
    assert raised.value.response("a").startswith(b"a NO [UNKNOWN-CTE] ")
    assert bytes(binary_section(raw, parse(raw), (1,))) == b"first part"
