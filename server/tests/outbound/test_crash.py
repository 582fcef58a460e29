"""Crash safety: 1,000 messages submitted while the server is SIGKILLed at random moments and
restarted. Every message that got its `250` must reach the peer (a real Postfix); duplicates
are allowed by the at-least-once design and are counted and reported, not hidden."""

from __future__ import annotations

import random
import smtplib
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.outbound.test_direct import queue_text, wait_until
from tests.postfix import PostfixPeer
from tests.roostproc import RoostProcess, roost_dev

MESSAGES = 1000
PASSWORD = "crash test password"
RCPT = "sink@peer.test"


@pytest.fixture
def setup(knot_address: str) -> Iterator[tuple[RoostProcess, PostfixPeer]]:
    with PostfixPeer(["peer.test"]) as peer, roost_dev(nameserver=knot_address) as roost:
        roost.append_config(
            f'[[outbound.routes]]\ndomain = "peer.test"\nhost = "127.0.0.1"\n'
            f'port = {peer.smtp_port}\ntls = "none"\n'
            "[queue]\nretry_schedule = [1]\n"
        )
        roost.add_user("alice@example.test", PASSWORD)
        roost.start()
        yield roost, peer


class Submitter(threading.Thread):
    """Sends MESSAGES messages, reconnecting whenever the server dies under it; records
    which Message-IDs were acknowledged with 250."""

    def __init__(self, roost: RoostProcess) -> None:
        super().__init__(daemon=True)
        self.roost = roost
        self.acked: list[str] = []
        self.failures = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        client: smtplib.SMTP | None = None
        number = 0
        deadline = time.monotonic() + 600
        try:
            while number < MESSAGES and time.monotonic() < deadline:
                message_id = f"<crash-{number}@example.test>"
                if client is None:
                    # While the server is down nothing is sent, so no message is used up: on a
                    # slow machine restarts would otherwise eat most of the 1,000.
                    try:
                        client = smtplib.SMTP_SSL(
                            "127.0.0.1", self.roost.port("submissions"), context=context, timeout=10
                        )
                        client.login("alice@example.test", PASSWORD)
                    except (OSError, smtplib.SMTPException):
                        self.failures += 1
                        client = None
                        time.sleep(0.05)
                        continue
                try:
                    client.sendmail(
                        "alice@example.test",
                        [RCPT],
                        f"From: alice@example.test\r\nTo: {RCPT}\r\nSubject: {number}\r\n"
                        f"Message-ID: {message_id}\r\n\r\nmessage {number}\r\n".encode(),
                    )
                    self.acked.append(message_id)
                except (OSError, smtplib.SMTPException):
                    self.failures += 1
                    client = None
                    time.sleep(0.05)
                number += 1  # an unacknowledged message is not retried: it was never promised
        except BaseException as exc:  # reported to the test thread
            self.error = exc


def test_no_acknowledged_message_is_lost_across_sigkill(
    setup: tuple[RoostProcess, PostfixPeer], record_property: pytest.RecordProperty
) -> None:
    roost, peer = setup
    submitter = Submitter(roost)
    submitter.start()
    kills = 0
    rng = random.Random(20261123)
    while submitter.is_alive():
        time.sleep(rng.uniform(0.2, 1.5))
        if not submitter.is_alive():
            break
        roost.kill()
        kills += 1
        roost.start()
    submitter.join()
    assert submitter.error is None, submitter.error
    acked = set(submitter.acked)
    assert kills >= 3, "the run was too short to test anything"
    assert len(acked) > MESSAGES / 2

    def delivered() -> Counter[str]:
        ids: Counter[str] = Counter()
        for message in peer.messages(RCPT):
            for line in message.splitlines():
                if line.lower().startswith(b"message-id:"):
                    ids[line.split(b":", 1)[1].strip().decode()] += 1
        return ids

    wait_until(
        lambda: acked <= set(delivered()) and "the queue is empty" in queue_text(roost),
        timeout=180,
        explain=lambda: f"missing {sorted(acked - set(delivered()))[:10]}; {queue_text(roost)}",
    )
    counts = delivered()
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    summary = (
        f"{len(acked)} acknowledged of {MESSAGES} sent, {kills} SIGKILLs, "
        f"{submitter.failures} sends cut off, {duplicates} duplicate deliveries"
    )
    print(f"\ncrash test: {summary}")
    record_property("crash_summary", summary)
    assert not acked - set(counts)
    assert roost.stop() == 0
