"""The queue never spins: each input that once made a delivery attempt raise (and the runner
retry it hundreds of times a second) now ends in a recorded outcome after one attempt, against
a real `roost serve` and a hand-made peer that answers what real peers were seen to answer."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator

import pytest

from tests.hostilepeer import HostilePeer
from tests.outbound.test_direct import queue_text, wait_until
from tests.roostproc import RoostProcess, roost_dev
from tests.smtp.test_submission import tls_client

PASSWORD = "queue faults password"
SETTLE = 2.0  # a spinning runner makes hundreds of attempts in this time; a sane one makes one


@pytest.fixture
def peer() -> Iterator[HostilePeer]:
    with HostilePeer() as server:
        yield server


@pytest.fixture
def roost(peer: HostilePeer, knot_address: str) -> Iterator[RoostProcess]:
    routes = (
        f'[[outbound.routes]]\ndomain = "hostile.test"\nhost = "127.0.0.1"\n'
        f'port = {peer.port}\ntls = "none"\n'
        "[queue]\nretry_schedule = [600]\ndelay_warning = 0\n"
    )
    with roost_dev(nameserver=knot_address, extra_config=routes) as proc:
        proc.add_user("alice@example.test", PASSWORD)
        proc.cli("alias", "add", "fwd@example.test", "x@hostile.test")
        proc.start()
        yield proc
        assert proc.stop() == 0
        assert "Traceback" not in proc.log.read_text()


def relay_through_alias(roost: RoostProcess, sender: str, options: tuple[str, ...] = ()) -> None:
    """Mail from `sender` at the MX to the alias that forwards to the hostile peer."""
    with smtplib.SMTP("127.0.0.1", roost.port("smtp"), timeout=10) as client:
        client.ehlo("client.test")
        assert client.mail(sender, list(options))[0] == 250
        assert client.rcpt("fwd@example.test")[0] == 250
        assert client.data(b"From: x@remote.test\r\nSubject: fault\r\n\r\nhi\r\n")[0] == 250


def submit(roost: RoostProcess, recipients: list[str]) -> None:
    with smtplib.SMTP("127.0.0.1", roost.port("submission"), timeout=10) as client:
        client.starttls(context=tls_client())
        client.login("alice@example.test", PASSWORD)
        client.sendmail(
            "alice@example.test",
            recipients,
            b"From: alice@example.test\r\nSubject: fault\r\n\r\nhi\r\n",
        )


def inbox(roost: RoostProcess) -> bytes:
    return roost.export("alice@example.test")


def test_latin1_byte_in_a_temporary_reply_is_recorded_once(
    roost: RoostProcess, peer: HostilePeer
) -> None:
    peer.replies["RCPT"] = b"450 4.2.0 caf\xe9 is closed\r\n"
    submit(roost, ["x@hostile.test"])
    wait_until(lambda: "attempts 1" in queue_text(roost), explain=lambda: queue_text(roost))
    time.sleep(SETTLE)
    listing = queue_text(roost)
    assert "last error: 450 4.2.0 caf\ufffd is closed" in listing
    assert "attempts 1" in listing and peer.sessions == 1


def test_latin1_byte_in_a_permanent_reply_bounces(roost: RoostProcess, peer: HostilePeer) -> None:
    peer.replies["RCPT"] = b"550 5.1.1 caf\xe9 unknown\r\n"
    submit(roost, ["x@hostile.test"])
    wait_until(lambda: b"caf\xef\xbf\xbd unknown" in inbox(roost))
    assert "the queue is empty" in queue_text(roost)
    assert peer.sessions == 1


def test_non_ascii_sender_to_a_peer_without_smtputf8_bounces(
    roost: RoostProcess, peer: HostilePeer
) -> None:
    relay_through_alias(roost, "ü@hostile.test", ("SMTPUTF8",))
    # The notice to ü@hostile.test cannot go there either, and has no one to go back to.
    wait_until(lambda: "the queue is empty" in queue_text(roost))
    assert roost.log.read_text().count("needs SMTPUTF8") == 2
    assert not any(c.startswith(b"MAIL") for c in peer.commands)  # nothing sent it could mangle


def test_non_ascii_sender_to_a_peer_with_smtputf8_is_delivered(
    roost: RoostProcess, peer: HostilePeer
) -> None:
    peer.ehlo_keywords = ("SMTPUTF8", "8BITMIME")
    relay_through_alias(roost, "ü@hostile.test", ("SMTPUTF8",))
    wait_until(lambda: "the queue is empty" in queue_text(roost))
    (mail,) = [c for c in peer.commands if c.startswith(b"MAIL")]
    assert mail == "MAIL FROM:<ü@hostile.test> SMTPUTF8\r\n".encode()


def test_unparseable_local_sender_when_a_bounce_is_due(
    roost: RoostProcess, peer: HostilePeer
) -> None:
    peer.replies["RCPT"] = b"550 5.1.1 no such user\r\n"
    relay_through_alias(roost, '"a b"@example.test')
    wait_until(lambda: "no failed notice: local sender" in roost.log.read_text())
    time.sleep(SETTLE)
    assert "the queue is empty" in queue_text(roost)
    assert peer.sessions == 1


def test_backslash_in_a_recipient_domain_fails_that_recipient_only(
    roost: RoostProcess, peer: HostilePeer
) -> None:
    submit(roost, ["x@a\\b.test", "x@a\\1.test", "x@hostile.test"])
    wait_until(lambda: b"is not a valid domain name" in inbox(roost), explain=roost.log.read_text)
    wait_until(lambda: "the queue is empty" in queue_text(roost))
    assert peer.sessions == 1  # the other recipient was delivered
    # One failure notice for the message, naming both domains that failed.
    assert inbox(roost).count(b"Subject: Undelivered Mail Returned to Sender") == 1
    assert b"<x@a\\b.test>:" in inbox(roost) and b"<x@a\\1.test>:" in inbox(roost)


def test_a_message_whose_attempts_keep_crashing_is_held_then_retried(
    peer: HostilePeer, knot_address: str
) -> None:
    """An unreadable queue file makes every attempt fail inside Roost: after three such
    attempts (with back-off) the message is held, listed and logged once; `roost queue retry`
    sends it once the cause is gone."""
    routes = (
        f'[[outbound.routes]]\ndomain = "hostile.test"\nhost = "127.0.0.1"\n'
        f'port = {peer.port}\ntls = "none"\n[queue]\nretry_schedule = [1]\ndelay_warning = 0\n'
    )
    peer.replies["RCPT"] = b"450 4.2.0 not yet\r\n"
    with roost_dev(nameserver=knot_address, extra_config=routes) as roost:
        roost.add_user("alice@example.test", PASSWORD)
        roost.start()
        submit(roost, ["x@hostile.test"])
        wait_until(lambda: "attempts 1" in queue_text(roost))
        (stored,) = (roost.directory / "state" / "queue" / "messages").glob("*/*")
        stored.chmod(0)
        wait_until(lambda: "HELD" in queue_text(roost), explain=lambda: queue_text(roost))
        time.sleep(SETTLE)  # held means no further attempts, and no further log lines
        listing = queue_text(roost)
        assert "attempts 4  HELD" in listing and "PermissionError" in listing
        log = roost.log.read_text()
        assert log.count("held after 3 failed attempts") == 1
        assert log.count("Traceback") == 1  # the one held line carries it
        assert peer.sessions == 1
        stored.chmod(0o600)
        peer.replies.pop("RCPT")
        queue_id = listing.split()[0]
        roost.cli("queue", "retry", queue_id)
        wait_until(lambda: "the queue is empty" in queue_text(roost))
        assert peer.sessions == 2


def test_8bit_mail_is_sent_with_body_8bitmime_when_offered(
    roost: RoostProcess, peer: HostilePeer
) -> None:
    peer.ehlo_keywords = ("8BITMIME",)
    with smtplib.SMTP("127.0.0.1", roost.port("submission"), timeout=10) as client:
        client.starttls(context=tls_client())
        client.login("alice@example.test", PASSWORD)
        message = "From: alice@example.test\r\nSubject: café\r\n\r\nnaïve\r\n".encode()
        client.sendmail("alice@example.test", ["x@hostile.test"], message)
    wait_until(lambda: "the queue is empty" in queue_text(roost))
    (mail,) = [c for c in peer.commands if c.startswith(b"MAIL")]
    assert mail == b"MAIL FROM:<alice@example.test> BODY=8BITMIME\r\n"


def test_a_temporary_refusal_after_data_keeps_the_recipient_queued(
    roost: RoostProcess, peer: HostilePeer
) -> None:
    peer.replies["."] = b"451 4.3.0 try again later\r\n"
    submit(roost, ["x@hostile.test"])
    wait_until(lambda: "attempts 1" in queue_text(roost), explain=lambda: queue_text(roost))
    assert "last error: 451 4.3.0 try again later" in queue_text(roost)


def test_a_permanent_refusal_after_data_bounces(roost: RoostProcess, peer: HostilePeer) -> None:
    peer.replies["."] = b"554 5.7.1 content refused\r\n"
    submit(roost, ["x@hostile.test"])
    wait_until(lambda: b"554 5.7.1 content refused" in inbox(roost))
    assert "the queue is empty" in queue_text(roost)
