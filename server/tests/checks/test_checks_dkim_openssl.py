"""Signing and verifying through OpenSSL must give exactly what dkimpy's own RSA would."""

from __future__ import annotations

import hashlib
import importlib
import re
from pathlib import Path

import dkim
import dkim.crypto
import pytest
from cryptography.hazmat.primitives import serialization

from roost.dkim import DKIMKeyStore

sign_module = importlib.import_module("roost.dkim.sign")
MESSAGE = b"From: a@example.test\r\nTo: b@x.test\r\nSubject: hi\r\n\r\nbody\r\n"


def test_openssl_signature_is_byte_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = DKIMKeyStore(tmp_path / "keys").generate("example.test", "rsa2048")
    monkeypatch.setattr(dkim.time, "time", lambda: 1_795_000_000)  # the same t= both times
    ours = sign_module.sign(MESSAGE, "example.test", [key])
    assert dkim.RSASSA_PKCS1_v1_5_sign is sign_module._rsassa_sign_with_openssl
    monkeypatch.setattr(dkim, "RSASSA_PKCS1_v1_5_sign", dkim.crypto.RSASSA_PKCS1_v1_5_sign)
    pure = sign_module.sign(MESSAGE, "example.test", [key])
    assert re.search(rb"b=[A-Za-z0-9+/]{20}", ours)
    assert ours == pure


@pytest.mark.parametrize("tamper", ["none", "signature", "digest", "short"])
def test_openssl_verify_agrees_with_dkimpy(tmp_path: Path, tamper: str) -> None:
    """The verification primitive gives dkimpy's own answer for good and bad signatures."""
    verify_module = importlib.import_module("roost.dkim.verify")
    assert dkim.RSASSA_PKCS1_v1_5_verify is verify_module._rsassa_verify_with_openssl
    key = DKIMKeyStore(tmp_path / "keys").generate("example.test", "rsa2048")
    private = serialization.load_pem_private_key(key.private_key, password=None)
    numbers = private.public_key().public_numbers()  # type: ignore[union-attr]
    public = {"modulus": numbers.n, "publicExponent": numbers.e}
    private_numbers = dkim.crypto.parse_pem_private_key(key.private_key)
    # Find a message whose signature starts with a zero byte, so "short" can drop it.
    for n in range(4000):
        digest = hashlib.sha256(b"message %d" % n)
        signature = dkim.crypto.RSASSA_PKCS1_v1_5_sign(digest, private_numbers)
        if tamper != "short" or signature[0] == 0:
            break
    if tamper == "signature":
        signature = signature[:-1] + bytes([signature[-1] ^ 1])
    elif tamper == "digest":
        digest = hashlib.sha256(b"another message")
    elif tamper == "short":
        signature = signature[1:]
    expected = dkim.crypto.RSASSA_PKCS1_v1_5_verify(digest, signature, public)
    assert verify_module._rsassa_verify_with_openssl(digest, signature, public) is expected
    assert expected is (tamper in ("none", "short"))
