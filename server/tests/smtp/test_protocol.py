"""The SMTP conversation itself (roost.smtp.protocol), over raw sockets against `roost serve`:
what RFC 5321, 3207, 4954 and 2920 ask, and the attacks they warn about."""

from __future__ import annotations

import base64
import socket
import ssl
from collections.abc import Iterator

import pytest

from tests.roostproc import RoostProcess, roost_dev

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def roost(knot_address: str) -> Iterator[RoostProcess]:
    with roost_dev(nameserver=knot_address) as proc:
        proc.add_user("bob@example.test", PASSWORD)
        proc.start()
        yield proc
        assert proc.stop() == 0


class Conversation:
    """One raw SMTP connection; reply() returns a whole (possibly multi-line) reply."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.reader = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> bytes:
        lines = [self.reader.readline()]
        while lines[-1][3:4] == b"-":
            lines.append(self.reader.readline())
        return b"".join(lines)

    def starttls(self) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self.sock = context.wrap_socket(self.sock)
        self.reader = self.sock.makefile("rb")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def mx(roost: RoostProcess) -> Iterator[Conversation]:
    conversation = Conversation(roost.port("smtp"))
    assert conversation.reply().startswith(b"220 ")
    yield conversation
    conversation.close()


@pytest.fixture
def submission(roost: RoostProcess) -> Iterator[Conversation]:
    conversation = Conversation(roost.port("submission"))
    assert conversation.reply().startswith(b"220 ")
    conversation.send(b"EHLO client.test\r\nSTARTTLS\r\n")
    assert conversation.reply().startswith(b"250-")
    assert conversation.reply().startswith(b"220 ")
    conversation.starttls()
    conversation.send(b"EHLO client.test\r\n")
    assert b"AUTH PLAIN LOGIN" in conversation.reply()
    yield conversation
    conversation.close()


def test_commands_pipelined_after_starttls_are_discarded(roost: RoostProcess) -> None:
    """RFC 3207 §6: a NOOP sent in clear text behind STARTTLS (a man in the middle could
    have put it there) must not be answered inside TLS."""
    conversation = Conversation(roost.port("smtp"))
    try:
        conversation.reply()
        conversation.send(b"EHLO client.test\r\nSTARTTLS\r\nNOOP\r\n")
        assert b"STARTTLS" in conversation.reply()
        assert conversation.reply().startswith(b"220 2.0.0")
        conversation.starttls()
        conversation.send(b"EHLO client.test\r\n")
        inside = conversation.reply()
        assert inside.startswith(b"250-"), inside  # not the NOOP's "250 2.0.0 OK"
        assert b"STARTTLS" not in inside
        # RFC 3207 §4.2: what was said before TLS is forgotten, so MAIL needs the new EHLO.
        conversation.send(b"RSET\r\nMAIL FROM:<a@sender.test>\r\n")
        assert conversation.reply().startswith(b"250 2.0.0")
        assert conversation.reply().startswith(b"250 2.1.0")
    finally:
        conversation.close()


def test_only_crlf_dot_crlf_ends_data(mx: Conversation, roost: RoostProcess) -> None:
    """SMTP smuggling: a bare-LF end-of-data must stay message text, so the MAIL FROM after
    it is never run as a second transaction."""
    mx.send(b"EHLO client.test\r\nMAIL FROM:<a@sender.test>\r\nRCPT TO:<bob@example.test>\r\n")
    mx.send(b"DATA\r\n")
    replies = [mx.reply() for _ in range(4)]
    assert replies[3].startswith(b"354")
    mx.send(
        b"From: a@sender.test\r\nSubject: smuggle\r\n\r\nline\n.\nMAIL FROM:<x@sender.test>\r\n"
        b"line\r\n.\nRCPT TO:<bob@example.test>\r\n..dot-stuffed\r\n.\r\n"
    )
    assert mx.reply().startswith(b"250 2.0.0")
    stored = roost.export("bob@example.test").split(b"\nFrom ")[-1]
    assert b"MAIL FROM:<x@sender.test>" in stored
    assert b"\n.dot-stuffed" in stored  # the stuffed dot removed (RFC 5321 §4.5.2)


def test_header_only_message_and_split_end_of_data(mx: Conversation, roost: RoostProcess) -> None:
    before = roost.mailbox_counts("bob@example.test")["INBOX"]
    mx.send(b"HELO client.test\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
    assert [mx.reply()[:3] for _ in range(4)] == [b"250", b"250", b"250", b"354"]
    mx.send(b"From: a@client.test\r\n.\r")  # the end mark in two writes
    mx.send(b"\n")
    assert mx.reply().startswith(b"250 2.0.0")
    assert roost.mailbox_counts("bob@example.test")["INBOX"] == before + 1


def test_parameters_checked(mx: Conversation) -> None:
    mx.send(b"EHLO client.test\r\n")
    mx.reply()
    cases = [
        (b"MAIL FROM:<a@sender.test> RET=FULL", b"555 5.5.4"),  # DSN not offered
        (b"MAIL FROM:<a@sender.test> SIZE=abc", b"501 5.5.4"),
        ("MAIL FROM:<jos\u00e9@sender.test>".encode(), b"553 5.6.7"),  # UTF-8 needs SMTPUTF8
        ("MAIL FROM:<jos\u00e9@sender.test> SMTPUTF8".encode(), b"250 2.1.0"),
        (b"RCPT TO:<bob@example.test> NOTIFY=NEVER", b"555 5.5.4"),
        (b"RCPT TO:<>", b"553 5.1.3"),
        (b"MAIL FROM:<a@sender.test>", b"503 5.5.1"),  # nested MAIL
        (b"RSET", b"250 2.0.0"),
        (b"MAIL FROM: <a@sender.test>", b"250 2.1.0"),  # a space after the colon is tolerated
        (b"RCPT TO:bob@example.test", b"250 2.1.5"),  # and so are missing brackets
    ]
    for command, expected in cases:
        mx.send(command + b"\r\n")
        reply = mx.reply()
        assert reply.startswith(expected), (command, reply)


def test_bare_lf_ends_a_command_line(mx: Conversation) -> None:
    mx.send(b"EHLO client.test\nNOOP\n")
    assert mx.reply().startswith(b"250-")
    assert mx.reply().startswith(b"250 2.0.0")


def test_too_many_errors_end_the_session(mx: Conversation) -> None:
    mx.send(b"BOGUS\r\n" * 25)
    replies = [mx.reply() for _ in range(20)]
    assert all(r.startswith(b"500 5.5.2") for r in replies[:19])
    assert replies[19].startswith(b"500 5.5.2")
    assert mx.reply().startswith(b"421 4.7.0")
    assert mx.reader.read() == b""  # closed; the last five commands were never read


def test_auth_exchange(submission: Conversation) -> None:
    submission.send(b"AUTH LOGIN\r\n")
    assert submission.reply() == b"334 " + base64.b64encode(b"Username:") + b"\r\n"
    submission.send(b"*\r\n")
    assert submission.reply().startswith(b"501 5.0.0")  # the client cancelled (RFC 4954 §4)
    submission.send(b"AUTH PLAIN =\r\n")  # "=" is an empty initial response
    assert submission.reply().startswith(b"501 5.5.2")
    submission.send(b"AUTH PLAIN not-base64!\r\n")
    assert submission.reply().startswith(b"501 5.5.2")
    submission.send(b"AUTH CRAM-MD5\r\n")
    assert submission.reply().startswith(b"504 5.5.4")
    submission.send(b"AUTH PLAIN\r\n")
    assert submission.reply() == b"334 \r\n"
    submission.send(base64.b64encode(b"\0bob@example.test\0" + PASSWORD.encode()) + b"\r\n")
    assert submission.reply().startswith(b"235 2.7.0")
    submission.send(b"AUTH PLAIN AGJvYgB4\r\n")
    assert submission.reply().startswith(b"503 5.5.1")  # already authenticated
    submission.send(b"MAIL FROM:<bob@example.test>\r\n")
    assert submission.reply().startswith(b"250 2.1.0")


def test_quit_says_goodbye_and_closes(mx: Conversation) -> None:
    mx.send(b"QUIT\r\nNOOP\r\n")
    assert mx.reply().startswith(b"221 2.0.0")
    assert mx.reader.read() == b""
