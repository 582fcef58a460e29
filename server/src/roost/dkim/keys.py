"""DKIM signing keys: generation, storage, and the DNS records that publish them.

Layout under ``key_dir`` (directories 0700, private keys 0600)::

    example.com/r202611.pem    RSA-2048, PKCS#1 PEM (the form dkimpy signs with)
    example.com/r202611.json   {"algorithm": "rsa2048", "created": "2026-11-23T11:40:00+00:00"}
    example.com/e202611.pem    Ed25519, PKCS#8 PEM
    example.com/e202611.json

    example.com/rotation.state each selector's phase (roost.dkim.state)

Selectors are never reused: a new key gets a new selector beside the old ones, so
rotation (roost.dkim.rotation) publishes the new record, signs with it once every
server serves it, and retires the old selector later (RFC 6376 §3.1 leaves selector
naming to us; the default is the algorithm's letter and the month, e.g. ``r202611``;
rotation names them by the day, ``r20261130``).
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from roost.dkim.state import SelectorState, effective, read_state, state_stamp

Algorithm = Literal["rsa2048", "ed25519"]
ALGORITHMS: tuple[Algorithm, ...] = get_args(Algorithm)

# RFC 6376 §3.1: selector = sub-domain *( "." sub-domain ), RFC 5321 sub-domain labels.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
#: Longest character-string in a TXT record (RFC 1035 §3.3.14).
TXT_STRING_MAX = 255


class DKIMKeyError(Exception):
    """A key cannot be created or read; the message names the key and the fix."""


@dataclass(frozen=True)
class DKIMKey:
    """One DKIM key pair; ``private_key`` is PEM and is kept out of ``repr``."""

    domain: str
    selector: str
    algorithm: Algorithm
    path: Path
    created: datetime
    private_key: bytes = field(repr=False)

    def public_key(self) -> bytes:
        """The p= value's bytes before base64 (RFC 6376 §3.6.1, RFC 8463 §4.2)."""
        key = serialization.load_pem_private_key(self.private_key, password=None)
        if isinstance(key, ed25519.Ed25519PrivateKey):
            # RFC 8463 §4.2: the raw 32-byte public key, not SubjectPublicKeyInfo.
            return key.public_key().public_bytes_raw()
        return key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def dns_name(self) -> str:
        """Owner name of the key record (RFC 6376 §3.6.2.1)."""
        return f"{self.selector}._domainkey.{self.domain}."

    def dns_value(self) -> str:
        """The key record's TXT value (RFC 6376 §3.6.1; k=ed25519 per RFC 8463 §4.2)."""
        k = "ed25519" if self.algorithm == "ed25519" else "rsa"
        return f"v=DKIM1; k={k}; p={base64.b64encode(self.public_key()).decode()}"


def split_txt(value: str) -> list[str]:
    """Split a TXT value into character-strings of at most 255 bytes.

    A verifier joins them back without separators (RFC 6376 §3.6.2.2). The values
    here are ASCII, so splitting by bytes never cuts a character.
    """
    data = value.encode("ascii")
    return [
        data[i : i + TXT_STRING_MAX].decode("ascii") for i in range(0, len(data), TXT_STRING_MAX)
    ]


def _check_name(kind: str, name: str) -> str:
    name = name.lower().rstrip(".")
    if not _DOMAIN_RE.match(name) or len(name) > 253:
        raise DKIMKeyError(f"invalid DKIM {kind} {name!r}: expected dot-separated DNS labels")
    return name


def _private_key_pem(algorithm: Algorithm) -> bytes:
    if algorithm == "rsa2048":
        # RFC 8301 §3.2: signers MUST use at least 1024 bits and SHOULD use 2048.
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        # dkimpy reads RSA keys as PKCS#1 ("BEGIN RSA PRIVATE KEY") only.
        return rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    return ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DKIMKeyStore:
    """The DKIM keys of every hosted domain, as files under ``key_dir``."""

    def __init__(self, key_dir: Path) -> None:
        self.key_dir = Path(key_dir)
        self._cache: dict[str, tuple[object, tuple[DKIMKey, ...], dict[str, SelectorState]]] = {}

    def generate(
        self,
        domain: str,
        algorithm: Algorithm,
        selector: str | None = None,
        created: datetime | None = None,
    ) -> DKIMKey:
        """Create and store a new key; never overwrites an existing selector."""
        if algorithm not in ALGORITHMS:
            raise DKIMKeyError(f"unknown DKIM algorithm {algorithm!r}: use one of {ALGORITHMS}")
        domain = _check_name("domain", domain)
        created = (created or datetime.now(UTC)).replace(microsecond=0)
        if selector is None:
            selector = f"{algorithm[0]}{created:%Y%m}"
        selector = _check_name("selector", selector)
        domain_dir = self.ensure_domain_dir(domain)
        pem_path = domain_dir / f"{selector}.pem"
        pem = _private_key_pem(algorithm)
        try:
            fd = os.open(pem_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise DKIMKeyError(
                f"DKIM selector {selector!r} already exists for {domain} ({pem_path}); "
                "choose another selector, a published selector must never change its key"
            ) from None
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        meta_tmp = domain_dir / f".{selector}.json.tmp"
        meta_tmp.write_text(json.dumps({"algorithm": algorithm, "created": created.isoformat()}))
        meta_tmp.replace(domain_dir / f"{selector}.json")
        _fsync_dir(domain_dir)
        return DKIMKey(domain, selector, algorithm, pem_path, created, pem)

    def domain_dir(self, domain: str) -> Path:
        return self.key_dir / _check_name("domain", domain)

    def ensure_domain_dir(self, domain: str) -> Path:
        """The domain's key directory, made private (0700) if missing."""
        domain_dir = self.domain_dir(domain)
        _private_dir(self.key_dir)
        _private_dir(domain_dir)
        return domain_dir

    def keys(self, domain: str) -> list[DKIMKey]:
        """Every stored key of ``domain``, oldest first."""
        return list(self._load(domain)[0])

    def states(self, domain: str) -> dict[str, SelectorState]:
        """Every selector's phase, removed ones included (roost.dkim.state)."""
        return dict(self._load(domain)[1])

    def _load(self, domain: str) -> tuple[tuple[DKIMKey, ...], dict[str, SelectorState]]:
        """Keys and phases, read again only when something changed.

        Key files are written once and never changed (new ones are renamed into place) and
        the state file is replaced as a whole, so the list of names and the state file's
        inode tell whether anything changed: a directory listing and a stat per message
        signed instead of reading and parsing every key.
        """
        domain = _check_name("domain", domain)
        domain_dir = self.key_dir / domain
        try:
            stamp = (tuple(sorted(os.listdir(domain_dir))), state_stamp(domain_dir))
        except FileNotFoundError:
            return (), {}
        cached = self._cache.get(domain)
        if cached is not None and cached[0] == stamp:
            return cached[1], cached[2]
        found = tuple(self._read(domain, domain_dir))
        states = effective(
            ((k.selector, k.algorithm, k.created) for k in found), read_state(domain_dir)
        )
        self._cache[domain] = (stamp, found, states)
        return found, states

    def remove(self, domain: str, selector: str) -> None:
        """Delete a retired key's files: its record is gone, nothing may sign with it."""
        domain_dir = self.domain_dir(domain)
        for suffix in (".pem", ".json"):
            (domain_dir / f"{selector}{suffix}").unlink(missing_ok=True)
        _fsync_dir(domain_dir)

    def _read(self, domain: str, domain_dir: Path) -> list[DKIMKey]:
        found = []
        for meta_path in domain_dir.glob("*.json"):
            pem_path = meta_path.with_suffix(".pem")
            try:
                meta = json.loads(meta_path.read_text())
                found.append(
                    DKIMKey(
                        domain=domain,
                        selector=meta_path.stem,
                        algorithm=meta["algorithm"],
                        path=pem_path,
                        created=datetime.fromisoformat(meta["created"]),
                        private_key=pem_path.read_bytes(),
                    )
                )
            except (OSError, ValueError, KeyError) as err:
                raise DKIMKeyError(f"unreadable DKIM key {pem_path}: {err}") from err
        return sorted(found, key=lambda k: (k.created, k.selector))

    def current(self, domain: str) -> list[DKIMKey]:
        """The newest active key of each algorithm: the ones to sign with now.

        Pending keys never sign: their record may not be served yet everywhere.
        """
        keys, states = self._load(domain)
        newest: dict[str, DKIMKey] = {}
        for key in keys:  # oldest first, so later ones win
            if states[key.selector].phase == "active":
                newest[key.algorithm] = key
        return [newest[a] for a in ALGORITHMS if a in newest]

    def dns_records(self, domain: str) -> list[tuple[str, list[str]]]:
        """(owner name, TXT character-strings) for every stored key of ``domain``.

        Old selectors stay published until their key is removed, so mail signed
        just before a rotation still verifies.
        """
        return [(k.dns_name(), split_txt(k.dns_value())) for k in self.keys(domain)]
