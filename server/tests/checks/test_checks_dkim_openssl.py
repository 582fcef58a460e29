"""Signing through OpenSSL must give exactly the signature dkimpy's own RSA would."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import dkim
import dkim.crypto
import pytest

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
