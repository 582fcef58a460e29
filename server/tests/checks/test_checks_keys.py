"""DKIM key store: files, permissions, selectors, rotation, DNS records."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from roost.dkim import DKIMKeyError, DKIMKeyStore, split_txt


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_generate_writes_private_files(key_dir: Path) -> None:
    store = DKIMKeyStore(key_dir)
    key = store.generate("Example.COM.", "rsa2048")
    assert key.domain == "example.com"
    assert key.path == key_dir / "example.com" / f"{key.selector}.pem"
    assert mode(key.path) == 0o600
    assert mode(key_dir) == 0o700
    assert mode(key_dir / "example.com") == 0o700
    assert key.path.read_bytes() == key.private_key
    assert b"PRIVATE KEY" not in repr(key).encode()


def test_default_selectors_are_dated_and_distinct_per_algorithm(key_dir: Path) -> None:
    store = DKIMKeyStore(key_dir)
    rsa_key = store.generate("example.com", "rsa2048")
    ed_key = store.generate("example.com", "ed25519")
    month = rsa_key.created.strftime("%Y%m")
    assert (rsa_key.selector, ed_key.selector) == (f"r{month}", f"e{month}")


def test_existing_selector_is_never_overwritten(key_dir: Path) -> None:
    store = DKIMKeyStore(key_dir)
    first = store.generate("example.com", "ed25519", selector="s1")
    with pytest.raises(DKIMKeyError, match="already exists"):
        store.generate("example.com", "rsa2048", selector="s1")
    assert first.path.read_bytes() == first.private_key
    assert [k.algorithm for k in store.keys("example.com")] == ["ed25519"]


@pytest.mark.parametrize("selector", ["", "bad selector", "-x", "a..b", "x" * 64, "ü"])
def test_invalid_selector_is_refused(key_dir: Path, selector: str) -> None:
    with pytest.raises(DKIMKeyError, match="invalid DKIM selector"):
        DKIMKeyStore(key_dir).generate("example.com", "ed25519", selector=selector)


def test_unknown_algorithm_is_refused(key_dir: Path) -> None:
    with pytest.raises(DKIMKeyError, match="unknown DKIM algorithm"):
        DKIMKeyStore(key_dir).generate("example.com", "dsa", selector="x")  # type: ignore[arg-type]


def test_current_is_newest_per_algorithm(key_dir: Path) -> None:
    store = DKIMKeyStore(key_dir)
    store.generate("example.com", "rsa2048", selector="r1")
    store.generate("example.com", "ed25519", selector="e1")
    store.generate("example.com", "rsa2048", selector="r2")
    # Same second: ties break on the selector, so "r2" is newest.
    assert [k.selector for k in store.current("example.com")] == ["r2", "e1"]
    assert {k.selector for k in store.keys("example.com")} == {"r1", "r2", "e1"}
    assert store.current("other.example") == []


def test_dns_records(key_dir: Path) -> None:
    store = DKIMKeyStore(key_dir)
    rsa_key = store.generate("example.com", "rsa2048", selector="r1")
    ed_key = store.generate("example.com", "ed25519", selector="e1")
    records = dict(store.dns_records("example.com"))
    assert set(records) == {"r1._domainkey.example.com.", "e1._domainkey.example.com."}

    rsa_strings = records["r1._domainkey.example.com."]
    assert all(len(s.encode()) <= 255 for s in rsa_strings)
    assert len(rsa_strings) == 2  # a 2048-bit key needs two strings
    rsa_value = "".join(rsa_strings)
    assert rsa_value.startswith("v=DKIM1; k=rsa; p=")
    public = load_der_public_key(base64.b64decode(rsa_value.split("p=")[1]))
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
    assert rsa_key.dns_value() == rsa_value

    (ed_value,) = records["e1._domainkey.example.com."]
    assert ed_value.startswith("v=DKIM1; k=ed25519; p=")
    assert len(base64.b64decode(ed_value.split("p=")[1])) == 32  # RFC 8463 §4.2: raw key
    assert ed_key.dns_value() == ed_value


@pytest.mark.parametrize("length", [0, 1, 254, 255, 256, 510, 511, 1000])
def test_split_txt(length: int) -> None:
    value = "".join(chr(ord("a") + i % 26) for i in range(length))
    parts = split_txt(value)
    assert "".join(parts) == value
    assert all(0 < len(p) <= 255 for p in parts)
    assert len(parts) == -(-length // 255)


def test_unreadable_key_is_a_clear_error(key_dir: Path) -> None:
    store = DKIMKeyStore(key_dir)
    key = store.generate("example.com", "ed25519", selector="e1")
    key.path.with_suffix(".json").write_text("{not json")
    with pytest.raises(DKIMKeyError, match=r"unreadable DKIM key .*e1\.pem"):
        store.keys("example.com")
