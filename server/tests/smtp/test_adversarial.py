"""Generated SMTP sessions against a live `roost serve` (the MX): commands in any order with
odd parameters and addresses, header blocks with folded lines, bare CR and LF, 8-bit and
invalid UTF-8, long repetitions. Whatever the session, every reply is a well-formed reply
line, the log never shows a traceback, and a control client is served throughout."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.roostproc import RoostProcess, roost_dev
from tests.smtp.test_hostile_input import ControlClient, read_all, served_throughout

REPLY = re.compile(rb"[2-5]\d\d[ -][^\x00-\x08\x0a-\x1f\x7f]*\r\n")


@pytest.fixture(scope="module")
def roost(knot_address: str) -> Iterator[RoostProcess]:
    limits = "[limits]\nmax_message_size = 200000\nmax_recipients = 30\ncommand_timeout = 20\n"
    with roost_dev(nameserver=knot_address, extra_config=limits) as proc:
        proc.add_user("bob@example.test", "adversarial password")
        proc.start()
        yield proc
        assert proc.stop() == 0


@pytest.fixture(scope="module")
def control(roost: RoostProcess) -> Iterator[ControlClient]:
    with served_throughout(roost) as client:
        yield client


PIECES = st.sampled_from(
    [
        "bob@example.test", "x@elsewhere.test", "<", ">", "@", ":", ",", '"', "\\", "%", "!",
        " ", "\t", ".", "[127.0.0.1]", "用户", "é", "SIZE=", "SIZE=²", "BODY=8BITMIME",
        "SMTPUTF8", "AUTH=<>", "RET=HDRS", "NOTIFY=NEVER", "=", "\x00", "\r", "0", "9" * 30,
    ]
)  # fmt: skip
TEXT = st.lists(PIECES, max_size=12).map("".join)
PARAMS = st.lists(
    st.one_of(
        st.sampled_from(
            ["SIZE=100", "SIZE=²", "SIZE=-1", "SIZE=" + "9" * 40, "BODY=8BITMIME",
             "BODY=BINARYMIME", "SMTPUTF8", "AUTH=<>", "AUTH=a@b.test", "RET=FULL", "ENVID=x",
             "NOTIFY=SUCCESS", "X=Y"]
        ),
        TEXT,
    ),
    max_size=3,
).map(" ".join)  # fmt: skip
RAW = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b""))  # invalid UTF-8 and all
ADDRESS = st.one_of(
    st.sampled_from(["<bob@example.test>", "<>", "<x@elsewhere.test>", "<用户@example.test>"]),
    TEXT.map(lambda t: f"<{t}>"),
)
VERB = st.sampled_from(["EHLO", "HELO", "RSET", "NOOP", "VRFY", "EXPN", "HELP", "AUTH", "XYZZY"])


def line(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass") + b"\r\n"


COMMAND = st.one_of(
    st.builds(lambda verb, arg: line(f"{verb} {arg}".rstrip()), VERB, TEXT),
    st.builds(lambda a, p: line(f"MAIL FROM:{a} {p}".rstrip()), ADDRESS, PARAMS),
    st.builds(lambda a, p: line(f"RCPT TO:{a} {p}".rstrip()), ADDRESS, PARAMS),
    RAW.map(lambda raw: raw + b"\r\n"),
    st.just(b"DATA\r\n"),
)
HEADER = st.one_of(
    st.builds(lambda n, v: line(f"{n}: {v}"), st.sampled_from(["From", "To", "Received"]), TEXT),
    st.builds(lambda v, n: line("Subject: x") + line(f" {v}") * n, TEXT, st.integers(0, 500)),
    st.builds(lambda v: b"Authentication-Results: mail.example.test;\r" + v + b"\r\n", RAW),
    st.builds(lambda n: line("Received: from x") * n, st.integers(95, 105)),
    RAW.map(lambda raw: raw + b"\n"),
)
MESSAGE = st.builds(
    lambda headers, body: b"".join(headers) + b"\r\n" + body,
    st.lists(HEADER, max_size=6),
    st.binary(max_size=300),
)
TRANSACTION = st.builds(
    lambda rcpts, message: (
        [b"MAIL FROM:<news@sender.test>\r\n"]
        + [b"RCPT TO:<bob@example.test>\r\n"] * rcpts
        + [b"DATA\r\n", message + b"\r\n.\r\n"]
    ),
    st.integers(1, 40),
    MESSAGE,
)
TO_BOB = [
    b"RCPT TO:<bob@example.test>\r\n",
    b"DATA\r\n",
    b"From: a@b.test\r\nSubject: x\r\n\r\nx\r\n.\r\n",
]
SESSION = st.lists(st.one_of(COMMAND.map(lambda c: [c]), TRANSACTION), max_size=8).map(
    lambda parts: [c for part in parts for c in part]
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# The inputs that found bugs by hand, kept as fixed examples.
@example(greeting=b"EHLO x\r\n", session=[line("MAIL FROM:<a@b.test> SIZE=²")])
@example(greeting=b"EHLO a\\b\r\n", session=[line("MAIL FROM:<a@b\\c.test>"), *TO_BOB])
@given(
    greeting=st.sampled_from([b"EHLO client.test\r\n", b"HELO client.test\r\n", b""]),
    session=SESSION,
)
def test_any_session_gets_well_formed_replies(
    roost: RoostProcess, control: ControlClient, greeting: bytes, session: list[bytes]
) -> None:
    with socket.create_connection(("127.0.0.1", roost.port("smtp")), timeout=60) as sock:
        # A DATA the generator left open is ended, so the QUIT is read as a command.
        sock.sendall(greeting + b"".join(session) + b"\r\n.\r\nQUIT\r\n")
        sock.shutdown(socket.SHUT_WR)
        replies = read_all(sock)
    assert replies.startswith(b"220 ")
    rest = REPLY.sub(b"", replies)
    assert rest == b"", replies[-500:]
    log = roost.log.read_text()
    assert "Traceback" not in log, log[log.find("Traceback") - 300 :][:3000]


def test_an_oversized_message_in_several_writes_is_refused(roost: RoostProcess) -> None:
    """The body arrives in pieces, so the size limit is met while reading (the branch no
    single-write test reaches); the session goes on afterwards."""
    with socket.create_connection(("127.0.0.1", roost.port("smtp")), timeout=60) as sock:
        sock.sendall(
            b"EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<bob@example.test>\r\n"
        )
        sock.sendall(b"DATA\r\n")
        for _ in range(3):
            time.sleep(0.3)
            sock.sendall((b"x" * 998 + b"\r\n") * 100)  # 100 kB a write, 200 kB allowed
        sock.sendall(b".\r\nNOOP\r\nQUIT\r\n")
        sock.shutdown(socket.SHUT_WR)
        replies = read_all(sock)
    assert b"\r\n552 5.3.4 " in replies
    assert replies.endswith(b"250 2.0.0 OK\r\n221 2.0.0 Bye\r\n")
