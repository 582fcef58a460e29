"""IMAP limits from [limits]: login timeout, sessions per account, line length, literal size,
connections per IP, FETCH batch; each refuses clearly (or, the batch, answers the same) and
leaves the server serving everyone else."""

from __future__ import annotations

import imaplib
import socket
import time
from collections.abc import Iterator

import pytest

from tests.imap.conftest import ALICE, PASSWORD, fresh_mailbox
from tests.imap.test_imap_session import command, raw_session, recv_until
from tests.roostproc import RoostProcess, roost_dev, tls_client

LIMITS = """[limits]
imap_login_timeout = 1
imap_connections_per_user = 2
imap_max_line = 1000
max_message_size = 5000
max_connections_per_ip = 6
imap_fetch_batch = 3
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


def test_a_fetch_in_many_batches_answers_every_message_once_in_order(
    limited: RoostProcess,
) -> None:
    """Batches of 3, one read ahead while the one before goes out: a listing (parsed the
    first time, from what was kept the second), a flags FETCH and a FETCH that sets \\Seen
    (no read-ahead) answer each of 10 messages once, in sequence order."""
    client = login(limited)
    try:
        fresh_mailbox(client, "Batches", 10)
        client.select("Batches")
        listing = "(BODY.PEEK[HEADER.FIELDS (Subject)] BODYSTRUCTURE)"
        first = client.fetch("1:*", listing)[1]
        subjects = [entry[1] for entry in first if isinstance(entry, tuple)]
        assert subjects == [b"Subject: Batches-%d\r\n\r\n" % n for n in range(10)]
        assert [entry[0].split()[0] for entry in first if isinstance(entry, tuple)] == [
            b"%d" % n for n in range(1, 11)
        ]
        assert client.fetch("1:*", listing)[1] == first
        flags = client.uid("FETCH", "1:*", "(FLAGS)")[1]
        assert len(flags) == 10 and all(b"FLAGS ()" in line for line in flags)
        texts = client.fetch("2:9", "(BODY[TEXT])")[1]
        assert [entry[0].split()[0] for entry in texts if isinstance(entry, tuple)] == [
            b"%d" % n for n in range(2, 10)
        ]
        seen = client.search(None, "SEEN")[1]
        assert seen == [b"2 3 4 5 6 7 8 9"]
    finally:
        client.logout()
