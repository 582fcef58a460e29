"""A local write that fails must give 451 (the client keeps the message and retries), never
250: against a live `roost serve` whose message directory it may not write."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest

from tests.roostproc import RoostProcess, roost_dev


@pytest.fixture
def roost() -> Iterator[RoostProcess]:
    with roost_dev() as proc:
        proc.add_user("bob@example.test", "write failure password")
        proc.start()
        yield proc
        assert proc.stop() == 0


def send(roost: RoostProcess) -> int:
    with smtplib.SMTP("127.0.0.1", roost.port("smtp"), timeout=30) as client:
        client.ehlo("client.test")
        client.mail("a@client.test")
        client.rcpt("bob@example.test")
        return client.data(b"From: a@client.test\r\nSubject: write\r\n\r\nhi\r\n")[0]


def test_a_failing_local_write_is_a_temporary_failure(roost: RoostProcess) -> None:
    messages = roost.directory / "state" / "messages"
    assert messages.is_dir()
    messages.chmod(0o500)  # the server (its owner) can no longer create a shard in it
    try:
        assert send(roost) == 451
    finally:
        messages.chmod(0o700)
    assert send(roost) == 250
    assert roost.mailbox_counts("bob@example.test")["INBOX"] == 1
