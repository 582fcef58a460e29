"""Fixtures for the mail-check tests: DKIM keys and a Knot DNS server publishing them.

The test zones (all served by one knotd on loopback):

- example.com: SPF allows 192.0.2.1 (``-all``); DMARC p=reject, sp=quarantine,
  relaxed alignment; DKIM keys (RSA and Ed25519) published. softfail.example.com
  ends in ``~all``; nospf.example.com has no SPF; mail.example.com is a HELO name.
- example.net: DMARC p=quarantine. example.org: DMARC p=none.
- strict.example: DMARC p=reject with adkim=s and aspf=s; its bounce subdomain
  has SPF for 192.0.2.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from roost.dkim import DKIMKey, DKIMKeyStore
from roost.dns import DNSResolver
from tests.knot import KnotNotInstalledError, KnotServer, txt

GOOD_IP = "192.0.2.1"
BAD_IP = "192.0.2.99"


def dkim_zone_lines(store: DKIMKeyStore, domain: str) -> str:
    return "".join(f"{name} TXT {txt(strings)}\n" for name, strings in store.dns_records(domain))


@pytest.fixture(scope="session")
def keystore(tmp_path_factory: pytest.TempPathFactory) -> DKIMKeyStore:
    store = DKIMKeyStore(tmp_path_factory.mktemp("dkim") / "keys")
    for domain in ("example.com", "strict.example", "example.org"):
        store.generate(domain, "rsa2048")
        store.generate(domain, "ed25519")
    return store


def zones(store: DKIMKeyStore) -> dict[str, str]:
    spf = f"v=spf1 ip4:{GOOD_IP} -all"
    return {
        "example.com": f"""\
@ TXT "{spf}"
_dmarc TXT "v=DMARC1; p=reject; sp=quarantine; rua=mailto:dmarc@example.com"
bounces TXT "{spf}"
softfail TXT "v=spf1 ip4:{GOOD_IP} ~all"
mail A {GOOD_IP}
mail TXT "v=spf1 a -all"
nospf A {GOOD_IP}
"""
        + dkim_zone_lines(store, "example.com"),
        "example.net": f'@ TXT "{spf}"\n_dmarc TXT "v=DMARC1; p=quarantine"\n',
        "example.org": f'@ TXT "{spf}"\n_dmarc TXT "v=DMARC1; p=none"\n'
        + dkim_zone_lines(store, "example.org"),
        "strict.example": f"""\
@ TXT "{spf}"
bounce TXT "{spf}"
_dmarc TXT "v=DMARC1; p=reject; adkim=s; aspf=s"
"""
        + dkim_zone_lines(store, "strict.example"),
    }


@pytest.fixture(scope="session")
def knot(keystore: DKIMKeyStore) -> Iterator[KnotServer]:
    try:
        with KnotServer(zones(keystore)) as server:
            yield server
    except KnotNotInstalledError as err:
        pytest.fail(str(err), pytrace=False)


@pytest.fixture(scope="session")
def resolver(knot: KnotServer) -> DNSResolver:
    return DNSResolver([knot.nameserver], timeout=3)


@pytest.fixture(scope="session")
def example_keys(keystore: DKIMKeyStore) -> list[DKIMKey]:
    return keystore.current("example.com")


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    return tmp_path / "dkim"
