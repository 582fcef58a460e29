"""Message bytes in flight are bounded server-wide, against a live `roost serve`: while one
client holds most of the budget in an unfinished DATA, another's message gets a 452 (try
later) and its session goes on; once the first is answered the second gets through."""

from __future__ import annotations

import smtplib
import socket
import time
from collections.abc import Iterator

import pytest

from tests.roostproc import RoostProcess, roost_dev

LINE = b"x" * 998 + b"\r\n"


@pytest.fixture
def roost() -> Iterator[RoostProcess]:
    limits = "[limits]\nmax_bytes_in_flight = 1000000\nmax_message_size = 2000000\n"
    with roost_dev(extra_config=limits) as proc:
        proc.add_user("bob@example.test", "budget password")
        proc.start()
        yield proc
        assert proc.stop() == 0


def test_a_message_over_the_budget_in_flight_waits(roost: RoostProcess) -> None:
    big = b"From: a@client.test\r\nSubject: big\r\n\r\n" + LINE * 900
    second = b"From: a@client.test\r\nSubject: second\r\n\r\n" + LINE * 300
    with socket.create_connection(("127.0.0.1", roost.port("smtp")), timeout=30) as holder:
        holder.sendall(
            b"EHLO a.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<bob@example.test>\r\n"
        )
        holder.sendall(b"DATA\r\n")
        time.sleep(0.5)
        holder.sendall(big)  # no end of data yet: 900 kB held
        time.sleep(1.0)
        with smtplib.SMTP("127.0.0.1", roost.port("smtp"), timeout=30) as client:
            client.ehlo("b.test")
            client.mail("a@client.test")
            client.rcpt("bob@example.test")
            assert client.data(second)[:2] == (
                452,
                b"4.3.1 Insufficient system storage, try again later",
            )
            assert client.noop()[0] == 250
            holder.sendall(b".\r\nQUIT\r\n")
            holder.shutdown(socket.SHUT_WR)
            replies = b""
            while chunk := holder.recv(65536):
                replies += chunk
            assert b"\r\n250 2.0.0 Ok: queued as " in replies
            client.mail("a@client.test")
            client.rcpt("bob@example.test")
            assert client.data(second)[0] == 250
    assert roost.mailbox_counts("bob@example.test")["INBOX"] == 2
