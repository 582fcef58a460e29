"""Whole sessions fuzzed against a real server: whatever a client sends, every command gets a
tagged answer, the session stays usable afterwards, and other clients keep being served."""

from __future__ import annotations

import socket

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.imap.conftest import ALICE, PASSWORD, Connect
from tests.imap.test_imap_session import command, raw_session
from tests.roostproc import RoostProcess

# Verbs that wait for more input (a continuation, DONE) or end the session are left out:
# a fuzzer that does not answer them would only measure the timeouts.
VERBS = [
    "NOOP", "CAPABILITY", "SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE",
    "UNSUBSCRIBE", "LIST", "LSUB", "STATUS", "APPEND", "CHECK", "CLOSE", "UNSELECT", "EXPUNGE",
    "SEARCH", "FETCH", "STORE", "COPY", "MOVE", "UID", "ENABLE", "ID", "NAMESPACE", "LOGIN",
    "XYZZY",
]  # fmt: skip
TOKENS = [
    "1", "*", "1:*", "2,4:5", "0", "4294967296", "$", "INBOX", "Fuzz", "Fuzz/Sub", "NIL", "()",
    "(FLAGS)", "(\\Seen)", "+FLAGS", "-FLAGS.SILENT", "FLAGS", "BODY[]", "BODY.PEEK[1.MIME]",
    "BODY[HEADER.FIELDS (FROM)]<0.5>", "BINARY[1]", "(UID FLAGS ENVELOPE BODYSTRUCTURE)",
    "(MESSAGES UIDNEXT SIZE)", "(CHANGEDSINCE 1)", "(UNCHANGEDSINCE 1)", "FETCH", "STORE",
    "\"quoted\"", "\"\"", "\"a\\\"b\"", "{0+}\r\n", "{3+}\r\nabc", "ALL", "FULL", "CONDSTORE",
    "QRESYNC", "UTF8=ACCEPT", "RETURN", "(SUBSCRIBED)", "(SPECIAL-USE)", "%", "&-", "&Jjo-",
    "(USE (\\Junk))", "[", "]", ")", "(",
]  # fmt: skip
junk = st.binary(max_size=60).filter(lambda b: not (set(b) & {0x0A, 0x0D, 0x7B}))
commands = st.one_of(
    st.tuples(st.sampled_from(VERBS), st.lists(st.sampled_from(TOKENS), max_size=5)).map(
        lambda parts: " ".join([parts[0], *parts[1]]).encode("utf-8")
    ),
    junk,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(commands, min_size=1, max_size=15))
def test_every_command_is_answered_and_the_session_survives(
    roost: RoostProcess, lines: list[bytes]
) -> None:
    sock = raw_session(roost)
    try:
        command(sock, "a", f"LOGIN {ALICE} {{{len(PASSWORD)}+}}\r\n{PASSWORD}".encode())
        for number, line in enumerate(lines):
            tag = f"t{number}"
            reply = command(sock, tag, line)
            assert b"SERVERBUG" not in reply, (line, reply)
        assert command(sock, "z", b"NOOP").endswith(b"z OK NOOP completed\r\n")
    finally:
        sock.close()
    other = raw_session(roost)  # and the server serves others
    assert b"b OK" in command(other, "b", b"CAPABILITY")
    other.close()


def test_a_flood_of_junk_is_cut_off_without_harming_others(
    roost: RoostProcess, connect: Connect
) -> None:
    sock = socket.create_connection(("127.0.0.1", roost.port("imap")), 30)
    sock.recv(4096)
    sock.sendall(b"x BAD\r\n" * 60)
    received = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    assert b"* BYE Too many invalid commands" in received
    sock.close()
    assert connect().noop()[0] == "OK"
