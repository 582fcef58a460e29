"""Connection caps against a live `roost serve`: a cap for the whole server, the per-IP count
taken before the TLS handshake on 465 and 993, and a client that never reads its replies timed
out.
Each test connects from its own address of 127/8 (the cap is per client)."""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
import time
from collections.abc import Iterator

import pytest

from roost.smtp.limits import client_key
from tests.roostproc import RoostProcess, roost_dev
from tests.smtp.test_submission import tls_client

PER_IP = 5
TOTAL = 12


@pytest.fixture(scope="module")
def roost() -> Iterator[RoostProcess]:
    limits = (
        f"[limits]\nmax_connections_per_ip = {PER_IP}\nmax_connections = {TOTAL}\n"
        "command_timeout = 3\nimap_idle_timeout = 3\n"
    )
    with roost_dev(extra_config=limits) as proc:
        proc.start()
        yield proc
        assert proc.stop() == 0


def connect(roost: RoostProcess, kind: str, source: str) -> socket.socket:
    sock = socket.create_connection(
        ("127.0.0.1", roost.port(kind)), timeout=30, source_address=(source, 0)
    )
    return sock


@contextlib.contextmanager
def idle_connections(roost: RoostProcess, kind: str, sources: list[str]) -> Iterator[None]:
    socks = [connect(roost, kind, source) for source in sources]
    try:
        time.sleep(0.5)  # the server has counted them
        yield
    finally:
        for sock in socks:
            sock.close()
        time.sleep(0.5)  # and has seen them go


def greeting(roost: RoostProcess, source: str) -> bytes:
    with connect(roost, "smtp", source) as sock:
        return sock.recv(200)


def test_the_server_wide_cap_keeps_descriptors_for_others(roost: RoostProcess) -> None:
    """55 IPs x 20 idle connections once used up 1024 descriptors; here 3 x 4 fill 12."""
    hosts = [f"127.0.6.{n}" for n in range(1, 4) for _ in range(4)]
    with idle_connections(roost, "smtp", hosts):
        assert greeting(roost, "127.0.6.9").startswith(b"421 4.7.0")
    assert greeting(roost, "127.0.6.9").startswith(b"220 ")


def test_465_counts_a_connection_before_its_handshake(roost: RoostProcess) -> None:
    """Connections that never start TLS once escaped the per-IP count on 465."""
    with idle_connections(roost, "submissions", ["127.0.7.1"] * PER_IP):
        with pytest.raises((ssl.SSLError, smtplib.SMTPServerDisconnected, ConnectionError)):
            smtplib.SMTP_SSL(
                "127.0.0.1",
                roost.port("submissions"),
                timeout=30,
                context=tls_client(),
                source_address=("127.0.7.1", 0),
            )
        other = smtplib.SMTP_SSL(
            "127.0.0.1",
            roost.port("submissions"),
            timeout=30,
            context=tls_client(),
            source_address=("127.0.7.2", 0),
        )
        assert other.noop()[0] == 250
        other.close()


def test_993_counts_a_connection_before_its_handshake(roost: RoostProcess) -> None:
    """IMAP over implicit TLS shares the per-IP count with SMTP, taken before the handshake."""
    with idle_connections(roost, "imaps", ["127.0.7.3"] * PER_IP):
        with (
            pytest.raises((ssl.SSLError, ConnectionError)),
            tls_client().wrap_socket(connect(roost, "imaps", "127.0.7.3")) as refused,
        ):
            refused.recv(100)
        with tls_client().wrap_socket(connect(roost, "imaps", "127.0.7.4")) as other:
            assert other.recv(100).startswith(b"* OK ")


def test_imap_connections_closed_by_the_client_are_released(roost: RoostProcess) -> None:
    """A client that hangs up without LOGOUT gives its place back."""
    for _ in range(PER_IP * 2):
        with connect(roost, "imap", "127.0.7.5") as sock:
            assert sock.recv(100).startswith(b"* OK ")
    time.sleep(0.5)  # the server has seen them go
    with connect(roost, "imap", "127.0.7.5") as sock:
        assert sock.recv(100).startswith(b"* OK ")


def test_an_unfinished_handshake_is_timed_out(roost: RoostProcess) -> None:
    with connect(roost, "submissions", "127.0.8.1") as sock:
        start = time.monotonic()
        assert sock.recv(100) == b""  # closed by the server, nothing sent in clear text
        assert time.monotonic() - start < 25


@pytest.mark.parametrize(
    ("kind", "source", "command", "greets"),
    [
        ("smtp", "127.0.9.1", b"EHLO client.test\r\n", b"220 "),
        ("imap", "127.0.9.2", b"a CAPABILITY\r\n", b"* OK "),
    ],
)
def test_a_client_that_never_reads_is_timed_out(
    roost: RoostProcess, kind: str, source: str, command: bytes, greets: bytes
) -> None:
    """Pipelined commands, replies never read: the session once waited for ever."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", roost.port(kind)))
    sock.settimeout(1.0)
    with sock:
        with contextlib.suppress(TimeoutError):  # until the server stops taking commands
            for _ in range(100_000):
                sock.sendall(command * 100)
        deadline = time.monotonic() + 30
        while f"{source}: it does not read" not in roost.log.read_text():
            assert time.monotonic() < deadline, "the session waits for a client that never reads"
            time.sleep(0.2)
    with connect(roost, kind, source) as again:
        assert again.recv(100).startswith(greets)


def test_ipv6_clients_count_per_64() -> None:
    assert (
        client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    )
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("192.0.2.1") == "192.0.2.1"


@pytest.mark.parametrize(("kind", "source"), [("submissions", "127.0.7.6"), ("imaps", "127.0.7.7")])
def test_a_connection_closed_before_its_handshake_is_released(
    roost: RoostProcess, kind: str, source: str
) -> None:
    """Connected and gone before TLS (a port scanner, `roost check`'s port probe): each once
    kept its place for good, and after max_connections_per_ip of them every connection from
    that address was refused."""
    for _ in range(PER_IP * 2):
        connect(roost, kind, source).close()
    time.sleep(0.5)  # the server has seen them go
    assert greeting(roost, source).startswith(b"220 ")
