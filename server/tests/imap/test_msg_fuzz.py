"""Arbitrary and hostile messages: parsing, FETCH values, sections and SEARCH never raise
anything but the typed IMAP errors, stay consistent with each other, and cost work linear
in the message size (counted as Python line events, not timed)."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roost.imap import bodystructure
from roost.imap.errors import UnknownCTEError
from roost.imap.mime import Kept, Part, Structure, parse, text_parts
from roost.imap.msgview import LoadedMessage
from roost.imap.search import Bounds, parse_search
from roost.imap.sections import Section, binary_section, body_section

FRAGMENTS = [
    b"\r\n",
    b"\n",
    b"Content-Type: multipart/mixed; boundary=b\r\n",
    b'Content-Type: multipart/digest; boundary="b"\r\n',
    b"Content-Type: message/rfc822\r\n",
    b"Content-Type: text/plain; charset=utf-8; name*0=a; name*1*=%41\r\n",
    b"Content-Type: multipart/alternative; boundary=c\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"Content-Transfer-Encoding: x-weird\r\n",
    b'Content-Disposition: attachment; filename="a\\"b"\r\n',
    b"Content-Language: en, (c) fr\r\n",
    b'From: "A (b)" <a@b>, g: c@d, <@r:e@f>;\r\n',
    b"To: =?utf-8?q?=C3=A9?= <x@y>, (((\r\n",
    b"Subject: =?utf-8?b?w6k=?= =?x?q?_?=\r\n",
    b"Date: Tue, 1 Jul 2003 10:52:37 +0200\r\n",
    b" folded\r\n",
    b"--b\r\n",
    b"--b--\r\n",
    b"--c\r\n",
    b"--c--\r\n",
    b"aGVsbG8=\r\n",
    b"=C3=A9=\r\n",
    b"\xff\xfe 8bit \xe9\r\n",
    b"no colon here\r\n",
    b'"unterminated (comment\r\n',
]
messages = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=12)), max_size=40).map(
    b"".join
)


def _paths(part: Part, prefix: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], Part]]:
    """Every part with its section path, as `sections.locate` numbers them."""
    container = part.message if part.is_message and part.message and prefix else part
    if container.is_multipart:
        for number, child in enumerate(container.parts, 1):
            yield (*prefix, number), child
            yield from _paths(child, (*prefix, number))
    elif not prefix:
        yield (1,), part


def _values_ok(value: object) -> bool:
    if isinstance(value, tuple):
        return all(_values_ok(v) for v in value)
    return value is None or isinstance(value, bytes | int)


def _exercise(raw: bytes) -> Structure:
    structure = parse(raw)
    kept = Kept.load(structure.to_bytes())
    assert kept.structure() == structure
    assert kept.text_parts == text_parts(structure.root)
    full = bodystructure.body(structure, extensible=True)
    assert _values_ok(full) and _values_ok(bodystructure.envelope(structure))
    assert _values_ok(bodystructure.body(structure, extensible=False))
    for spec in ("", "HEADER", "TEXT", "HEADER.FIELDS (From To)", "HEADER.FIELDS.NOT (To)"):
        body_section(raw, structure, Section.parse(spec))
    for path, part in _paths(structure.root):
        assert 0 <= part.start <= part.body <= part.end <= len(raw)
        data = body_section(raw, structure, Section(path))
        assert len(data) == part.size  # what BODYSTRUCTURE says is what BODY[n] sends
        body_section(raw, structure, Section(path, "MIME"))
        with contextlib.suppress(UnknownCTEError):
            binary_section(raw, structure, path)
    return structure


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(messages)
def test_any_message_parses_and_serves_consistently(raw):
    _exercise(raw)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_parse(raw):
    _exercise(raw)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(messages, st.sampled_from([b"a", b"\xc3\xa9", b"hello", b"8bit"]))
def test_search_reads_any_message(raw, needle):
    view = LoadedMessage(1, 1, raw, datetime(2026, 1, 1, tzinfo=UTC), ("\\Seen",))
    for args in (
        ["TEXT", needle],
        ["BODY", needle],
        ["OR", "SUBJECT", needle, "FROM", needle],
        ["SENTSINCE", "1-Jan-2000", "HEADER", "Content-Type", b""],
    ):
        program = parse_search(args)
        assert program.matcher(Bounds(1, 1))(view) in (True, False)


def _work(function: Callable[[], object]) -> int:
    """Python line events while `function` runs: a deterministic measure of work."""
    count = 0

    def tracer(frame, event, arg):  # type: ignore[no-untyped-def]
        nonlocal count
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        function()
    finally:
        sys.settrace(None)
    return count


def _search_text(raw: bytes) -> None:
    view = LoadedMessage(1, 1, raw, datetime(2026, 1, 1, tzinfo=UTC))
    parse_search(["TEXT", b"needle"]).matcher(Bounds(1, 1))(view)


HOSTILE: dict[str, Callable[[int], bytes]] = {
    "many parts": lambda n: (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"--b\r\nX: y\r\n\r\nz\r\n" * n
    ),
    "deep multiparts": lambda n: b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(n)
    ),
    "deep messages": lambda n: b"Content-Type: message/rfc822\r\n\r\n" * n + b"x",
    "long folded header": lambda n: b"Subject: a\r\n" + b" =?utf-8?q?b?=\r\n" * n + b"\r\nx",
    "many addresses": lambda n: b"To: " + b"a <b@c>, g:d@e;, " * n + b"\r\n\r\nx",
    "many fields": lambda n: b"X-A: y\r\n" * n + b"\r\n",
    "near-boundaries": lambda n: (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"--bx\r\n--b \r\n-" * n
    ),
    "open comments": lambda n: b"To: " + b"(" * n + b"\r\n\r\n",
    "bare LF lines": lambda n: b"Subject: s\n\n" + b"line\n" * n,
}


def test_hostile_messages_cost_linear_work():
    for name, build in HOSTILE.items():
        small, large = build(500), build(2000)
        costs = []
        for raw in (small, large):
            costs.append(_work(lambda raw=raw: (_exercise(raw), _search_text(raw))))
        ratio = costs[1] / costs[0]
        # Four times the input: linear work grows ~4x, quadratic 16x.
        assert ratio < 6, f"{name}: work grew {ratio:.1f}x for 4x the input ({costs})"


def test_megabyte_hostile_messages_do_not_stall():
    """Quadratic copying in C (string joins, slices) escapes the line count above; at a
    megabyte it would take minutes, linear work takes about a second."""
    for name, build in HOSTILE.items():
        n = 1
        while len(build(n)) < 1_000_000:
            n *= 2
        raw = build(n)
        started = time.process_time()
        _exercise(raw)
        _search_text(raw)
        spent = time.process_time() - started
        assert spent < 30, f"{name}: {spent:.0f} s of CPU for {len(raw)} bytes"
