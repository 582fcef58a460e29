"""DKIM signing (RFC 6376) with dkimpy: one signature per key, RSA and Ed25519.

Signing with both RSA-SHA256 and Ed25519-SHA256 follows RFC 8463 §5: verifiers
that do not know Ed25519 ignore that signature and use the RSA one.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from roost.dkim.keys import DKIMKey

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


def _header_names(message: bytes) -> list[str]:
    """Lower-cased names of the message's header fields, in order."""
    head = message.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    names = []
    for line in head.splitlines():
        if line[:1] in (b" ", b"\t") or b":" not in line:
            continue  # continuation line of a folded field
        names.append(line.split(b":", 1)[0].strip().decode("ascii", "replace").lower())
    return names


def signed_header_list(message: bytes) -> list[str]:
    """The h= list: each present field we sign, once per instance, plus one more.

    The extra instance ("over-signing", RFC 6376 §8.15) makes a verifier fail the
    signature if anyone adds another From, Subject, ... after signing, which is how
    a forged second From would otherwise be shown to the reader.
    """
    present = _header_names(message)
    if "from" not in present:
        raise DKIMSignError("cannot DKIM-sign a message without a From header (RFC 6376 §5.4)")
    included = []
    for name in SIGNED_HEADERS:
        count = present.count(name)
        if count:
            included.extend([name] * (count + 1))
    return included


def _dkimpy_key(key: DKIMKey) -> tuple[bytes, bytes]:
    """(a= value, private key in the form dkimpy takes) for one key."""
    if key.algorithm == "ed25519":
        private = serialization.load_pem_private_key(key.private_key, password=None)
        if not isinstance(private, ed25519.Ed25519PrivateKey):
            raise DKIMSignError(f"{key.path} is not an Ed25519 key")
        return b"ed25519-sha256", base64.b64encode(private.private_bytes_raw())
    return b"rsa-sha256", key.private_key


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
