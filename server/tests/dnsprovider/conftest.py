"""A real Knot with a TSIG key allowed to update and transfer, for the rfc2136 provider."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from tests.knot import KnotServer

ZONE = "example.org"
# Fixed: pytest imports this conftest apart from the tests that import it by name.
SECRET = base64.b64encode(b"roost test key, loopback only!!!").decode()
#: What a user made by hand before Roost came: never to be touched.
HAND_MADE = '@ TXT "google-site-verification=abc"\nwww A 192.0.2.80\n_dmarc TXT "unrelated"'


@pytest.fixture
def tsig_knot() -> Iterator[KnotServer]:
    with KnotServer({ZONE: HAND_MADE}, tsig=("roost-test", "hmac-sha256", SECRET)) as server:
        yield server


def options(knot: KnotServer, **extra: object) -> dict[str, object]:
    """``roost_dns_credentials`` for the rfc2136 provider at KNOT."""
    base = {"server": knot.address, "port": knot.port, "tsig_name": "roost-test",
            "tsig_secret": SECRET, "timeout": 3}  # fmt: skip
    return base | extra
