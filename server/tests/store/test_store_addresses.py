"""Address canonicalisation: one canonical form per mailbox, and garbage refused."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.store.addresses import (
    normalize_address,
    normalize_alias,
    normalize_domain,
    normalize_remote,
    strip_plus,
)
from roost.store.errors import InvalidAddress

# RFC 5321 atext minus % and !, which Roost refuses as old routing syntax.
atom = st.text(alphabet=string.ascii_letters + string.digits + "#$&'*+/=?^_`{|}~-", min_size=1)
local_parts = st.lists(atom, min_size=1, max_size=3).map(".".join).filter(lambda s: len(s) <= 64)
labels = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?", fullmatch=True)
domains = st.lists(labels, min_size=1, max_size=3).map(".".join)


@given(local_parts, domains)
def test_canonical_form_is_idempotent_and_case_insensitive(local: str, domain: str) -> None:
    canonical = normalize_address(f"{local}@{domain}")
    assert normalize_address(canonical) == canonical
    assert normalize_address(f"{local.upper()}@{domain.upper()}") == canonical
    assert normalize_address(f"{local.lower()}@{domain.lower()}") == canonical
    assert canonical == canonical.lower()


@given(local_parts, domains)
def test_remote_form_keeps_the_local_part(local: str, domain: str) -> None:
    assert normalize_remote(f"{local}@{domain.upper()}") == f"{local}@{domain.lower()}"


@given(st.text(max_size=30))
def test_anything_either_normalises_or_raises_invalid_address(text: str) -> None:
    try:
        canonical = normalize_address(text)
    except InvalidAddress:
        return
    assert canonical.count("@") == 1
    assert normalize_address(canonical) == canonical


def test_idna_domains_are_stored_in_ascii() -> None:
    assert normalize_domain("bücher.test") == "xn--bcher-kva.test"
    assert normalize_domain("BÜCHER.test") == "xn--bcher-kva.test"
    assert normalize_domain("XN--BCHER-KVA.test") == "xn--bcher-kva.test"
    assert normalize_address("Kim@Bücher.Test") == "kim@xn--bcher-kva.test"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "alice",
        "alice@",
        "@example.test",
        "a@b@example.test",
        '"a@b"@example.test',
        "a b@example.test",
        "a..b@example.test",
        ".a@example.test",
        "a.@example.test",
        "a%b@example.test",
        "a!b@example.test",
        "alice@example.test.",
        "alice@[192.0.2.1]",
        "alice@exa_mple.test",
        "alice@-example.test",
        "x" * 65 + "@example.test",
        "alice@" + "a" * 64 + ".test",
    ],
)
def test_malformed_addresses_are_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(InvalidAddress, match=r"."):
        normalize_address(bad)


def test_plus_stripping() -> None:
    assert strip_plus("alice+lists@example.test") == "alice@example.test"
    assert strip_plus("alice+a+b@example.test") == "alice@example.test"
    assert strip_plus("alice@example.test") is None
    assert strip_plus("+tag@example.test") is None


def test_alias_keys_include_catch_all() -> None:
    assert normalize_alias("@Example.TEST") == "@example.test"
    assert normalize_alias("Sales@Example.TEST") == "sales@example.test"
    with pytest.raises(InvalidAddress):
        normalize_alias("@")
