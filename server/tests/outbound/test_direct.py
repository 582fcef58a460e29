"""Direct delivery to the world: MX lookup through real DNS (Knot), a real Postfix as the
remote MTA, retries, bounces and the queue commands."""

from __future__ import annotations

import email
import re
import smtplib
import time
from collections.abc import Callable, Iterator

import pytest

from tests.knot import KnotServer
from tests.postfix import PostfixPeer
from tests.roostproc import RoostProcess, roost_dev
from tests.smtp.test_submission import tls_client

PASSWORD = "outbound password"


@pytest.fixture(scope="module")
def peer() -> Iterator[PostfixPeer]:
    reject = {"busy@peer.test": "450 4.2.0 try later", "gone@peer.test": "550 5.1.1 no such user"}
    with PostfixPeer(["peer.test", "amx.test", "pref.test"], reject=reject) as server:
        yield server


@pytest.fixture(scope="module")
def roost(knot: KnotServer, knot_address: str, peer: PostfixPeer) -> Iterator[RoostProcess]:
    knot.set_zone("peer.test", "@ MX 10 mx.peer.test.\nmx A 127.0.0.1\n")
    knot.set_zone("amx.test", "@ A 127.0.0.1\n")  # no MX: the address is the implicit MX
    knot.set_zone(
        "pref.test",
        "@ MX 10 dead.pref.test.\n@ MX 20 mx.peer.test.\ndead A 127.0.0.2\n",
    )
    knot.set_zone("nullmx.test", "@ MX 0 .\n")
    extra = (
        f'[outbound]\nmx_port = {peer.smtp_port}\nca_file = "{peer.ca_cert}"\n'
        "[queue]\nretry_schedule = [600]\ndelay_warning = 0\n"
    )
    with roost_dev(nameserver=knot_address, extra_config=extra) as proc:
        proc.add_user("alice@example.test", PASSWORD)
        proc.cli("alias", "add", "fwd@example.test", "gone@peer.test")
        proc.start()
        yield proc
        assert proc.stop() == 0


def submit(roost: RoostProcess, recipients: list[str], subject: str) -> str:
    message_id = f"<{subject.replace(' ', '-')}.{time.time_ns()}@example.test>"
    body = (
        f"From: alice@example.test\r\nTo: {', '.join(recipients)}\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\n\r\nhello\r\n"
    ).encode()
    with smtplib.SMTP("127.0.0.1", roost.port("submission"), timeout=10) as client:
        client.starttls(context=tls_client())
        client.login("alice@example.test", PASSWORD)
        client.sendmail("alice@example.test", recipients, body)
    return message_id


def wait_until(
    condition: Callable[[], bool], timeout: float = 20.0, explain: Callable[[], str] = str
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met after {timeout}s: {explain()}")
        time.sleep(0.1)


def queue_text(roost: RoostProcess) -> str:
    return roost.cli("queue", "list").stdout


def test_two_recipients_one_transaction_with_starttls(
    roost: RoostProcess, peer: PostfixPeer
) -> None:
    message_id = submit(roost, ["bob@peer.test", "carol@peer.test"], "two rcpts")
    for rcpt in ("bob@peer.test", "carol@peer.test"):
        (received,) = [m for m in peer.wait_for(rcpt) if message_id.encode() in m]
        assert b"DKIM-Signature: v=1; a=rsa-sha256" in received
        assert b"with ESMTPS" in received  # Postfix recorded the TLS session
        assert b"Received: from mail.example.test" in received  # our EHLO name
    wait_until(lambda: "the queue is empty" in queue_text(roost))
    log = roost.log.read_text()
    line = next(x for x in log.splitlines() if "domain=peer.test" in x and "bob@peer.test" in x)
    assert "mx=mx.peer.test" in line and "tls=TLSv1." in line
    assert peer.log().count(f"message-id={message_id}") == 1  # one transaction, one queue file


def test_no_mx_uses_the_address_record(roost: RoostProcess, peer: PostfixPeer) -> None:
    message_id = submit(roost, ["dave@amx.test"], "implicit mx")
    assert any(message_id.encode() in m for m in peer.wait_for("dave@amx.test"))


def test_mx_hosts_tried_by_preference(roost: RoostProcess, peer: PostfixPeer) -> None:
    message_id = submit(roost, ["erin@pref.test"], "preference")
    assert any(message_id.encode() in m for m in peer.wait_for("erin@pref.test"))
    assert "mx=dead.pref.test" in roost.log.read_text()  # tried first, refused


def inbox_count(roost: RoostProcess) -> int:
    return roost.mailbox_counts("alice@example.test")["INBOX"]


def last_inbox(roost: RoostProcess) -> email.message.Message:
    exported = roost.export("alice@example.test")
    return email.message_from_bytes(exported.split(b"\nFrom ")[-1].split(b"\n", 1)[1])


def test_permanent_rejection_bounces_at_once(roost: RoostProcess) -> None:
    before = inbox_count(roost)
    submit(roost, ["gone@peer.test"], "to the void")
    wait_until(lambda: inbox_count(roost) == before + 1)
    dsn = last_inbox(roost)
    assert dsn.get_content_type() == "multipart/report"
    status = dsn.get_payload()[1].get_payload()[1]
    assert status["Status"] == "5.1.1"
    assert status["Final-Recipient"] == "rfc822; gone@peer.test"
    assert "no such user" in status["Diagnostic-Code"]
    assert "Subject: to the void" in dsn.get_payload()[2].get_payload()


def test_null_mx_bounces_without_trying(roost: RoostProcess) -> None:
    before = inbox_count(roost)
    submit(roost, ["x@nullmx.test"], "null mx")
    wait_until(lambda: inbox_count(roost) == before + 1)
    status = last_inbox(roost).get_payload()[1].get_payload()[1]
    assert status["Status"] == "5.1.10"


def test_temporary_rejection_retried_after_queue_retry(
    roost: RoostProcess, peer: PostfixPeer
) -> None:
    message_id = submit(roost, ["busy@peer.test"], "busy")
    wait_until(
        lambda: "last error: 450 4.2.0" in queue_text(roost),
        explain=lambda: queue_text(roost) + roost.log.read_text()[-2000:],
    )
    listing = queue_text(roost)
    assert "<busy@peer.test>  attempts 1" in listing
    peer.set_reject({"gone@peer.test": "550 5.1.1 no such user"})
    queue_id = re.search(r"^(\S+)  \d+ bytes", listing, re.M).group(1)  # type: ignore[union-attr]
    assert "due now" in roost.cli("queue", "retry", queue_id).stdout
    assert any(message_id.encode() in m for m in peer.wait_for("busy@peer.test"))
    wait_until(lambda: "the queue is empty" in queue_text(roost))


def test_no_bounce_to_the_null_sender(roost: RoostProcess) -> None:
    """Mail from <> forwarded by an alias and refused remotely is dropped, not bounced."""
    before = inbox_count(roost)
    with smtplib.SMTP("127.0.0.1", roost.port("smtp"), timeout=10) as client:
        client.ehlo("client.sender.test")
        message = b"From: daemon@x.test\r\nSubject: n\r\n\r\nx\r\n"
        client.sendmail("<>", ["fwd@example.test"], message)
    wait_until(lambda: "no failed notice: the sender is null" in roost.log.read_text())
    assert "the queue is empty" in queue_text(roost)
    assert inbox_count(roost) == before


def test_queue_drop_and_bounce_commands(roost: RoostProcess, peer: PostfixPeer) -> None:
    peer.set_reject({"busy@peer.test": "450 4.2.0 try later"})
    submit(roost, ["busy@peer.test"], "dropped")
    wait_until(lambda: "attempts 1" in queue_text(roost))
    queue_id = queue_text(roost).split()[0]
    roost.cli("queue", "drop", queue_id)
    assert "the queue is empty" in queue_text(roost)
    before = inbox_count(roost)
    submit(roost, ["busy@peer.test"], "given up")
    wait_until(lambda: "attempts 1" in queue_text(roost))
    queue_id = queue_text(roost).split()[0]
    assert f"bounced {queue_id}" in roost.cli("queue", "bounce", queue_id).stdout
    assert inbox_count(roost) == before + 1
    assert last_inbox(roost).get_payload()[1].get_payload()[1]["Status"] == "5.3.0"
    unknown = roost.cli("queue", "drop", "NOSUCHID", check=False)
    assert unknown.returncode == 1 and "roost queue list" in unknown.stderr
