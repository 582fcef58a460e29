"""Make the peer's DKIM key: the private key for OpenDKIM and the TXT record for its zone.

Usage: python -m roostlab.dkimkey KEYFILE TXTFILE
"""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def make(keyfile: Path, txtfile: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    value = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
    # RFC 1035 character-strings are at most 255 octets; zone files split them.
    chunks = [value[i : i + 250] for i in range(0, len(value), 250)]
    txtfile.write_text(" ".join(f'"{c}"' for c in chunks) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    make(Path(sys.argv[1]), Path(sys.argv[2]))
