"""roost.dkim.canonical must give exactly dkimpy's relaxed canonicalization."""

from __future__ import annotations

import importlib
import re

import dkim
import dkim.canonicalization
import pytest
from hypothesis import given
from hypothesis import strategies as st

canonical = importlib.import_module("roost.dkim.canonical")

# Text made mostly of the characters that matter: spaces, tabs, line ends and letters.
TEXT = st.lists(st.sampled_from([b" ", b"\t", b"\r\n", b"a", b"b", b"\r", b"\n", b"  "])).map(
    b"".join
)


def dkimpy_compress(content: bytes) -> bytes:
    return re.sub(b"[\t ]+", b" ", content)


def dkimpy_strip_trailing(content: bytes) -> bytes:
    return re.sub(b"[\t ]+\r\n", b"\r\n", content)


def dkimpy_parse(message: bytes) -> tuple[list[list[bytes]], bytes]:
    """dkimpy 1.1's rfc822_parse, as the reference."""
    headers: list[list[bytes]] = []
    lines = re.split(b"\r?\n", message)
    i = 0
    while i < len(lines):
        if len(lines[i]) == 0:
            i += 1
            break
        if lines[i][0] in ("\x09", "\x20", 0x09, 0x20):
            headers[-1][1] += lines[i] + b"\r\n"
        else:
            m = re.match(rb"([\x21-\x7e]+?):", lines[i])
            if m is not None:
                headers.append([m.group(1), lines[i][m.end(0) :] + b"\r\n"])
            elif lines[i].startswith(b"From "):
                pass
            else:
                raise dkim.MessageFormatError(f"Unexpected characters: {lines[i]!r}")
        i += 1
    return (headers, b"\r\n".join(lines[i:]))


@given(TEXT)
def test_compress_whitespace_is_dkimpys(content: bytes) -> None:
    assert canonical.compress_whitespace(content) == dkimpy_compress(content)


@given(TEXT)
def test_strip_trailing_whitespace_is_dkimpys(content: bytes) -> None:
    assert canonical.strip_trailing_whitespace(content) == dkimpy_strip_trailing(content)


def test_dkimpy_uses_them() -> None:
    assert dkim.canonicalization.compress_whitespace is canonical.compress_whitespace
    relaxed = dkim.canonicalization.Relaxed.canonicalize_body(b"a \t b  \r\nc\t\r\n\r\n")
    assert relaxed == b"a b\r\nc\r\n"


MESSAGES = st.lists(
    st.sampled_from(
        [b"A: 1", b"b:2", b" folded", b"\tmore", b"From x", b"", b"body", b"  ", b"x:"]
    ),
    max_size=12,
).flatmap(lambda lines: st.sampled_from([b"\r\n", b"\n"]).map(lambda end: end.join(lines)))


@given(MESSAGES)
def test_rfc822_parse_is_dkimpys(message: bytes) -> None:
    try:
        expected = dkimpy_parse(message)
    except dkim.MessageFormatError:
        with pytest.raises(dkim.MessageFormatError):
            canonical.rfc822_parse(message)
        return
    except IndexError:  # dkimpy's crash on a leading continuation line: ours is an error
        with pytest.raises(dkim.MessageFormatError):
            canonical.rfc822_parse(message)
        return
    assert canonical.rfc822_parse(message) == expected


def test_hostile_shapes_stay_linear() -> None:
    """Inputs that took seconds to minutes in dkimpy's versions; a quadratic regression
    shows as minutes again (no timing assertion: the suite's time is the bound)."""
    spaces = (b" " * 996 + b"x\r\n") * 2000 + b" \r\n"
    assert canonical.strip_trailing_whitespace(spaces) == spaces[:-3] + b"\r\n"
    folded = b"Subject: s\r\n" + b" x\r\n" * 80_000 + b"\r\nbody\r\n"
    headers, body = canonical.rfc822_parse(folded)
    assert headers == [[b"Subject", b" s\r\n" + b" x\r\n" * 80_000]] and body == b"body\r\n"
