"""The resolver: dnspython against Knot, and the fake resolver's semantics."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from roost.dns import MX, DNSNameError, DNSResolver, DNSTemporaryError, reverse_name
from roost.dns.fake import FakeResolver
from roost.dns.resolver import parse_nameserver
from tests.knot import KnotServer


@pytest.mark.parametrize(
    ("spec", "host", "port"),
    [
        ("127.0.0.1", "127.0.0.1", 53),
        ("127.0.0.1:5353", "127.0.0.1", 5353),
        ("::1", "::1", 53),
        ("[::1]:5353", "::1", 5353),
    ],
)
def test_parse_nameserver(spec: str, host: str, port: int) -> None:
    ns = parse_nameserver(spec)
    assert (ns.address, ns.port) == (host, port)


@pytest.mark.parametrize("spec", ["example.com", "127.0.0.1:0", "127.0.0.1:x", "[::1", "1.2.3"])
def test_parse_nameserver_rejects(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_nameserver(spec)


def test_reverse_name() -> None:
    assert reverse_name("192.0.2.1") == "1.2.0.192.in-addr.arpa."
    assert reverse_name("2001:db8::1").endswith(".8.b.d.0.1.0.0.2.ip6.arpa.")


@pytest.fixture(scope="module")
def dns_knot() -> Iterator[KnotServer]:
    zones = {
        "example.com": """\
@ MX 20 mx2
@ MX 10 mx1
mx1 A 192.0.2.1
mx1 AAAA 2001:db8::1
alias CNAME mx1
split TXT "v=spf1 " "-all"
""",
        "2.0.192.in-addr.arpa": "1 PTR mx1.example.com.\n",
    }
    with KnotServer(zones) as server:
        yield server


def test_dnspython_resolver_against_knot(dns_knot: KnotServer) -> None:
    r = DNSResolver([dns_knot.nameserver], timeout=2)
    assert r.mx("example.com") == [MX(10, "mx1.example.com"), MX(20, "mx2.example.com")]
    assert r.a("alias.example.com.") == ["192.0.2.1"]
    assert r.aaaa("mx1.example.com") == ["2001:db8::1"]
    assert r.txt("split.example.com") == [b"v=spf1 -all"]  # strings joined (RFC 7208 §3.3)
    assert r.ptr(reverse_name("192.0.2.1")) == ["mx1.example.com"]
    assert r.txt("nxdomain.example.com") == []  # NXDOMAIN
    assert r.txt("mx1.example.com") == []  # NODATA
    with pytest.raises(DNSTemporaryError):
        r.txt("not-served.example")  # Knot answers REFUSED
    with pytest.raises(DNSNameError):
        r.txt("x" * 64 + ".example.com")


def test_dnspython_resolver_is_shared_by_threads(dns_knot: KnotServer) -> None:
    r = DNSResolver([dns_knot.nameserver], timeout=2)
    results: list[list[str]] = []
    threads = [
        threading.Thread(target=lambda: results.append(r.a("mx1.example.com"))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [["192.0.2.1"]] * 8


def test_fake_resolver() -> None:
    fake = FakeResolver(
        txt={"Example.COM": ["v=spf1 -all", b"raw"]},
        mx={"example.com.": [(20, "b.example.com."), (10, "a.example.com")]},
        cname={
            "www.example.com": "example.com.",
            "loop1.example.com": "loop2.example.com",
            "loop2.example.com": "loop1.example.com",
        },
        fail=["TXT broken.example.com", "down.example.com."],
    )
    assert fake.txt("example.com.") == [b"v=spf1 -all", b"raw"]
    assert fake.txt("WWW.example.com") == [b"v=spf1 -all", b"raw"]
    assert fake.mx("example.com") == [MX(10, "a.example.com"), MX(20, "b.example.com")]
    assert fake.a("example.com") == []
    assert fake.a("broken.example.com") == []
    with pytest.raises(DNSTemporaryError):
        fake.txt("broken.example.com")
    with pytest.raises(DNSTemporaryError):
        fake.a("down.example.com")
    with pytest.raises(DNSTemporaryError):  # as a recursive resolver's SERVFAIL
        fake.a("loop1.example.com")
    with pytest.raises(DNSNameError):
        fake.txt("a..example.com")
    assert ("TXT", "www.example.com.") in fake.queries
