"""The reverse DNS check the dns role runs (`roost dns ptr`), against a real Knot: what it
tells the user to ask the VPS provider, and that a failed look-up is not "no PTR"."""

from __future__ import annotations

import pytest

from roost.dns.resolver import DNSResolver
from roost.dnsprovider.ptr import check_ptr
from tests.knot import KnotServer

HOST = "mail.ptr.test"


@pytest.fixture(scope="module")
def resolver(knot: KnotServer) -> DNSResolver:
    knot.set_zone("ptr.test", "mail A 127.0.9.7\nother A 127.0.9.8")
    knot.set_zone("9.0.127.in-addr.arpa", f"7 PTR {HOST}.\n8 PTR {HOST}.\n6 PTR other.ptr.test.")
    return DNSResolver([knot.nameserver], timeout=5)


def test_a_forward_confirmed_ptr(resolver: DNSResolver) -> None:
    result = check_ptr("127.0.9.7", HOST + ".", resolver)
    assert result.ok and result.names == (HOST,)
    assert result.message == f"127.0.9.7 has PTR {HOST}, confirmed"


@pytest.mark.parametrize(
    ("address", "now"),
    [
        ("127.0.9.6", "it is now other.ptr.test"),
        ("127.0.9.9", "it has none now"),
        ("127.0.9.8", f"it is now {HOST}"),  # the right name, which does not resolve back
        ("10.0.0.1", "it could not be looked up: "),  # no server answers for it
    ],
)
def test_what_to_ask_the_vps_provider(resolver: DNSResolver, address: str, now: str) -> None:
    result = check_ptr(address, HOST, resolver)
    assert not result.ok and not result.forward
    ask = f"Ask your VPS provider to set the reverse DNS (PTR record) of {address} to {HOST} ("
    assert result.message.startswith(ask + now), result.message
    assert f"{HOST} must also resolve to {address}; the dns role publishes that." in result.message
    assert (result.error is not None) == address.startswith("10.")


def test_only_the_ptr_to_ask_for_when_the_name_resolves_back(resolver: DNSResolver) -> None:
    result = check_ptr("127.0.9.8", "other.ptr.test", resolver)
    assert not result.ok and result.forward
    assert f"(it is now {HOST})" in result.message
    assert "must also resolve" not in result.message
