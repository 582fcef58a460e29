"""roost.dkim.canonical must give exactly dkimpy's relaxed canonicalization."""

from __future__ import annotations

import importlib
import re

import dkim.canonicalization
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
