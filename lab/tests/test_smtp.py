"""The peer (MX of peer.test, verifying what it receives) and the relay (SASL smarthost)."""

from __future__ import annotations

import email
import email.policy
import smtplib
import ssl
import time
import urllib.request
import uuid
from pathlib import Path

import dkim
import dns.message
import dns.query
import dns.rcode
import dns.tsigkeyring
import dns.update
import pytest
from aiosmtpd.controller import Controller

from conftest import Lab


def tls(lab: Lab) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=lab.ca)


def wait_for_mail(lab: Lab, box: str, token: str, timeout: float = 20) -> email.message.EmailMessage:
    """The message carrying TOKEN in its Subject, once it lands in the peer's Maildir BOX."""
    new = Path(lab.facts["peer"]["maildir"]) / box / "new"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in new.glob("*") if new.exists() else []:
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if token in str(msg["Subject"]):
                return msg  # type: ignore[return-value]
        time.sleep(0.3)
    log = Path(lab.facts["peer"]["log"]).read_text()[-3000:]
    raise AssertionError(f"no message {token} in {new}; peer log tail:\n{log}")


def message(sender: str, rcpt: str, token: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: {rcpt}\r\nSubject: lab test {token}\r\n"
        f"Message-ID: <{token}@lab.test>\r\n\r\nHello from the lab.\r\n"
    ).encode()


def test_peer_banner_and_starttls(lab: Lab) -> None:
    with smtplib.SMTP("mx.peer.test", 25, timeout=10) as smtp:
        code, banner = smtp.ehlo("ctl.lab.test")
        assert code == 250 and b"STARTTLS" in banner
        smtp.starttls(context=tls(lab))  # certificate for mx.peer.test from the lab CA
        assert smtp.ehlo()[0] == 250


@pytest.mark.parametrize("port", [587, 2525])
def test_relay_starttls_ports_require_auth(lab: Lab, port: int) -> None:
    with smtplib.SMTP("relay.lab.test", port, timeout=10) as smtp:
        assert b"relay.lab.test" in smtp.ehlo()[1]
        assert not smtp.has_extn("auth")  # AUTH only after TLS
        smtp.starttls(context=tls(lab))
        smtp.ehlo()
        assert "PLAIN" in smtp.esmtp_features["auth"].upper()
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            smtp.sendmail("anyone@example.test", ["carol@peer.test"], b"Subject: x\r\n\r\nx\r\n")


def test_relay_refuses_wrong_password(lab: Lab) -> None:
    creds = lab.json("relay", "credentials")
    with smtplib.SMTP_SSL("relay.lab.test", 465, timeout=10, context=tls(lab)) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login(creds["username"], "wrong-password")


def test_relay_delivers_for_authenticated_client_and_peer_records_verdicts(lab: Lab) -> None:
    """Through the relay (465) to the peer, which is not in peer.test's SPF: the
    peer must record spf=fail, dkim=none and dmarc=fail, and still deliver."""
    creds = lab.json("relay", "credentials")
    token = uuid.uuid4().hex
    with smtplib.SMTP_SSL("relay.lab.test", 465, timeout=10, context=tls(lab)) as smtp:
        smtp.login(creds["username"], creds["password"])
        smtp.sendmail(
            "spoof@peer.test", ["carol@peer.test"], message("spoof@peer.test", "carol@peer.test", token)
        )
    msg = wait_for_mail(lab, "carol", token)
    results = " ".join(msg.get_all("Authentication-Results"))
    assert "mx.peer.test" in results
    assert "spf=fail" in results
    assert "dkim=none" in results
    assert "dmarc=fail" in results
    assert "relay.lab.test" in msg["Received"]


def test_vps_reaches_the_peer_on_port_25(lab: Lab) -> None:
    token = uuid.uuid4().hex
    body = message("root@example.test", "bob@peer.test", token)
    lab.vps_python(
        "import smtplib\n"
        "with smtplib.SMTP('mx.peer.test', 25, timeout=10) as s:\n"
        f"    s.sendmail('root@example.test', ['bob@peer.test'], {body!r})\n"
    )
    msg = wait_for_mail(lab, "bob", token)
    assert "spf=none" in " ".join(msg.get_all("Authentication-Results"))


def test_peer_sends_to_our_domains_dkim_signed(lab: Lab) -> None:
    """The peer delivers to the MX of one of our domains (here a sink in the
    controller namespace, published through RFC 2136), signed by peer.test."""
    key = lab.json("dns", "tsig")
    sub = "sink" + uuid.uuid4().hex[:8]
    keyring = dns.tsigkeyring.from_text({key["name"]: key["secret"]})
    update = dns.update.UpdateMessage(
        "example.test", keyring=keyring, keyname=key["name"], keyalgorithm=key["algorithm"]
    )
    update.add(sub, 60, "MX", "10 ctl.lab.test.")
    assert dns.query.tcp(update, lab.addr("dns"), timeout=5).rcode() == dns.rcode.NOERROR

    class Sink:
        def __init__(self) -> None:
            self.received: list[bytes] = []

        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
            self.received.append(envelope.content)  # type: ignore[attr-defined]
            return "250 OK"

    sink = Sink()
    controller = Controller(sink, hostname=lab.addr("ctl"), port=25)
    controller.start()
    try:
        token = uuid.uuid4().hex
        rcpt = f"someone@{sub}.example.test"
        with smtplib.SMTP("mx.peer.test", 25, timeout=10) as smtp:
            smtp.sendmail("alice@peer.test", [rcpt], message("alice@peer.test", rcpt, token))
        deadline = time.monotonic() + 20
        while not sink.received and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        controller.stop()
    assert sink.received, "the peer never delivered to the MX of " + f"{sub}.example.test"
    raw = sink.received[0]
    assert b"d=peer.test" in raw and b"s=lab" in raw
    assert dkim.verify(raw), "the peer's DKIM signature does not verify against the lab DNS"


def test_lab_exec_reaches_the_containers(lab: Lab) -> None:
    assert lab.tool("lab-exec", "peer", "postconf", "-h", "myhostname").stdout.strip() == "mx.peer.test"
    active = lab.tool("lab-exec", "relay", "systemctl", "is-active", "postfix", "dovecot").stdout.split()
    assert active == ["active", "active"]


def test_peer_publishes_an_enforced_mta_sts_policy(lab: Lab) -> None:
    context = ssl.create_default_context(cafile=lab.ca)
    with urllib.request.urlopen(lab.facts["peer"]["mta_sts_policy"], context=context, timeout=10) as resp:
        policy = resp.read().decode()
    assert {"version: STSv1", "mode: enforce", "mx: mx.peer.test"} <= set(policy.splitlines())
    records = {
        name: b"".join(
            dns.query.udp(dns.message.make_query(name, "TXT"), lab.addr("dns"), timeout=3)
            .answer[0][0]
            .strings
        )
        for name in ("_mta-sts.peer.test", "_smtp._tls.peer.test")
    }
    assert records["_mta-sts.peer.test"].startswith(b"v=STSv1; id=")
    assert records["_smtp._tls.peer.test"] == b"v=TLSRPTv1; rua=mailto:tls-reports@peer.test"
