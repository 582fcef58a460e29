"""DKIM signing (RFC 6376) with dkimpy: one signature per key, RSA and Ed25519.

Signing with both RSA-SHA256 and Ed25519-SHA256 follows RFC 8463 §5: verifiers
that do not know Ed25519 ignore that signature and use the RSA one.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Sequence
from typing import Any

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, utils

from roost.dkim.keys import DKIMKey
from roost.rawheaders import fields

#: Header fields we sign when present (RFC 6376 §5.4.1 recommends these: the ones
#: that carry what the reader sees and how the body is interpreted).
SIGNED_HEADERS = (
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
)


class DKIMSignError(Exception):
    """The message or a key cannot be signed; the message says which and why."""


def signed_header_list(message: bytes) -> list[str]:
    """The h= list: each present field we sign, once per instance, plus one more.

    The extra instance ("over-signing", RFC 6376 §8.15) makes a verifier fail the
    signature if anyone adds another From, Subject, ... after signing, which is how
    a forged second From would otherwise be shown to the reader.
    """
    present = [name.decode("ascii", "replace") for name, _ in fields(message)]
    if "from" not in present:
        raise DKIMSignError("cannot DKIM-sign a message without a From header (RFC 6376 §5.4)")
    included = []
    for name in SIGNED_HEADERS:
        count = present.count(name)
        if count:
            included.extend([name] * (count + 1))
    return included


@functools.lru_cache(maxsize=64)
def _dkimpy_key(key: DKIMKey) -> tuple[bytes, bytes]:
    """(a= value, private key in the form dkimpy takes) for one key."""
    if key.algorithm == "ed25519":
        private = serialization.load_pem_private_key(key.private_key, password=None)
        if not isinstance(private, ed25519.Ed25519PrivateKey):
            raise DKIMSignError(f"{key.path} is not an Ed25519 key")
        return b"ed25519-sha256", base64.b64encode(private.private_bytes_raw())
    return b"rsa-sha256", key.private_key


@functools.lru_cache(maxsize=64)
def _openssl_rsa(numbers: tuple[int, ...]) -> rsa.RSAPrivateKey:
    n, e, d, p, q, dmp1, dmq1, iqmp = numbers
    public = rsa.RSAPublicNumbers(e, n)
    return rsa.RSAPrivateNumbers(p, q, d, dmp1, dmq1, iqmp, public).private_key()


def _rsassa_sign_with_openssl(digest: Any, private_key: dict[str, int]) -> bytes:
    """dkimpy's RSASSA-PKCS1-v1_5 signing primitive, done by OpenSSL.

    dkimpy computes RSA in pure Python: 6-7 ms per 2048-bit signature while holding the
    GIL, most of a relay's CPU (bench/relay). OpenSSL makes the same signature (PKCS #1
    v1.5 is deterministic, so byte for byte) in about 0.3 ms. dkimpy still does all the
    DKIM work: canonicalization, hashing, the header.
    """
    key = _openssl_rsa(
        tuple(
            private_key[name]
            for name in (
                "modulus", "publicExponent", "privateExponent", "prime1", "prime2",
                "exponent1", "exponent2", "coefficient",
            )
        )
    )  # fmt: skip
    algorithm = {"sha256": hashes.SHA256(), "sha1": hashes.SHA1()}[digest.name]
    return key.sign(digest.digest(), padding.PKCS1v15(), utils.Prehashed(algorithm))


# dkim.DKIM.gen_header looks the primitive up in its module namespace at call time.
dkim.RSASSA_PKCS1_v1_5_sign = _rsassa_sign_with_openssl


def sign(message: bytes, domain: str, keys: Sequence[DKIMKey]) -> bytes:
    """Return ``message`` with one DKIM-Signature per key prepended.

    Canonicalization is relaxed/relaxed (RFC 6376 §3.4.2, §3.4.4), which survives
    the re-folding and whitespace changes relays commonly make. d= is ``domain``;
    each key must belong to it (RFC 6376 §3.5, the key is published under d=).
    """
    if not keys:
        raise DKIMSignError(f"no DKIM key for {domain}: run `roost dkim keygen {domain}`")
    include = [h.encode() for h in signed_header_list(message)]
    signatures = []
    for key in keys:
        if key.domain != domain.lower().rstrip("."):
            raise DKIMSignError(f"DKIM key {key.selector} belongs to {key.domain}, not {domain}")
        algorithm, private = _dkimpy_key(key)
        try:
            signatures.append(
                dkim.DKIM(message).sign(
                    key.selector.encode(),
                    key.domain.encode(),
                    private,
                    signature_algorithm=algorithm,
                    canonicalize=(b"relaxed", b"relaxed"),
                    include_headers=include,
                )
            )
        except dkim.DKIMException as err:
            raise DKIMSignError(f"DKIM signing with {key.selector} failed: {err}") from err
    return b"".join(signatures) + message
