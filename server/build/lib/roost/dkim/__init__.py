"""DKIM (RFC 6376, Ed25519 per RFC 8463): keys, signing, verification."""

# Imported for its effect: faster relaxed canonicalization in dkimpy, for signing and verifying.
import roost.dkim.canonical  # noqa: F401
from roost.dkim.keys import ALGORITHMS, Algorithm, DKIMKey, DKIMKeyError, DKIMKeyStore, split_txt
from roost.dkim.sign import DKIMSignError, sign
from roost.dkim.verify import DKIMResult, verify

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "DKIMKey",
    "DKIMKeyError",
    "DKIMKeyStore",
    "DKIMResult",
    "DKIMSignError",
    "sign",
    "split_txt",
    "verify",
]
