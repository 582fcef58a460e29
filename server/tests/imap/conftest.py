"""A real `roost serve` with IMAP on 143/993, and logged-in imaplib clients for the tests."""

from __future__ import annotations

import contextlib
import imaplib
from collections.abc import Callable, Iterator

import pytest

from tests.roostproc import RoostProcess, roost_dev, tls_client

PASSWORD = "correct horse battery staple"
ALICE = "alice@example.test"
BOB = "bob@example.test"


@pytest.fixture(scope="module")
def roost() -> Iterator[RoostProcess]:
    extra = "[limits]\nauth_failures_per_ip = 50\nauth_failures_per_account = 5\n"
    with roost_dev(extra_config=extra) as proc:
        proc.add_user(ALICE, PASSWORD)
        proc.add_user(BOB, PASSWORD)
        proc.start()
        yield proc
        assert proc.stop() == 0
        # No command, however malformed, may end in an unhandled exception.
        assert "Traceback" not in proc.log.read_text()


Connect = Callable[..., imaplib.IMAP4_SSL]


@pytest.fixture
def connect(roost: RoostProcess) -> Iterator[Connect]:
    """Logged-in IMAPS clients, logged out after the test."""
    opened: list[imaplib.IMAP4] = []

    def open_client(user: str = ALICE, password: str = PASSWORD) -> imaplib.IMAP4_SSL:
        client = imaplib.IMAP4_SSL(
            "127.0.0.1", roost.port("imaps"), ssl_context=tls_client(), timeout=30
        )
        opened.append(client)
        client.login(user, password)
        return client

    yield open_client
    for client in opened:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()


def message(subject: str, body: str = "hello", sender: str = "carol@example.org") -> bytes:
    return (
        f"From: Carol <{sender}>\r\nTo: {ALICE}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 30 Nov 2026 01:00:00 +0000\r\nMessage-ID: <{subject}@example.org>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"\r\n{body}\r\n"
    ).encode()


def fresh_mailbox(client: imaplib.IMAP4, name: str, count: int = 0) -> None:
    """Create (or empty) a mailbox and fill it with `count` messages."""
    typ, _ = client.create(name)
    if typ != "OK":
        client.select(name)
        client.uid("STORE", "1:*", "+FLAGS.SILENT", "(\\Deleted)")
        client.expunge()
        client.unselect()
    for n in range(count):
        assert client.append(name, None, None, message(f"{name}-{n}"))[0] == "OK"
