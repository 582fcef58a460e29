"""A DKIM-signed test message of a given size, and the DNS records that make it authentic.

The benchmark sends the same bytes to every server, so each receiver does the work real
inbound mail costs: Roost verifies a real RSA-2048 DKIM signature (RFC 6376) against a key in
DNS, checks SPF for the envelope sender (RFC 7208) and aligns both for DMARC (RFC 7489).
"""

from __future__ import annotations

import base64
import random
import textwrap
from dataclasses import dataclass
from email.utils import formatdate

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SELECTOR = "bench"
WORDS = (
    "mail",
    "server",
    "queue",
    "inbound",
    "message",
    "header",
    "body",
    "delivery",
    "store",
    "index",
    "folder",
    "sender",
    "recipient",
    "domain",
    "record",
    "policy",
    "signature",
    "key",
)


@dataclass(frozen=True)
class SignedMessage:
    data: bytes  # CRLF line endings, as sent on the wire (before dot-stuffing)
    zone: str  # records for the sender domain's zone, zone-file syntax, relative names


def _txt(value: str) -> str:
    """A TXT rdata split into quoted strings of at most 255 bytes (RFC 1035 §3.3)."""
    return " ".join(f'"{value[i : i + 255]}"' for i in range(0, len(value), 255))


def _body(size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    words: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    lines = textwrap.wrap(" ".join(words), width=72)
    return "".join(line + "\r\n" for line in lines).encode()


def build(sender: str, recipient: str, size: int, helo: str) -> SignedMessage:
    """About `size` bytes in all (headers, signature and body) from `sender`, DKIM-signed.

    The zone authorises 127.0.0.1 by SPF for the sender domain and for `helo`, publishes the
    DKIM key and a DMARC record with p=none, so every check passes and none is short-cut.
    """
    domain = sender.partition("@")[2]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    headers = (
        f"From: Bench Sender <{sender}>\r\n"
        f"To: <{recipient}>\r\n"
        "Subject: Roost SMTP ingest benchmark\r\n"
        f"Date: {formatdate(localtime=False)}\r\n"
        f"Message-ID: <bench-ingest@{domain}>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
    ).encode()

    def sign(body_size: int) -> tuple[bytes, bytes]:
        unsigned = headers + b"\r\n" + _body(max(body_size, 0), seed=size)
        signature = dkim.sign(
            unsigned,
            SELECTOR.encode(),
            domain.encode(),
            private_pem,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
        )
        return signature, unsigned

    # Twice: the first pass shows how long the signature and the wrapped body come out.
    signature, unsigned = sign(size - len(headers))
    signature, unsigned = sign(2 * size - len(headers) - len(signature + unsigned))
    helo_host = helo.removesuffix("." + domain) if helo.endswith("." + domain) else None
    records = [
        '@ TXT "v=spf1 ip4:127.0.0.1 -all"',
        '_dmarc TXT "v=DMARC1; p=none"',
        f"{SELECTOR}._domainkey TXT "
        + _txt("v=DKIM1; k=rsa; p=" + base64.b64encode(public_der).decode()),
    ]
    if helo_host:
        records += [f"{helo_host} A 127.0.0.1", f'{helo_host} TXT "v=spf1 ip4:127.0.0.1 -all"']
    return SignedMessage(data=signature + unsigned, zone="\n".join(records))


def as_lines_file(message: bytes) -> bytes:
    """The form `smtp-source -F` reads: LF line ends (it sends CRLF after each line)."""
    return message.replace(b"\r\n", b"\n")


def plain(sender: str, recipient: str, size: int, message_id: str) -> bytes:
    """An unsigned text message of about `size` bytes (CRLF), as a mail client submits it."""
    headers = (
        f"From: Bench Sender <{sender}>\r\n"
        f"To: <{recipient}>\r\n"
        "Subject: Roost relay benchmark\r\n"
        f"Date: {formatdate(localtime=False)}\r\n"
        f"Message-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
    ).encode()
    return headers + b"\r\n" + _body(max(size - len(headers) - 2, 0), seed=size)
