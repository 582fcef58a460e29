"""The Postfix test peer (tests/postfix.py) driven by Python's smtplib: delivery to Maildirs,
access-map rejections, STARTTLS with the test CA, SASL on submission and smtps, relay refusal,
and a clean teardown."""

from __future__ import annotations

import smtplib
import socket
import ssl
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.peer.conftest import SASL_USERS
from tests.postfix import PostfixPeer
from tests.smtpsink import SMTPSink


def _message(subject: str, to: list[str], sender: str = "sender@client.test") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@client.test>"
    msg.set_content(f"body of {subject}\n.leading dot line\n")
    return msg


def _unique(domain: str) -> str:
    return f"u{uuid.uuid4().hex[:10]}@{domain}"


def test_plain_delivery_lands_in_maildir(mx: PostfixPeer) -> None:
    rcpt = _unique("peer.test")
    msg = _message("plain delivery", [rcpt])
    with smtplib.SMTP(mx.address, mx.smtp_port, local_hostname="client.test") as smtp:
        code, banner = smtp.ehlo()
        assert code == 250
        assert banner.startswith(b"mx.peer.test")
        assert smtp.send_message(msg) == {}
    [stored] = mx.wait_for(rcpt, 1)
    assert msg["Message-ID"].encode() in stored
    assert b"Subject: plain delivery" in stored
    assert b"\n.leading dot line\n" in stored  # dot-stuffing undone
    assert f"Delivered-To: {rcpt}".encode() in stored
    assert b"Return-Path: <sender@client.test>" in stored


def test_banner_names_the_host(mx: PostfixPeer) -> None:
    with socket.create_connection((mx.address, mx.smtp_port), timeout=5) as sock:
        assert sock.recv(200).startswith(b"220 mx.peer.test ESMTP")


def test_two_recipients_in_one_transaction(mx: PostfixPeer) -> None:
    first, second = _unique("peer.test"), _unique("other.test")
    msg = _message("two recipients", [first, second])
    with smtplib.SMTP(mx.address, mx.smtp_port) as smtp:
        assert smtp.send_message(msg) == {}
    for rcpt in (first, second):
        [stored] = mx.wait_for(rcpt, 1)
        assert msg["Message-ID"].encode() in stored
    assert len(mx.delivered()[first]) == 1


def test_recipient_address_is_matched_without_case(mx: PostfixPeer) -> None:
    rcpt = _unique("peer.test")
    with smtplib.SMTP(mx.address, mx.smtp_port) as smtp:
        smtp.sendmail("s@client.test", [rcpt.upper()], b"Subject: case\r\n\r\nx\r\n")
    assert len(mx.wait_for(rcpt, 1)) == 1


def test_reject_map_gives_450_and_550_per_recipient(mx: PostfixPeer) -> None:
    ok = _unique("peer.test")
    msg = _message("partly refused", [ok, "busy@peer.test", "gone@peer.test"])
    with smtplib.SMTP(mx.address, mx.smtp_port) as smtp:
        refused = smtp.send_message(msg)
    assert refused == {
        "busy@peer.test": (450, b"4.2.0 <busy@peer.test>: Recipient address rejected: try later"),
        "gone@peer.test": (
            550,
            b"5.1.1 <gone@peer.test>: Recipient address rejected: no such user",
        ),
    }
    mx.wait_for(ok, 1)
    assert mx.messages("busy@peer.test") == []
    assert mx.messages("gone@peer.test") == []


def test_reject_map_alone_refuses_the_whole_message(mx: PostfixPeer) -> None:
    with (
        smtplib.SMTP(mx.address, mx.smtp_port) as smtp,
        pytest.raises(smtplib.SMTPRecipientsRefused) as info,
    ):
        smtp.sendmail("s@client.test", ["busy@peer.test"], b"Subject: x\r\n\r\nx\r\n")
    assert info.value.recipients["busy@peer.test"][0] == 450


def test_set_reject_changes_the_answer_for_the_next_session() -> None:
    with PostfixPeer(reject={"later@peer.test": "451 4.3.0 not yet"}) as peer:
        with smtplib.SMTP(peer.address, peer.smtp_port) as smtp:
            smtp.ehlo()
            smtp.mail("s@client.test")
            assert smtp.rcpt("later@peer.test")[0] == 451
        began = time.monotonic()
        peer.set_reject({"other@peer.test": "550 5.7.1 go away"})
        assert time.monotonic() - began < 5
        with smtplib.SMTP(peer.address, peer.smtp_port) as smtp:
            smtp.sendmail("s@client.test", ["later@peer.test"], b"Subject: now\r\n\r\nx\r\n")
            smtp.ehlo()
            smtp.mail("s@client.test")
            assert smtp.rcpt("other@peer.test")[0] == 550
        peer.wait_for("later@peer.test", 1)


def test_relay_to_foreign_domain_refused_on_mx_port(mx: PostfixPeer) -> None:
    with smtplib.SMTP(mx.address, mx.smtp_port) as smtp:
        smtp.ehlo()
        assert "auth" not in smtp.esmtp_features
        smtp.mail("s@client.test")
        code, text = smtp.rcpt("victim@elsewhere.example")
    assert code == 554
    assert b"Relay access denied" in text


def test_starttls_verified_against_the_test_ca(mx: PostfixPeer) -> None:
    rcpt = _unique("peer.test")
    with smtplib.SMTP(mx.address, mx.smtp_port) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        smtp._host = "mx.peer.test"  # the name the client expects in the certificate
        smtp.starttls(context=mx.client_context())
        sock = smtp.sock
        assert isinstance(sock, ssl.SSLSocket)
        assert sock.version() in ("TLSv1.2", "TLSv1.3")
        cert = sock.getpeercert()
        assert ("DNS", "mx.peer.test") in cert["subjectAltName"]
        smtp.ehlo()
        smtp.sendmail("s@client.test", [rcpt], b"Subject: over tls\r\n\r\nx\r\n")
    [stored] = mx.wait_for(rcpt, 1)
    assert b"with ESMTPS" in stored
    assert Path(mx.ca_cert).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")


def test_starttls_fails_without_trusting_the_test_ca(mx: PostfixPeer) -> None:
    with smtplib.SMTP(mx.address, mx.smtp_port) as smtp:
        smtp.ehlo()
        smtp._host = "mx.peer.test"
        with pytest.raises(ssl.SSLCertVerificationError):
            smtp.starttls(context=ssl.create_default_context())


def test_starttls_fails_for_another_host_name(mx: PostfixPeer) -> None:
    with smtplib.SMTP(mx.address, mx.smtp_port) as smtp:
        smtp.ehlo()
        smtp._host = "mx.wrong.test"
        with pytest.raises(ssl.SSLCertVerificationError):
            smtp.starttls(context=mx.client_context())


def test_submission_starttls_then_auth_relays_anywhere(smarthost: PostfixPeer) -> None:
    assert smarthost.submission_port is not None
    rcpt = _unique("far.example")
    msg = _message("via submission", [rcpt])
    with smtplib.SMTP(smarthost.address, smarthost.submission_port) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("auth")  # AUTH only after STARTTLS
        smtp._host = "smtp.relay.test"
        smtp.starttls(context=smarthost.client_context())
        smtp.ehlo()
        assert "PLAIN" in smtp.esmtp_features["auth"].split()
        smtp.login("roost", SASL_USERS["roost"])
        assert smtp.send_message(msg) == {}
    [stored] = smarthost.wait_for(rcpt, 1)
    assert msg["Message-ID"].encode() in stored
    assert b"(Authenticated sender: roost" in stored


def test_smtps_implicit_tls_then_auth_relays_anywhere(smarthost: PostfixPeer) -> None:
    assert smarthost.smtps_port is not None
    rcpt = _unique("far.example")
    msg = _message("via smtps", [rcpt])
    # connected by IP: the certificate also names 127.0.0.1, so full checks still pass
    with smtplib.SMTP_SSL(
        smarthost.address, smarthost.smtps_port, context=smarthost.client_context()
    ) as smtp:
        smtp.ehlo()
        assert "PLAIN" in smtp.esmtp_features["auth"].split()
        smtp.login("user@client.test", SASL_USERS["user@client.test"])
        assert smtp.send_message(msg) == {}
    [stored] = smarthost.wait_for(rcpt, 1)
    assert msg["Message-ID"].encode() in stored


def test_submission_refuses_mail_before_starttls(smarthost: PostfixPeer) -> None:
    assert smarthost.submission_port is not None
    with smtplib.SMTP(smarthost.address, smarthost.submission_port) as smtp:
        smtp.ehlo()
        code, text = smtp.mail("s@client.test")
    assert code == 530
    assert b"STARTTLS" in text


def test_unauthenticated_relay_refused_on_submission(smarthost: PostfixPeer) -> None:
    assert smarthost.submission_port is not None
    with smtplib.SMTP(smarthost.address, smarthost.submission_port) as smtp:
        smtp.starttls(context=_no_name_check(smarthost))
        smtp.ehlo()
        smtp.mail("s@client.test")
        code, _ = smtp.rcpt("victim@elsewhere.example")
    assert code == 554


def test_unauthenticated_relay_refused_on_smtps(smarthost: PostfixPeer) -> None:
    assert smarthost.smtps_port is not None
    with smtplib.SMTP_SSL(
        smarthost.address, smarthost.smtps_port, context=_no_name_check(smarthost)
    ) as smtp:
        smtp.ehlo()
        smtp.mail("s@client.test")
        code, _ = smtp.rcpt("victim@elsewhere.example")
    assert code == 554


def test_unauthenticated_relay_refused_on_smarthost_mx_port(smarthost: PostfixPeer) -> None:
    with smtplib.SMTP(smarthost.address, smarthost.smtp_port) as smtp:
        smtp.ehlo()
        smtp.mail("s@client.test")
        code, _ = smtp.rcpt("victim@elsewhere.example")
    assert code == 554


def test_wrong_password_refused(smarthost: PostfixPeer) -> None:
    assert smarthost.smtps_port is not None
    with (
        smtplib.SMTP_SSL(
            smarthost.address, smarthost.smtps_port, context=_no_name_check(smarthost)
        ) as smtp,
        pytest.raises(smtplib.SMTPAuthenticationError) as info,
    ):
        smtp.login("roost", "not the password")
    assert info.value.smtp_code == 535


def test_relayhost_forwards_to_smtp_sink() -> None:
    with (
        SMTPSink() as sink,
        PostfixPeer(sasl_users={"r": "p"}, relayhost=f"[127.0.0.1]:{sink.port}") as peer,
    ):
        assert peer.submission_port is not None
        with smtplib.SMTP(peer.address, peer.submission_port) as smtp:
            smtp.starttls(context=_no_name_check(peer))
            smtp.login("r", "p")
            smtp.sendmail("s@client.test", ["far@away.test"], b"Subject: onward\r\n\r\nx\r\n")
        [got] = sink.wait_for(1)
        assert got.rcpt_to[0].startswith("<far@away.test>")
        assert got.helo == "mx.peer.test"
        assert b"Subject: onward" in got.data
        assert peer.messages("far@away.test") == []


def test_relay_for_loopback_relays_without_auth_on_the_mx_port() -> None:
    with (
        SMTPSink() as sink,
        PostfixPeer(relay_for_loopback=True, relayhost=f"[127.0.0.1]:{sink.port}") as peer,
    ):
        msg = _message("open relay", ["far@away.test"])
        with smtplib.SMTP(peer.address, peer.smtp_port) as smtp:
            assert smtp.send_message(msg) == {}
        [got] = sink.wait_for(1)
        assert msg["Message-ID"].encode() in got.data


def test_message_ids_counts_duplicates(mx: PostfixPeer) -> None:
    rcpt = _unique("peer.test")
    msg = _message("twice", [rcpt])
    with smtplib.SMTP(mx.address, mx.smtp_port) as smtp:
        smtp.send_message(msg)
        smtp.send_message(msg)
    mx.wait_for(rcpt, 2)
    assert mx.message_ids(rcpt) == [msg["Message-ID"]] * 2
    assert mx.message_ids().count(msg["Message-ID"]) == 2


def test_teardown_leaves_no_process_and_no_files() -> None:
    peer = PostfixPeer(sasl_users={"a": "b"})
    with peer:
        pid = peer.master_pid
        assert pid is not None
        members = peer.processes()
        assert pid in members
        assert len(members) >= 3  # master, qmgr, pickup at least
        root = peer.root
        assert (peer.queue_dir / "pid" / "master.pid").read_text().split()[0] == str(pid)
        assert peer.startup_seconds < 20
    assert peer.master_pid is None
    for member in members:
        assert not _alive(member), f"process {member} survived teardown"
    assert not root.exists()


def test_failed_start_reports_postfix_error_and_cleans_up() -> None:
    peer = PostfixPeer(main_cf={"default_process_limit": "lots"})
    with pytest.raises(RuntimeError, match="bad numerical configuration"):
        peer.start()
    assert peer.master_pid is None
    assert not peer.root.exists()


def test_two_instances_run_side_by_side(mx: PostfixPeer) -> None:
    with PostfixPeer(["second.test"], hostname="mx.second.test") as other:
        assert other.smtp_port != mx.smtp_port
        assert other.config_dir != mx.config_dir
        rcpt = _unique("second.test")
        with smtplib.SMTP(other.address, other.smtp_port) as smtp:
            smtp.sendmail("s@client.test", [rcpt], b"Subject: second\r\n\r\nx\r\n")
        other.wait_for(rcpt, 1)
        assert mx.messages(rcpt) == []


def _no_name_check(peer: PostfixPeer) -> ssl.SSLContext:
    """Trust the peer's CA, but connect by IP without the host name (smtplib's default)."""
    context = peer.client_context()
    context.check_hostname = False
    return context


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[-1].split()[0]
    except OSError:
        return False
    return state not in (b"Z", b"X")
