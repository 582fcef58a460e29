"""DKIM sign/verify with the fake resolver: result codes for each failure mode."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from roost.dkim import DKIMKey, DKIMKeyStore, DKIMSignError, sign, verify
from roost.dkim.sign import signed_header_list
from roost.dns.fake import FakeResolver
from tests.checks.messages import message


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> DKIMKeyStore:
    keys = DKIMKeyStore(tmp_path_factory.mktemp("unit-dkim"))
    keys.generate("example.com", "rsa2048", selector="r1")
    keys.generate("example.com", "ed25519", selector="e1")
    return keys


@pytest.fixture(scope="module")
def published(store: DKIMKeyStore) -> FakeResolver:
    return FakeResolver(txt={name: ["".join(v)] for name, v in store.dns_records("example.com")})


@pytest.fixture(scope="module")
def signed(store: DKIMKeyStore) -> bytes:
    return sign(message(), "example.com", store.current("example.com"))


def test_signature_fields(signed: bytes, published: FakeResolver) -> None:
    results = verify(signed, published)
    assert [(r.result, r.domain, r.selector, r.algorithm) for r in results] == [
        ("pass", "example.com", "r1", "rsa-sha256"),
        ("pass", "example.com", "e1", "ed25519-sha256"),
    ]
    b_values = re.findall(rb"\bb=([A-Za-z0-9+/=\s]+)", signed)
    assert [r.header_b for r in results] == [re.sub(rb"\s", b"", b)[:8].decode() for b in b_values]
    assert signed.count(b"c=relaxed/relaxed") == 2


def test_signed_headers_oversign_present_fields() -> None:
    msg = message(extra_headers="Cc: carol@example.org\r\nX-Mailer: test\r\n")
    h = signed_header_list(msg)
    for name in ("from", "to", "cc", "subject", "date", "message-id", "mime-version"):
        assert h.count(name) == 2, name  # one instance present, one over-signed
    assert "x-mailer" not in h
    assert "reply-to" not in h  # absent fields are not listed


def test_unsigned_message_has_no_results(published: FakeResolver) -> None:
    assert verify(message(), published) == []


def test_key_missing_is_permerror(signed: bytes) -> None:
    assert [r.result for r in verify(signed, FakeResolver())] == ["permerror", "permerror"]


def test_key_lookup_failure_is_temperror(signed: bytes, published: FakeResolver) -> None:
    txt = {"e1._domainkey.example.com": [published.txt("e1._domainkey.example.com")[0]]}
    flaky = FakeResolver(txt=txt, fail=["r1._domainkey.example.com."])
    assert [r.result for r in verify(signed, flaky)] == ["temperror", "pass"]


def test_revoked_or_malformed_key_is_permerror(signed: bytes) -> None:
    broken = FakeResolver(
        txt={
            "r1._domainkey.example.com": ["v=DKIM1; k=rsa; p="],  # revoked (RFC 6376 §3.6.1)
            "e1._domainkey.example.com": ["v=DKIM1; k=ed25519; p=!!notbase64"],
        }
    )
    assert [r.result for r in verify(signed, broken)] == ["permerror", "permerror"]


def test_rsa_sha1_is_not_accepted(signed: bytes, published: FakeResolver) -> None:
    sha1 = signed.replace(b"a=rsa-sha256", b"a=rsa-sha1", 1)
    first = verify(sha1, published)[0]
    assert (first.result, first.algorithm) == ("permerror", "rsa-sha1")


def test_malformed_signature_is_neutral(published: FakeResolver) -> None:
    msg = b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com\r\n" + message()
    (result,) = verify(msg, published)
    assert (result.result, result.domain) == ("neutral", "example.com")


def test_sign_needs_from_and_keys(store: DKIMKeyStore, tmp_path: Path) -> None:
    with pytest.raises(DKIMSignError, match="without a From"):
        sign(b"Subject: x\r\n\r\nbody\r\n", "example.com", store.current("example.com"))
    with pytest.raises(DKIMSignError, match=r"no DKIM key for example\.com"):
        sign(message(), "example.com", [])
    other: DKIMKey = DKIMKeyStore(tmp_path).generate("example.net", "ed25519", "x")
    with pytest.raises(DKIMSignError, match=r"belongs to example\.net"):
        sign(message(), "example.com", [other])


def test_hostile_signature_values_do_not_crash(signed: bytes, published: FakeResolver) -> None:
    # A 3-byte Ed25519 signature: PyNaCl raises, dkimpy lets it through.
    pattern = rb"(a=ed25519-sha256;.*?\bb=)[^;]*?(\r\nFrom:)"
    short_ed25519 = re.sub(pattern, rb"\1AAAA\2", signed, flags=re.DOTALL)
    assert short_ed25519 != signed
    assert [r.result for r in verify(short_ed25519, published)] == ["pass", "neutral"]


def test_signatures_beyond_the_cap_are_not_verified(signed: bytes, published: FakeResolver) -> None:
    resigned = signed
    for _ in range(3):  # the same two signatures again: eight in all
        resigned = re.search(rb"(?s)^(DKIM-Signature:.*?)(?=From:)", signed).group(1) + resigned  # type: ignore[union-attr]
    assert resigned.count(b"DKIM-Signature:") == 8
    assert [r.result for r in verify(resigned, published, max_signatures=3)] == ["pass"] * 3


def test_signatures_after_the_deadline_are_temperror(
    signed: bytes, published: FakeResolver
) -> None:
    results = verify(signed, published, deadline=0.0)
    assert [(r.result, r.domain) for r in results] == [("temperror", "example.com")] * 2
    assert "budget" in results[0].reason
