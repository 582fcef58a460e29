"""IMAP limits from [limits]: login timeout, sessions per account, line length, literal size,
connections per IP; each refuses clearly and leaves the server serving everyone else."""

from __future__ import annotations

import imaplib
import socket
import time
from collections.abc import Iterator

import pytest

from tests.imap.conftest import ALICE, PASSWORD
from tests.imap.test_imap_session import command, raw_session, recv_until
from tests.roostproc import RoostProcess, roost_dev, tls_client

LIMITS = """[limits]
imap_login_timeout = 1
imap_connections_per_user = 2
imap_max_line = 1000
max_message_size = 5000
max_connections_per_ip = 6
"""


@pytest.fixture(scope="module")
def limited() -> Iterator[RoostProcess]:
    with roost_dev(extra_config=LIMITS) as proc:
        proc.add_user(ALICE, PASSWORD)
        proc.start()
        yield proc
        assert proc.stop() == 0


def login(roost: RoostProcess) -> imaplib.IMAP4_SSL:
    client = imaplib.IMAP4_SSL("127.0.0.1", roost.port("imaps"), ssl_context=tls_client())
    client.login(ALICE, PASSWORD)
    return client


def test_a_silent_client_is_logged_out_before_login(limited: RoostProcess) -> None:
    sock = raw_session(limited)
    sock.settimeout(30)  # a stall here is the bug; the limit is 1 s
    started = time.monotonic()
    assert b"* BYE" in recv_until(sock, b"\r\n")
    assert sock.recv(100) == b""
    assert time.monotonic() - started < 30
    sock.close()


def test_sessions_per_account_are_capped(limited: RoostProcess) -> None:
    first, second = login(limited), login(limited)
    third = imaplib.IMAP4_SSL("127.0.0.1", limited.port("imaps"), ssl_context=tls_client())
    with pytest.raises(imaplib.IMAP4.error, match=r"\[LIMIT\]"):
        third.login(ALICE, PASSWORD)
    second.logout()
    assert third.login(ALICE, PASSWORD)[0] == "OK"  # a slot came free
    for client in (first, third):
        client.logout()


def test_long_lines_and_big_literals_are_refused_and_the_session_goes_on(
    limited: RoostProcess,
) -> None:
    sock = raw_session(limited)
    try:
        command(sock, "a", f"LOGIN {ALICE} {{{len(PASSWORD)}+}}\r\n{PASSWORD}".encode())
        assert command(sock, "b", b"NOOP " + b"x" * 2000).startswith(b"b BAD Line too long")
        # A non-synchronising literal over the limit is read and thrown away, then refused.
        reply = command(sock, "c", b"APPEND INBOX {6000+}\r\n" + b"y" * 6000)
        assert reply.startswith(b"c NO [TOOBIG]")
        assert command(sock, "d", b"NOOP") == b"d OK NOOP completed\r\n"
    finally:
        sock.close()


def test_connections_per_ip_are_capped(limited: RoostProcess) -> None:
    socks = [socket.create_connection(("127.0.0.1", limited.port("imap")), 10) for _ in range(6)]
    try:
        for sock in socks:
            assert recv_until(sock, b"\r\n").startswith(b"* OK")
        extra = socket.create_connection(("127.0.0.1", limited.port("imap")), 10)
        assert recv_until(extra, b"\r\n").startswith(b"* BYE [UNAVAILABLE]")
        extra.close()
    finally:
        for sock in socks:
            sock.close()
