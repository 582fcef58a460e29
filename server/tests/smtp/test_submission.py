"""Submission on 587 (STARTTLS) and 465 (implicit TLS), driven by swaks and smtplib."""

from __future__ import annotations

import base64
import smtplib
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.roostproc import RoostProcess, roost_dev, tls_client

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def roost(knot_address: str) -> Iterator[RoostProcess]:
    extra = "[limits]\nauth_failures_per_ip = 4\nauth_failures_per_account = 3\n"
    with roost_dev(nameserver=knot_address, extra_config=extra) as proc:
        proc.add_user("alice@example.test", PASSWORD)
        proc.add_user("bob@example.test", PASSWORD)
        proc.add_user("mallory@example.test", PASSWORD)
        proc.cli("alias", "add", "team@example.test", "alice@example.test", "bob@example.test")
        proc.start()
        yield proc
        assert proc.stop() == 0


def submit(roost: RoostProcess, user: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "swaks", "--server", "127.0.0.1", "--port", str(roost.port("submission")), "--tls",
            "--auth", "PLAIN", "--auth-user", user, "--auth-password", PASSWORD, *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip


def test_starttls_auth_plain_delivers_signed_message(roost: RoostProcess) -> None:
    before = roost.mailbox_counts("bob@example.test")["INBOX"]
    result = submit(
        roost,
        "alice@example.test",
        "--from", "alice@example.test", "--to", "bob@example.test",
        "--header", "Subject: signed", "--body", "hello bob",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "250 2.0.0" in result.stdout
    assert roost.mailbox_counts("bob@example.test")["INBOX"] == before + 1
    stored = roost.export("bob@example.test")
    last = stored.split(b"\nFrom ")[-1]
    assert b"a=rsa-sha256" in last
    assert b"a=ed25519-sha256" in last
    assert b"with ESMTPSA" in last
    assert b"hello bob" in last


def test_auth_refused_before_starttls_on_587(roost: RoostProcess) -> None:
    with smtplib.SMTP("127.0.0.1", roost.port("submission"), timeout=10) as client:
        client.ehlo("client.test")
        assert not client.has_extn("auth")
        code, text = client.docmd("AUTH", "PLAIN AGFsaWNlAHg=")
        assert code == 530, text
        code, _ = client.docmd("MAIL", "FROM:<alice@example.test>")
        assert code == 530


def test_implicit_tls_on_465_with_auth_login(roost: RoostProcess) -> None:
    with smtplib.SMTP_SSL(
        "127.0.0.1", roost.port("submissions"), context=tls_client(), timeout=10
    ) as client:
        client.ehlo("client.test")
        assert "LOGIN" in client.esmtp_features["auth"]
        client.login("alice@example.test", PASSWORD)
    with smtplib.SMTP_SSL(
        "127.0.0.1", roost.port("submissions"), context=tls_client(), timeout=10
    ) as client:
        client.ehlo("client.test")
        client.user, client.password = "alice@example.test", PASSWORD
        code, _ = client.auth("LOGIN", client.auth_login, initial_response_ok=False)
        assert code == 235
        client.sendmail(
            "alice@example.test",
            ["bob@example.test"],
            b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: 465\r\n\r\nvia 465\r\n",
        )
    assert b"via 465" in roost.export("bob@example.test")


def test_message_id_and_date_added_when_missing(roost: RoostProcess) -> None:
    with smtplib.SMTP("127.0.0.1", roost.port("submission"), timeout=10) as client:
        client.starttls(context=tls_client())
        client.login("alice@example.test", PASSWORD)
        client.sendmail(
            "alice@example.test",
            ["bob@example.test"],
            b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: bare\r\n\r\nbare\r\n",
        )
    last = roost.export("bob@example.test").split(b"\nFrom ")[-1]
    assert b"Message-ID: <" in last
    assert b"@example.test>" in last
    assert b"\nDate: " in last


def test_cannot_send_as_someone_else(roost: RoostProcess) -> None:
    with smtplib.SMTP("127.0.0.1", roost.port("submission"), timeout=10) as client:
        client.starttls(context=tls_client())
        client.ehlo("client.test")
        client.login("mallory@example.test", PASSWORD)
        code, text = client.mail("alice@example.test")
        assert (code, text[:5]) == (553, b"5.7.1")
        client.rset()
        assert client.mail("mallory@example.test")[0] == 250
        assert client.rcpt("bob@example.test")[0] == 250
        code, text = client.data(
            b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: forged\r\n\r\nx\r\n"
        )
        assert (code, text[:5]) == (553, b"5.7.1")
    assert b"Subject: forged" not in roost.export("bob@example.test")


def test_alias_member_may_send_as_alias(roost: RoostProcess) -> None:
    result = submit(
        roost, "bob@example.test",
        "--from", "team@example.test", "--to", "alice@example.test",
        "--header", "From: team@example.test", "--header", "Subject: from the team",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout
    assert b"Subject: from the team" in roost.export("alice@example.test")


def test_remote_recipient_is_queued_not_dropped(roost: RoostProcess) -> None:
    """elsewhere.test is served by no DNS server here: the message waits in the queue."""
    with smtplib.SMTP("127.0.0.1", roost.port("submission"), timeout=10) as client:
        client.starttls(context=tls_client())
        client.login("alice@example.test", PASSWORD)
        refused = client.sendmail(
            "alice@example.test",
            ["someone@elsewhere.test"],
            b"From: alice@example.test\r\nSubject: far away\r\n\r\nx\r\n",
        )
    assert refused == {}
    deadline = time.monotonic() + 20
    while "last error" not in (listing := roost.cli("queue", "list").stdout):
        assert time.monotonic() < deadline, listing
        time.sleep(0.1)
    assert "<someone@elsewhere.test>  attempts 1" in listing
    assert "DNS lookup for elsewhere.test failed" in listing


def auth_plain(roost: RoostProcess, account: str, password: str, source: str) -> int:
    """One AUTH PLAIN on a fresh STARTTLS connection from `source` (an address of 127/8, one
    per test, so no test meets the failures another left); returns the reply code."""
    credentials = base64.b64encode(f"\0{account}\0{password}".encode()).decode()
    with smtplib.SMTP(
        "127.0.0.1", roost.port("submission"), timeout=10, source_address=(source, 0)
    ) as client:
        client.starttls(context=tls_client())
        client.ehlo("client.test")
        return client.docmd("AUTH", f"PLAIN {credentials}")[0]


def test_failed_logins_are_throttled_per_account(roost: RoostProcess) -> None:
    ip = "127.0.1.1"
    assert [auth_plain(roost, "mallory@example.test", "wrong", ip) for _ in range(3)] == [535] * 3
    # Locked now: even the right password is not checked, from any address.
    assert auth_plain(roost, "mallory@example.test", PASSWORD, "127.0.1.2") == 454
    # Nor in another spelling of the same account (case, a fullwidth letter in the domain).
    assert auth_plain(roost, "Mallory@EXAMPLE.test", PASSWORD, "127.0.1.3") == 454
    assert auth_plain(roost, "mallory@\uff45xample.test", PASSWORD, "127.0.1.4") == 454


def test_malformed_login_is_an_ordinary_failure(roost: RoostProcess) -> None:
    assert auth_plain(roost, "not-an-address", "whatever", "127.0.2.1") == 535


def test_failed_logins_are_throttled_per_ip(roost: RoostProcess) -> None:
    """Fresh account names each time: only the per-IP limit (4 here) can stop them."""
    codes = [auth_plain(roost, f"ghost{n}@example.test", "guess", "127.0.3.1") for n in range(5)]
    assert codes[-1] == 454
    assert set(codes) <= {535, 454}


def test_secrets_and_bodies_stay_out_of_the_log(roost: RoostProcess) -> None:
    text = roost.log.read_text()
    assert PASSWORD not in text
    assert "hello bob" not in text
    assert "submitted" in text
