"""DKIM verification (RFC 6376 §6) of every signature on a message, with dkimpy.

dkimpy answers one signature at a time with True/False or an exception, and folds
"no key in DNS", "malformed key" and "DNS timeout" into a plain False. Our
``dnsfunc`` therefore checks the key record itself and raises its own exceptions
(which dkimpy does not catch), so each signature gets the result RFC 8601 §2.7.1
asks for:

- pass: the signature verified;
- fail: the body hash or the signature did not match (RFC 6376 §6.1.3);
- neutral: the signature header could not be processed (tag syntax, missing or
  unknown tags: RFC 6376 §6.1.1);
- permerror: no usable key (missing, revoked, malformed, too small: RFC 6376
  §6.1.2, RFC 8301 §3.2) or a SHA-1 signature (RFC 8301 §3.1);
- temperror: the key look-up failed temporarily (RFC 6376 §6.1.2 step 2).
"""

from __future__ import annotations

import binascii
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import dkim
import dkim.crypto
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from dkim.util import InvalidTagValueList, parse_tag_value

from roost.dns.resolver import DNSNameError, DNSTemporaryError, Resolver

DKIMResultCode = Literal["pass", "fail", "neutral", "temperror", "permerror", "none"]


@dataclass(frozen=True)
class DKIMResult:
    """The outcome for one DKIM-Signature, with what Authentication-Results reports.

    ``header_b`` is the start of b= (RFC 6008 §4: enough to tell signatures apart).
    """

    result: DKIMResultCode
    domain: str
    selector: str
    algorithm: str
    header_b: str
    reason: str


@functools.lru_cache(maxsize=256)
def _openssl_public_key(modulus: int, exponent: int) -> rsa.RSAPublicKey:
    return rsa.RSAPublicNumbers(exponent, modulus).public_key()


def _rsassa_verify_with_openssl(digest: Any, signature: bytes, public_key: dict[str, int]) -> bool:
    """dkimpy's RSASSA-PKCS1-v1_5 check, done by OpenSSL.

    dkimpy converts between bytes and integers in Python loops and exponentiates in Python:
    about a sixth of an inbound message's check time. The answer is the same (a test compares
    the two on good and tampered signatures); a signature shorter than the modulus is padded,
    as dkimpy's integer arithmetic implicitly does.
    """
    modulus = public_key["modulus"]
    key = _openssl_public_key(modulus, public_key["publicExponent"])
    length = (modulus.bit_length() + 7) // 8
    if len(signature) > length:
        return False
    algorithm = {"sha256": hashes.SHA256(), "sha1": hashes.SHA1()}[digest.name]
    try:
        key.verify(
            signature.rjust(length, b"\0"),
            digest.digest(),
            padding.PKCS1v15(),
            utils.Prehashed(algorithm),
        )
    except InvalidSignature:
        return False
    return True


# dkimpy looks both up in its module namespace at call time. Key records repeat (one per
# sending domain and selector), so their pure-Python ASN.1 parse is done once per record.
dkim.RSASSA_PKCS1_v1_5_verify = _rsassa_verify_with_openssl
dkim.parse_public_key = functools.lru_cache(maxsize=256)(dkim.crypto.parse_public_key)


class _KeyTempError(Exception):
    """The key record could not be fetched now; raised through dkimpy on purpose."""


class _KeyPermError(Exception):
    """No usable key record; raised through dkimpy on purpose."""


def _key_lookup(resolver: Resolver) -> Callable[..., bytes]:
    """A dkimpy ``dnsfunc`` that fetches and checks the key record via ``resolver``."""

    def dnsfunc(name: bytes | str, timeout: float = 5) -> bytes:
        qname = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        try:
            records = resolver.txt(qname)
        except DNSTemporaryError as err:
            raise _KeyTempError(f"key look-up failed: {err}") from err
        except DNSNameError as err:
            raise _KeyPermError(f"invalid key name: {err}") from err
        if not records:
            raise _KeyPermError(f"no key at {qname}")
        # RFC 6376 §3.6.2.2: with several records a verifier may use the first.
        record = records[0]
        try:
            dkim.evaluate_pk(name, record)
        except (dkim.KeyFormatError, binascii.Error) as err:
            raise _KeyPermError(f"unusable key at {qname}: {err}") from err
        return record

    return dnsfunc


def _text(tags: dict[bytes, bytes], tag: bytes) -> str:
    return re.sub(r"\s+", "", tags.get(tag, b"").decode("ascii", "replace"))


def _verify_one(signer: dkim.DKIM, idx: int, raw: bytes, resolver: Resolver) -> DKIMResult:
    try:
        tags = parse_tag_value(raw)
    except InvalidTagValueList as err:
        return DKIMResult("neutral", "", "", "", "", f"bad signature syntax: {err}")
    fields = {
        "domain": _text(tags, b"d").lower(),
        "selector": _text(tags, b"s"),
        "algorithm": _text(tags, b"a").lower(),
        "header_b": _text(tags, b"b")[:8],
    }
    if fields["algorithm"] == "rsa-sha1":
        return DKIMResult("permerror", reason="rsa-sha1 not accepted (RFC 8301 §3.1)", **fields)
    try:
        ok = signer.verify(idx=idx, dnsfunc=_key_lookup(resolver))
    except _KeyTempError as err:
        return DKIMResult("temperror", reason=str(err), **fields)
    except _KeyPermError as err:
        return DKIMResult("permerror", reason=str(err), **fields)
    except dkim.KeyFormatError as err:  # e.g. an RSA key under 1024 bits
        return DKIMResult("permerror", reason=str(err), **fields)
    except dkim.ValidationError as err:
        if str(err).startswith("body hash mismatch"):
            return DKIMResult("fail", reason="body hash did not verify", **fields)
        return DKIMResult("neutral", reason=str(err), **fields)
    except dkim.DKIMException as err:
        return DKIMResult("neutral", reason=str(err), **fields)
    except Exception as err:  # dkimpy lets e.g. PyNaCl's errors escape on hostile input
        return DKIMResult("neutral", reason=f"unverifiable: {err!r}", **fields)
    if ok:
        return DKIMResult("pass", reason="", **fields)
    return DKIMResult("fail", reason="signature did not verify", **fields)


def verify(message: bytes, resolver: Resolver) -> list[DKIMResult]:
    """Verify every DKIM-Signature of ``message``, top first; [] when unsigned.

    RFC 6376 §6.1 lets a verifier stop at the first good signature, but DMARC
    (RFC 7489 §4.2) needs to know whether any *aligned* one passed, and
    Authentication-Results reports each (RFC 8601 §2.7.1), so all are checked.
    """
    try:
        signer = dkim.DKIM(message)
    except dkim.MessageFormatError as err:
        head = re.split(rb"\r?\n\r?\n", message, maxsplit=1)[0]
        if re.search(rb"(?im)^dkim-signature\s*:", head):
            return [DKIMResult("neutral", "", "", "", "", f"unparsable message: {err}")]
        return []
    signatures = [v for k, v in signer.headers if k.lower() == b"dkim-signature"]
    return [_verify_one(signer, i, raw, resolver) for i, raw in enumerate(signatures)]
