"""Hostile input at a live `roost serve`: a message built to stall the event loop, and From
fields built to slip past DMARC, each the input that once found the bug."""

from __future__ import annotations

import base64
import contextlib
import re
import smtplib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from roost.dkim import DKIMKeyStore, sign
from tests.knot import KnotServer
from tests.roostproc import RoostProcess, roost_dev
from tests.smtp.test_mx import SENDER_ZONES
from tests.smtp.test_submission import tls_client

PASSWORD = "hostile input password"
# 80,000 folded lines (5.8 MB) once held every port of the server for 22.7 s.
FOLDED = b"Subject: folded\r\n" + (b" " + b"x" * 70 + b"\r\n") * 80_000
STALL = 5.0  # seconds: far above any honest round trip, far below the stall this test found


@pytest.fixture(scope="module")
def roost(knot, knot_address: str) -> Iterator[RoostProcess]:
    for name, records in SENDER_ZONES.items():
        knot.set_zone(name, records)
    with roost_dev(nameserver=knot_address, extra_config="[limits]\nmax_recipients = 20\n") as proc:
        proc.add_user("alice@example.test", PASSWORD)
        proc.add_user("bob@example.test", PASSWORD)
        proc.add_user("用户@example.test", PASSWORD)
        proc.cli("domain", "add", "many.test")
        proc.cli("alias", "add", "postmaster@example.test", "alice@example.test")
        proc.cli("alias", "add", "@many.test", "bob@example.test")
        proc.start()
        yield proc
        assert proc.stop() == 0
        assert "Traceback" not in proc.log.read_text()


class ControlClient(threading.Thread):
    """A well-behaved client on the MX, sending NOOP after NOOP; remembers its slowest reply."""

    def __init__(self, roost: RoostProcess) -> None:
        super().__init__(daemon=True)
        self.roost = roost
        self.slowest = 0.0
        self.replies = 0
        self.done = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", self.roost.port("smtp"), timeout=60) as client:
                client.ehlo("control.test")
                while not self.done.is_set():
                    start = time.monotonic()
                    assert client.noop()[0] == 250
                    self.slowest = max(self.slowest, time.monotonic() - start)
                    self.replies += 1
                    time.sleep(0.02)
        except BaseException as exc:  # reported to the test thread
            self.error = exc


@contextlib.contextmanager
def served_throughout(roost: RoostProcess) -> Iterator[ControlClient]:
    """A control client for the duration; afterwards, it must never have waited a STALL."""
    client = ControlClient(roost)
    client.start()
    yield client
    client.done.set()
    client.join(timeout=70)
    assert client.error is None, client.error
    assert client.replies > 0
    assert client.slowest < STALL, f"the control client waited {client.slowest:.1f}s"


@pytest.fixture
def control(roost: RoostProcess) -> Iterator[ControlClient]:
    with served_throughout(roost) as client:
        yield client


def mx_send(roost: RoostProcess, sender: str, message: bytes) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", roost.port("smtp"), timeout=120) as client:
        client.ehlo("client.sender.test")
        client.mail(sender)
        client.rcpt("bob@example.test")
        return client.data(message)


def test_eighty_thousand_folded_lines_at_the_mx(
    roost: RoostProcess, control: ControlClient
) -> None:
    before = roost.mailbox_counts("bob@example.test")["INBOX"]
    message = b"From: news@sender.test\r\n" + FOLDED + b"\r\nbody\r\n"
    assert mx_send(roost, "news@sender.test", message)[0] == 250
    assert roost.mailbox_counts("bob@example.test")["INBOX"] == before + 1


def test_eighty_thousand_folded_lines_at_submission(
    roost: RoostProcess, control: ControlClient
) -> None:
    with smtplib.SMTP("127.0.0.1", roost.port("submission"), timeout=120) as client:
        client.starttls(context=tls_client())
        client.login("alice@example.test", PASSWORD)
        message = b"From: alice@example.test\r\n" + FOLDED + b"\r\nbody\r\n"
        client.sendmail("alice@example.test", ["bob@example.test"], message)


@pytest.mark.parametrize(
    "from_field",
    [
        '"Bank" <service@strict.test>,',  # read as nothing by DMARC, as the bank by submission
        "<service@strict.test> x",
        "service@strict.test, news@sender.test",  # two domains: whose policy?
        "Bank <service@strict.test>\r\nFrom: news@sender.test",  # two fields
    ],
)
def test_from_not_attributable_to_one_domain_is_refused_at_the_mx(
    roost: RoostProcess, from_field: str
) -> None:
    message = f"From: {from_field}\r\nSubject: pay now\r\n\r\nbody\r\n".encode()
    code, text = mx_send(roost, "news@sender.test", message)
    assert (code, text[:5]) == (550, b"5.7.1"), text


@pytest.mark.parametrize(
    ("from_field", "code"),
    [
        ('"Alice" <alice@example.test>,', 250),  # the same reading as the MX's
        ("<alice@example.test> x", 550),
        ("alice@example.test, bob@example.test", 553),  # bob's address is not alice's
    ],
)
def test_submission_reads_from_as_the_mx_does(
    roost: RoostProcess, from_field: str, code: int
) -> None:
    with smtplib.SMTP("127.0.0.1", roost.port("submission"), timeout=30) as client:
        client.starttls(context=tls_client())
        client.login("alice@example.test", PASSWORD)
        client.mail("alice@example.test")
        client.rcpt("bob@example.test")
        message = f"From: {from_field}\r\nSubject: s\r\n\r\nbody\r\n".encode()
        assert client.data(message)[0] == code


def read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_replies_after_data_survive_a_half_close(roost: RoostProcess) -> None:
    """Exim without TLS: the message, `.` and QUIT in one write, then shutdown(SHUT_WR)."""
    before = roost.mailbox_counts("bob@example.test")["INBOX"]
    with socket.create_connection(("127.0.0.1", roost.port("smtp")), timeout=30) as sock:
        sock.sendall(
            b"EHLO client.sender.test\r\nMAIL FROM:<news@sender.test>\r\n"
            b"RCPT TO:<bob@example.test>\r\nDATA\r\n"
        )
        time.sleep(0.5)  # the 354 comes before the body, as Exim waits for it
        sock.sendall(b"From: news@sender.test\r\nSubject: half\r\n\r\nhi\r\n.\r\nQUIT\r\n")
        sock.shutdown(socket.SHUT_WR)
        replies = read_all(sock)
    assert b"\r\n250 2.0.0 Ok: queued as " in replies and replies.endswith(b"221 2.0.0 Bye\r\n")
    assert roost.mailbox_counts("bob@example.test")["INBOX"] == before + 1


def test_recipients_beyond_the_limit_get_452_and_the_rest_is_delivered(
    roost: RoostProcess,
) -> None:
    """50 recipients, max_recipients = 20: Postfix and Exim send the other 30 later."""
    recipients = [f"r{n}@many.test" for n in range(50)]
    before = roost.mailbox_counts("bob@example.test")["INBOX"]
    with smtplib.SMTP("127.0.0.1", roost.port("smtp"), timeout=30) as client:
        client.ehlo("client.sender.test")
        message = b"From: news@sender.test\r\nSubject: fifty\r\n\r\nhi\r\n"
        refused = client.sendmail("news@sender.test", recipients, message)
        assert sorted(refused) == sorted(recipients[20:])
        assert {code for code, _ in refused.values()} == {452}
        assert client.noop()[0] == 250  # the session goes on
    assert roost.mailbox_counts("bob@example.test")["INBOX"] == before + 1


def test_utf8_recipient_after_smtputf8_on_mail(roost: RoostProcess) -> None:
    """RFC 6531 §3.4 puts SMTPUTF8 on MAIL only; Postfix and Exim bounced mail to a UTF-8
    user when RCPT wanted it too."""
    with socket.create_connection(("127.0.0.1", roost.port("smtp")), timeout=30) as sock:
        sock.sendall(
            "EHLO client.sender.test\r\nMAIL FROM:<news@sender.test> SMTPUTF8\r\n"
            "RCPT TO:<用户@example.test>\r\nDATA\r\n".encode()
        )
        time.sleep(0.5)
        sock.sendall(b"From: news@sender.test\r\nSubject: utf8\r\n\r\nhi\r\n.\r\nQUIT\r\n")
        sock.shutdown(socket.SHUT_WR)
        replies = read_all(sock)
    assert b"250 2.1.5" in replies and b"250 2.0.0 Ok: queued" in replies, replies
    assert b"with UTF8SMTP id " in roost.export("用户@example.test")  # RFC 6531 §4.3


@pytest.mark.parametrize(("parameter", "code"), [("AUTH=<>", b"250"), ("SIZE=\u00b2", b"501")])
def test_mail_parameters_from_the_wild(roost: RoostProcess, parameter: str, code: bytes) -> None:
    """AUTH= (RFC 4954 §5) from MTAs relaying authenticated mail; a Unicode digit in SIZE
    once ended the session with a traceback."""
    with socket.create_connection(("127.0.0.1", roost.port("smtp")), timeout=30) as sock:
        sock.sendall(f"EHLO x.test\r\nMAIL FROM:<a@sender.test> {parameter}\r\nQUIT\r\n".encode())
        sock.shutdown(socket.SHUT_WR)
        replies = read_all(sock).split(b"\r\n")
    assert replies[-3].startswith(code), replies


def test_postmaster_without_a_domain_reaches_the_primary_domains_postmaster(
    roost: RoostProcess,
) -> None:
    """RFC 5321 §4.5.1: `<Postmaster>` MUST be accepted (case-insensitively)."""
    before = roost.mailbox_counts("alice@example.test")["INBOX"]
    with smtplib.SMTP("127.0.0.1", roost.port("smtp"), timeout=30) as client:
        client.ehlo("client.sender.test")
        message = b"From: news@sender.test\r\nSubject: to the postmaster\r\n\r\nhi\r\n"
        assert client.sendmail("news@sender.test", ["<Postmaster>"], message) == {}
    assert roost.mailbox_counts("alice@example.test")["INBOX"] == before + 1


def last_stored(roost: RoostProcess, user: str) -> bytes:
    """The last message of the user's INBOX, from its mbox `From ` line on."""
    return b"From " + re.split(rb"(?m)^From ", roost.export(user))[-1]


def test_final_delivery_adds_return_path(roost: RoostProcess) -> None:
    """RFC 5321 §4.4 MUST; `mailbox export` once wrote `From MAILER-DAEMON` for everything."""
    message = b"From: news@sender.test\r\nSubject: return path\r\n\r\nhi\r\n"
    assert mx_send(roost, "news@sender.test", message)[0] == 250
    stored = last_stored(roost, "bob@example.test")
    assert stored.startswith(b"From news@sender.test ")
    assert b"\nReturn-Path: <news@sender.test>\n" in stored


def test_a_bare_cr_cannot_hide_a_forged_verdict(roost: RoostProcess) -> None:
    """Python's parser starts a field after a lone CR; strip_forged once did not."""
    forged = b"Authentication-Results: mail.example.test; dkim=pass header.d=bank.test"
    message = b"From: news@sender.test\r\nX-Cover: x\r" + forged + b"\r\nSubject: cr\r\n\r\nhi\r\n"
    assert mx_send(roost, "news@sender.test", message)[0] == 250
    stored = last_stored(roost, "bob@example.test")
    assert b"Subject: cr" in stored and b"header.d=bank.test" not in stored


def test_submission_strips_forged_verdicts_and_stops_loops(roost: RoostProcess) -> None:
    ours = "Received: from a ([127.0.0.1])\r\n\tby mail.example.test (Roost)\r\n\twith ESMTPSA"
    forged = "Authentication-Results: mail.example.test; dmarc=pass header.from=bank.test\r\n"
    with smtplib.SMTP("127.0.0.1", roost.port("submission"), timeout=30) as client:
        client.starttls(context=tls_client())
        client.login("alice@example.test", PASSWORD)
        for loops, code in [(1, 250), (6, 554)]:
            client.mail("alice@example.test")
            client.rcpt("bob@example.test")
            message = f"{(ours + ' id x; date' + chr(13) + chr(10)) * loops}{forged}"
            message += f"From: alice@example.test\r\nSubject: loop {loops}\r\n\r\nhi\r\n"
            assert client.data(message.encode())[0] == code
    stored = last_stored(roost, "bob@example.test")
    assert b"Subject: loop 1" in stored and b"header.from=bank.test" not in stored


def test_a_utf8_account_sends_as_itself(roost: RoostProcess) -> None:
    """A UTF-8 account was once told `<??????@example.test> is not owned` by the From check."""
    login = base64.b64encode(f"\0用户@example.test\0{PASSWORD}".encode()).decode()
    with smtplib.SMTP("127.0.0.1", roost.port("submission"), timeout=30) as client:
        client.starttls(context=tls_client())
        client.ehlo("client.test")
        assert client.docmd("AUTH", f"PLAIN {login}")[0] == 235
        assert client.mail("用户@example.test", ["SMTPUTF8"])[0] == 250
        assert client.rcpt("bob@example.test")[0] == 250
        message = "From: 用户@example.test\r\nSubject: utf8 sender\r\n\r\nhi\r\n".encode()
        assert client.data(message)[0] == 250
    assert "From: 用户@example.test".encode() in last_stored(roost, "bob@example.test")


def test_a_signed_body_of_long_space_runs_is_verified_quickly(
    roost: RoostProcess, knot: KnotServer, tmp_path: Path
) -> None:
    """Relaxed body canonicalisation was quadratic on runs of spaces that do not end a line:
    8 MB of them took minutes per signature; linear, the message is checked in seconds."""
    key = DKIMKeyStore(tmp_path).generate("sender.test", "rsa2048", "long")
    records = "".join(
        f"{name} TXT {' '.join(chr(34) + s + chr(34) for s in strings)}\n"
        for name, strings in DKIMKeyStore(tmp_path).dns_records("sender.test")
    )
    knot.set_zone("sender.test", SENDER_ZONES["sender.test"] + records)
    body = (b" " * 996 + b"x\r\n") * 8000 + b" \r\n"
    message = b"From: news@sender.test\r\nSubject: spaces\r\n\r\n" + body
    signed = sign(message, "sender.test", [key])
    start = time.monotonic()
    assert mx_send(roost, "news@sender.test", signed)[0] == 250
    assert time.monotonic() - start < 60
    stored = last_stored(roost, "bob@example.test")
    assert b"dkim=pass" in stored and b"header.s=long" in stored
