"""The installed certificate: read back for the renewal decision, replaced atomically.

``fullchain.pem`` (leaf first, then the chain, as nginx and ``ssl.load_cert_chain`` want it)
and ``privkey.pem`` are 0640 root:<tls_group>, so Roost and nginx read them while only root
writes. Each file is replaced by rename after fsync; the key goes first, so a crash between
the two renames leaves a key that does not match the old certificate, which the next run
sees (``CurrentCert.problem``) and fixes by issuing again.
"""

from __future__ import annotations

import datetime as dt
import grp
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from roost.acme.errors import SettingsError
from roost.durable import fsync_dir, write_durably

TLS_MODE = 0o640


@dataclass(frozen=True)
class CurrentCert:
    """What is installed now: the leaf's names and validity, or why it cannot be used."""

    names: frozenset[str] = frozenset()
    not_before: dt.datetime | None = None
    not_after: dt.datetime | None = None
    pem: bytes = b""
    problem: str | None = None

    @property
    def usable(self) -> bool:
        return self.problem is None


def read_current(fullchain: Path, privkey: Path) -> CurrentCert:
    """The installed pair; a missing, unreadable or mismatched one comes back with a problem."""
    try:
        chain_pem = fullchain.read_bytes()
        key_pem = privkey.read_bytes()
    except FileNotFoundError as exc:
        return CurrentCert(problem=f"{exc.filename} does not exist")
    except OSError as exc:
        return CurrentCert(problem=f"{exc.filename} cannot be read ({exc.strerror})")
    try:
        leaf = x509.load_pem_x509_certificates(chain_pem)[0]
    except ValueError:
        return CurrentCert(problem=f"{fullchain} holds no readable PEM certificate")
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        return CurrentCert(problem=f"{privkey} holds no readable unencrypted PEM key")
    if key.public_key().public_bytes(*_SPKI) != leaf.public_key().public_bytes(*_SPKI):
        return CurrentCert(problem=f"{privkey} does not match the certificate in {fullchain}")
    return CurrentCert(
        names=frozenset(san_names(leaf)),
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
        pem=chain_pem,
    )


_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def san_names(cert: x509.Certificate) -> list[str]:
    """DNS names of the subjectAltName (RFC 5280 §4.2.1.6), the ones TLS clients check."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [n.lower() for n in san.value.get_values_for_type(x509.DNSName)]


def tls_gid(group: str) -> int:
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise SettingsError(
            f'group "{group}" (tls_group) does not exist, so Roost could not read the key',
            fix="run the roost role first (it creates the group), or set tls_group",
        ) from None


def install(fullchain: Path, privkey: Path, chain_pem: bytes, key_pem: bytes, gid: int) -> None:
    """Replace the pair durably: key first, then the chain (see the module doc)."""
    fullchain.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    fsync_dir(fullchain.parent.parent)
    write_durably(privkey, key_pem, mode=TLS_MODE, gid=gid)
    write_durably(fullchain, chain_pem, mode=TLS_MODE, gid=gid)
