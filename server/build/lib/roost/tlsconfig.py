"""TLS for our listeners: server contexts, and the self-signed certificate of a dev setup."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class TLSError(Exception):
    pass


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """TLS 1.2+ only (RFC 8996 retired 1.0/1.1; RFC 8314 §4.1 for submission)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    for name, path in (("tls.cert", cert), ("tls.key", key)):
        if not path.is_file():
            raise TLSError(f"{name}: {path} does not exist; fix the path in the config")
    try:
        context.load_cert_chain(cert, key)
    except PermissionError:
        raise TLSError(f"cannot read {cert} or {key}: roost serve reads them as root") from None
    except ssl.SSLError as exc:
        raise TLSError(
            f"cannot load TLS certificate {cert} with key {key}: {exc.reason}; "
            "check that the key matches the certificate and both are PEM"
        ) from None
    return context


def write_self_signed(hostname: str, cert_path: Path, key_path: Path, days: int = 825) -> None:
    """A P-256 self-signed certificate for `hostname` and 127.0.0.1, for development only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(hostname), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
