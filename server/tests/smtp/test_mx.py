"""The MX endpoint on port 25, driven by swaks and smtplib, with SPF/DKIM/DMARC answered by a
real DNS server (Knot) on loopback."""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.roostproc import RoostProcess, roost_dev

PASSWORD = "a long enough password"

SENDER_ZONES = {
    # 127.0.0.1 may send for sender.test, and its DMARC policy is reject: aligned SPF passes.
    "sender.test": 'sender.test. TXT "v=spf1 ip4:127.0.0.1 -all"\n'
    '_dmarc.sender.test. TXT "v=DMARC1; p=reject"\n',
    # 127.0.0.1 may not send for strict.test (p=reject) nor quarantine.test (p=quarantine).
    "strict.test": 'strict.test. TXT "v=spf1 -all"\n_dmarc.strict.test. TXT "v=DMARC1; p=reject"\n',
    "quarantine.test": 'quarantine.test. TXT "v=spf1 -all"\n'
    '_dmarc.quarantine.test. TXT "v=DMARC1; p=quarantine"\n',
}


@pytest.fixture(scope="module")
def roost(knot, knot_address: str) -> Iterator[RoostProcess]:
    for name, records in SENDER_ZONES.items():
        knot.set_zone(name, records)
    limits = (
        "[limits]\nmax_message_size = 20000\nmax_recipients = 3\n"
        "max_connections_per_ip = 6\ncommand_timeout = 3\ndata_timeout = 5\n"
    )
    with roost_dev(nameserver=knot_address, extra_config=limits) as proc:
        dkim_records = proc.cli("dkim", "dns", "example.test").stdout
        knot.set_zone(
            "example.test",
            'example.test. TXT "v=spf1 ip4:127.0.0.1 -all"\n'
            '_dmarc.example.test. TXT "v=DMARC1; p=reject; adkim=s"\n' + dkim_records,
        )
        proc.add_user("alice@example.test", PASSWORD)
        proc.add_user("bob@example.test", PASSWORD)
        proc.cli("domain", "add", "other.test")
        proc.cli("alias", "add", "@other.test", "alice@example.test")
        proc.start()
        yield proc
        assert proc.stop() == 0


def message(sender: str, rcpt: str, subject: str, extra: str = "") -> bytes:
    return (
        f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{time.time_ns()}@test>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
        f"{extra}\r\nbody of {subject}\r\n"
    ).encode()


def last_message(roost: RoostProcess, user: str, folder: str = "INBOX") -> bytes:
    return roost.export(user, folder).split(b"\nFrom ")[-1]


def mx(roost: RoostProcess) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", roost.port("smtp"), timeout=10)
    client.ehlo("client.sender.test")
    return client


def test_delivery_records_authentication_results(roost: RoostProcess) -> None:
    with mx(roost) as client:
        client.sendmail(
            "news@sender.test",
            ["bob@example.test"],
            message("news@sender.test", "bob@example.test", "welcome"),
        )
    stored = last_message(roost, "bob@example.test")
    assert b"Subject: welcome" in stored
    results = re.search(
        rb"Authentication-Results: mail\.example\.test;(.*?)\r?\n(?! |\t)", stored, re.S
    )
    assert results, stored[:600]
    text = results.group(1)
    assert b"spf=pass" in text
    assert b"dmarc=pass" in text
    assert b"Received: from client.sender.test ([127.0.0.1])" in stored
    assert b"by mail.example.test (Roost)" in stored


def test_starttls_offered_and_used(roost: RoostProcess) -> None:
    with mx(roost) as client:
        assert client.has_extn("starttls")
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        client.starttls(context=context)
        client.ehlo("client.sender.test")
        assert not client.has_extn("auth")  # AUTH belongs to submission, never to the MX
        assert client.docmd("AUTH", "PLAIN AGFAYgBj")[0] == 504
        client.sendmail(
            "news@sender.test", ["bob@example.test"], message("news@sender.test", "bob", "tls")
        )
    assert b"with ESMTPS (version=TLSv1." in last_message(roost, "bob@example.test")


def test_forged_authentication_results_removed(roost: RoostProcess) -> None:
    forged = (
        "Authentication-Results: mail.example.test; dkim=pass header.d=bank.test\r\n"
        "Authentication-Results: other.test; spf=pass\r\n"
    )
    with mx(roost) as client:
        client.sendmail(
            "news@sender.test",
            ["bob@example.test"],
            message("news@sender.test", "bob@example.test", "forged-ar", forged),
        )
    stored = last_message(roost, "bob@example.test")
    assert b"header.d=bank.test" not in stored
    assert b"Authentication-Results: other.test; spf=pass" in stored
    assert stored.count(b"Authentication-Results: mail.example.test") == 1


def test_unknown_recipient_refused(roost: RoostProcess) -> None:
    with mx(roost) as client:
        client.mail("news@sender.test")
        code, text = client.rcpt("nobody@example.test")
    assert (code, text[:5]) == (550, b"5.1.1")


RELAY_TRICKS = [
    "<someone@elsewhere.test>",
    "<someone%elsewhere.test@example.test>",
    "<elsewhere.test!someone@example.test>",
    "<@example.test:someone@elsewhere.test>",
    '<"someone@elsewhere.test"@example.test>',
    "<someone@elsewhere.test@example.test>",
    "<bob@example.test.>",
    "<someone@elsewhere.test.>",
    "<bob@[127.0.0.1]>",
    "<someone@[192.0.2.1]>",
]


@pytest.mark.parametrize("path", RELAY_TRICKS)
def test_relay_tricks_refused(roost: RoostProcess, path: str) -> None:
    with mx(roost) as client:
        client.mail("news@sender.test")
        code, text = client.docmd("RCPT", f"TO:{path}")
        assert (code, text[:5]) == (550, b"5.7.1"), (path, text)  # the relay check's own reply
        code, _ = client.docmd("DATA")
        assert code == 503  # no recipient was accepted


def test_no_relay_for_a_sender_claiming_a_hosted_domain(roost: RoostProcess) -> None:
    """Every other relay test uses a foreign sender; MAIL FROM in our own domain gives no right
    to relay at the MX (only submission, after AUTH, does)."""
    with mx(roost) as client:
        client.mail("alice@example.test")
        code, text = client.rcpt("someone@elsewhere.test")
        assert (code, text[:5]) == (550, b"5.7.1"), text


def test_relay_refused_with_swaks(roost: RoostProcess) -> None:
    result = subprocess.run(
        ["swaks", "--server", "127.0.0.1", "--port", str(roost.port("smtp")),
         "--from", "spammer@sender.test", "--to", "victim@elsewhere.test"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "550 5.7.1 Relaying denied" in result.stdout


def test_catch_all_and_plus_addressing(roost: RoostProcess) -> None:
    with mx(roost) as client:
        client.sendmail(
            "news@sender.test", ["anything@other.test"], message("news@sender.test", "a", "catch")
        )
        client.sendmail(
            "news@sender.test", ["bob+lists@example.test"], message("news@sender.test", "b", "plus")
        )
    assert b"Subject: catch" in last_message(roost, "alice@example.test")
    assert b"Subject: plus" in last_message(roost, "bob@example.test")


def test_size_limit_advertised_and_enforced(roost: RoostProcess) -> None:
    with mx(roost) as client:
        assert client.esmtp_features["size"] == "20000"
        code, _ = client.docmd("MAIL", "FROM:<news@sender.test> SIZE=30000")
        assert code == 552
        client.rset()
        client.mail("news@sender.test")
        client.rcpt("bob@example.test")
        padding = "".join(f"X-Pad-{n}: {'x' * 70}\r\n" for n in range(400))
        code, _ = client.data(message("news@sender.test", "bob", "big", padding))
        assert code == 552


def test_recipient_limit(roost: RoostProcess) -> None:
    with mx(roost) as client:
        client.mail("news@sender.test")
        codes = [client.rcpt(f"bob+{n}@example.test")[0] for n in range(4)]
    assert codes == [250, 250, 250, 452]


def test_connections_per_ip_limited(roost: RoostProcess) -> None:
    held = [socket.create_connection(("127.0.0.1", roost.port("smtp"))) for _ in range(6)]
    try:
        for sock in held:
            assert sock.recv(100).startswith(b"220 ")
        with socket.create_connection(("127.0.0.1", roost.port("smtp"))) as extra:
            extra.settimeout(10)
            assert extra.recv(100).startswith(b"421 4.7.0")
    finally:
        for sock in held:
            sock.close()


def test_idle_connection_closed_after_command_timeout(roost: RoostProcess) -> None:
    with socket.create_connection(("127.0.0.1", roost.port("smtp"))) as sock:
        sock.settimeout(15)
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"220 ")
        # command_timeout = 3: the server says why (as Postfix does), then closes.
        assert reader.readline().startswith(b"421 4.4.2 ")
        assert reader.read() == b""


def test_data_phase_has_its_own_deadline(roost: RoostProcess) -> None:
    """A client trickling DATA lines faster than command_timeout is still cut off when the
    whole DATA phase exceeds data_timeout (5 s here)."""
    with socket.create_connection(("127.0.0.1", roost.port("smtp"))) as sock:
        sock.settimeout(15)
        reader = sock.makefile("rb")
        reader.readline()
        sock.sendall(b"HELO client.sender.test\r\nMAIL FROM:<news@sender.test>\r\n")
        sock.sendall(b"RCPT TO:<bob@example.test>\r\nDATA\r\n")
        replies = [reader.readline() for _ in range(4)]
        assert replies[3].startswith(b"354")
        started = time.monotonic()
        with contextlib.suppress(OSError):
            while time.monotonic() - started < 12:
                sock.sendall(b"X-Slow: still here\r\n")
                time.sleep(1)
        assert reader.read().startswith(b"421 4.4.2 ")  # then closed by the server
    assert time.monotonic() - started < 12


def test_enhanced_status_codes_and_pipelining(roost: RoostProcess) -> None:
    with socket.create_connection(("127.0.0.1", roost.port("smtp"))) as sock:
        sock.settimeout(10)
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"220 ")
        sock.sendall(b"EHLO client.sender.test\r\n")
        features = []
        while True:
            line = reader.readline()
            features.append(line[4:].strip())
            if line[3:4] == b" ":
                break
        assert b"ENHANCEDSTATUSCODES" in features
        assert b"PIPELINING" in features
        # RFC 2920: the whole transaction in one write; replies come back in order.
        sock.sendall(
            b"MAIL FROM:<news@sender.test>\r\nRCPT TO:<nobody@example.test>\r\n"
            b"RCPT TO:<bob@example.test>\r\nDATA\r\n"
        )
        replies = [reader.readline() for _ in range(4)]
        assert replies[0].startswith(b"250 2.1.0")
        assert replies[1].startswith(b"550 5.1.1")
        assert replies[2].startswith(b"250 2.1.5")
        assert replies[3].startswith(b"354")
        sock.sendall(message("news@sender.test", "bob", "pipelined") + b".\r\nQUIT\r\n")
        assert reader.readline().startswith(b"250 2.0.0")
        assert reader.readline().startswith(b"221 2.0.0")


def test_dmarc_reject_refused(roost: RoostProcess) -> None:
    with mx(roost) as client:
        client.mail("ceo@strict.test")
        client.rcpt("bob@example.test")
        code, text = client.data(message("ceo@strict.test", "bob", "phish"))
    assert (code, text[:5]) == (550, b"5.7.1")
    assert b"Subject: phish" not in roost.export("bob@example.test")


def test_dmarc_quarantine_goes_to_junk(roost: RoostProcess) -> None:
    before = roost.mailbox_counts("bob@example.test")
    with mx(roost) as client:
        client.sendmail(
            "x@quarantine.test", ["bob@example.test"], message("x@quarantine.test", "b", "spammy")
        )
    after = roost.mailbox_counts("bob@example.test")
    assert after["Junk"] == before["Junk"] + 1
    assert after["INBOX"] == before["INBOX"]
    assert b"dmarc=fail" in last_message(roost, "bob@example.test", "Junk")


def test_our_signatures_verify_on_the_way_back_in(roost: RoostProcess) -> None:
    """Mail signed by submission passes DKIM (both keys) and strict DMARC at an MX reading
    the keys from real DNS."""
    with smtplib.SMTP("127.0.0.1", roost.port("submission"), timeout=10) as client:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        client.starttls(context=context)
        client.login("alice@example.test", PASSWORD)
        client.sendmail(
            "alice@example.test",
            ["bob@example.test"],
            message("alice@example.test", "bob@example.test", "roundtrip"),
        )
    signed = last_message(roost, "bob@example.test").split(b"\n", 1)[1]  # drop mbox "From "
    signed = re.sub(rb"^Received:.*?\n(?=\S)", b"", signed, count=1, flags=re.S)
    with mx(roost) as client:
        client.sendmail(
            "alice@example.test",
            ["bob@example.test"],
            signed.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n"),
        )
    stored = last_message(roost, "bob@example.test")
    header = re.search(
        rb"Authentication-Results: mail\.example\.test;(.*?)\r?\n(?! |\t)", stored, re.S
    )
    assert header
    text = header.group(1)
    assert text.count(b"dkim=pass") == 2, text
    assert b"dmarc=pass" in text


def test_nonsense_gets_errors_and_the_server_stays_up(roost: RoostProcess) -> None:
    """Garbage, binary, over-long lines and commands out of order: each gets a 5xx with an
    enhanced code, and the next client is served normally."""
    garbage = [
        b"HELLO?",
        b"\x00\xff\xfe binary \x80",
        b"MAIL FROM:<news@sender.test>",  # before HELO
        b"EHLO client.sender.test",
        b"RCPT TO:<bob@example.test>",  # before MAIL
        b"DATA",  # before RCPT
        b"MAIL FROM:<<>>",
        b"MAIL FROM:<news@sender.test> BODY=WHATEVER",
        b"X" * 5000,
        b"AUTH PLAIN",  # no AUTH on the MX
        b"MAIL FROM:<other@sender.test>",
        b"RCPT TO:<\xff\xfe@example.test>",  # not UTF-8, quoted back in the reply
    ]
    with socket.create_connection(("127.0.0.1", roost.port("smtp"))) as sock:
        sock.settimeout(10)
        reader = sock.makefile("rb")
        reader.readline()
        for line in garbage:
            sock.sendall(line + b"\r\n")
            reply = reader.readline()
            while reply[3:4] == b"-":
                reply = reader.readline()
            if line.startswith((b"EHLO", b"MAIL FROM:<other")):
                assert reply.startswith(b"250 "), reply
            else:
                assert reply[:1] == b"5", (line[:40], reply)
                assert re.match(rb"^5\d\d 5\.\d+\.\d+ ", reply), reply
    with mx(roost) as client:
        assert client.noop()[0] == 250
