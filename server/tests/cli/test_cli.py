"""The `roost` command line: accounts, aliases, domains, folders, DKIM keys, and the server's
life cycle (privilege drop, clean stop), each run as a real process."""

from __future__ import annotations

import json
import mailbox
import os
import pwd
import smtplib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.roostproc import RoostProcess, roost_dev, tls_client


@pytest.fixture
def dev() -> Iterator[RoostProcess]:
    with roost_dev() as proc:
        yield proc


def test_users_lifecycle(dev: RoostProcess) -> None:
    dev.add_user("Alice@Example.TEST", "first password")
    dev.add_user("bob@example.test", "bob's password")
    assert dev.cli("user", "list").stdout.split() == ["alice@example.test", "bob@example.test"]
    dev.cli("user", "passwd", "alice@example.test", "--password-stdin", stdin="second\n")
    dev.cli("user", "del", "bob@example.test")
    assert dev.cli("user", "list").stdout.split() == ["alice@example.test"]


def test_user_in_unknown_domain_names_the_fix(dev: RoostProcess) -> None:
    result = dev.cli(
        "user", "add", "eve@nowhere.test", "--password-stdin", stdin="pw\n", check=False
    )
    assert result.returncode == 1
    assert "roost domain add nowhere.test" in result.stderr
    assert "Traceback" not in result.stderr


def test_empty_password_refused(dev: RoostProcess) -> None:
    result = dev.cli("user", "add", "a@example.test", "--password-stdin", stdin="\n", check=False)
    assert result.returncode == 1
    assert "empty" in result.stderr


def test_new_user_gets_special_use_folders(dev: RoostProcess) -> None:
    dev.add_user("carol@example.test", "pw-carol")
    listing = dev.cli("mailbox", "list", "carol@example.test").stdout
    folders = dict(line.split("\t", 1) for line in listing.splitlines())
    assert folders["INBOX"] == "0"
    for name in ("Sent", "Drafts", "Trash", "Junk", "Archive"):
        assert folders[name] == f"0 \\{name}"


def test_aliases_and_domains(dev: RoostProcess) -> None:
    dev.add_user("alice@example.test", "pw")
    added = dev.cli("domain", "add", "second.test").stdout
    assert "created DKIM keys" in added
    assert dev.cli("domain", "list").stdout.split() == ["example.test", "second.test"]
    dev.cli("alias", "add", "@second.test", "alice@example.test")
    dev.cli("alias", "add", "team@example.test", "alice@example.test", "friend@remote.test")
    listing = dev.cli("alias", "list").stdout
    assert "@second.test -> alice@example.test" in listing
    assert "team@example.test -> alice@example.test, friend@remote.test" in listing
    refused = dev.cli("domain", "del", "second.test", check=False)
    assert refused.returncode == 1  # an alias still lives there
    dev.cli("alias", "del", "@second.test")
    dev.cli("domain", "del", "second.test")
    assert dev.cli("domain", "list").stdout.split() == ["example.test"]


def test_dkim_keygen_and_dns_records(dev: RoostProcess) -> None:
    dev.cli("dkim", "keygen", "example.test", "--algorithm", "ed25519", "--selector", "extra")
    again = dev.cli("dkim", "keygen", "example.test", "--selector", "extra", check=False)
    assert again.returncode == 1
    records = dev.cli("dkim", "dns", "example.test").stdout.splitlines()
    names = [line.split()[0] for line in records]
    assert "extra._domainkey.example.test." in names
    rsa = next(line for line in records if "k=rsa" in line)
    strings = rsa.split(" IN TXT ", 1)[1].split('" "')
    assert len(strings) >= 2  # a 2048-bit key does not fit one string
    assert all(len(s.strip('"').encode()) <= 255 for s in strings)
    assert "k=ed25519" in " ".join(records)


def submit(dev: RoostProcess, message: bytes) -> None:
    """alice@example.test (password pw-alice-1) sends MESSAGE to herself on port 465."""
    with smtplib.SMTP_SSL(
        "127.0.0.1", dev.port("submissions"), context=tls_client(), timeout=10
    ) as client:
        client.login("alice@example.test", "pw-alice-1")
        client.sendmail("alice@example.test", ["alice@example.test"], message)


def test_serve_drops_privileges_stops_cleanly_and_exports(dev: RoostProcess) -> None:
    dev.add_user("alice@example.test", "pw-alice-1")
    dev.start()
    assert dev.process is not None
    status = Path(f"/proc/{dev.process.pid}/status").read_text()
    uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
    if os.geteuid() == 0:
        assert uid == pwd.getpwnam("nobody").pw_uid
    submit(
        dev,
        b"From: alice@example.test\r\nSubject: note to self\r\n\r\n"
        b"From here on\r\n>From quoted\r\n",
    )
    assert dev.stop() == 0
    assert "stopped" in dev.log.read_text()
    exported = dev.export("alice@example.test")
    # mboxrd: every ">*From " body line gains one more ">", so the export is reversible.
    assert b"\n>From here on" in exported
    assert b"\n>>From quoted" in exported
    out = dev.directory / "inbox.mbox"
    out.write_bytes(exported)
    messages = list(mailbox.mbox(out))
    assert len(messages) == 1
    assert messages[0]["Subject"] == "note to self"


def test_dev_config_serves_imap_on_143_and_993(dev: RoostProcess) -> None:
    dev.start()
    with socket.create_connection(("127.0.0.1", dev.port("imap")), timeout=10) as sock:
        greeting = sock.recv(1000)
    assert greeting.startswith(b"* OK [CAPABILITY IMAP4rev1 IMAP4rev2")
    assert b" STARTTLS " in greeting and b" LOGINDISABLED " in greeting
    raw = socket.create_connection(("127.0.0.1", dev.port("imaps")), timeout=10)
    with tls_client().wrap_socket(raw) as sock:
        greeting = sock.recv(1000)
    assert greeting.startswith(b"* OK [CAPABILITY") and b"AUTH=PLAIN" in greeting


def test_init_refuses_to_overwrite(dev: RoostProcess) -> None:
    result = dev.cli("init", "--dev", str(dev.directory), "--domain", "x.test", check=False)
    assert result.returncode == 1
    assert "exists already" in result.stderr
    assert dev.cli("config", "check").returncode == 0


def test_serve_names_a_missing_certificate(dev: RoostProcess) -> None:
    cert = dev.directory / "tls" / "cert.pem"
    cert.rename(cert.with_suffix(".moved"))
    result = dev.cli("serve", check=False)
    assert result.returncode == 1
    assert f"tls.cert: {cert} does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_names_a_busy_port_and_the_key_to_change(dev: RoostProcess) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", dev.port("submission")))
        squatter.listen()
        result = dev.cli("serve", check=False)
    assert result.returncode == 1
    assert "Address already in use" in result.stderr
    assert "change listeners.submission" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_explains_a_state_dir_the_service_user_cannot_write(dev: RoostProcess) -> None:
    """The suite runs as root (make test), so the server drops to nobody."""
    state = dev.directory / "state"
    for path in (state, *state.rglob("*")):
        os.chown(path, 0, 0)
    result = dev.cli("serve", check=False)
    assert result.returncode == 1
    assert f"chown -R nobody {state}" in result.stderr
    assert "Traceback" not in result.stderr


def _send_and_read_selectors(dev: RoostProcess, subject: str) -> list[str]:
    """Sends a message to oneself through submission and returns its DKIM selectors."""
    submit(dev, f"From: alice@example.test\r\nSubject: {subject}\r\n\r\nhello\r\n".encode())
    out = dev.directory / f"{subject}.mbox"
    out.write_bytes(dev.export("alice@example.test"))
    [received] = [m for m in mailbox.mbox(out) if m["Subject"] == subject]
    tags = (dict(t.strip().split("=", 1) for t in h.split(";") if "=" in t) for h in
            received.get_all("DKIM-Signature"))  # fmt: skip
    return sorted(t["s"].strip() for t in tags)


def test_dkim_rotation_switches_the_running_server_after_activate(dev: RoostProcess) -> None:
    dev.add_user("alice@example.test", "pw-alice-1")
    dev.start()
    before = _send_and_read_selectors(dev, "before")
    now = ["--now", "2026-12-01T00:00:00+00:00"]
    ensured = json.loads(dev.cli("dkim", "ensure", "example.test", "--force", *now).stdout)
    created = ensured["example.test"]["created"]
    assert sorted(created) == ["e20261201", "r20261201"]
    # Pending: the running server keeps signing with the old keys.
    assert _send_and_read_selectors(dev, "pending") == before
    activated = json.loads(dev.cli("dkim", "activate", "example.test", *now).stdout)
    assert sorted(activated["example.test"]) == sorted(created)
    assert _send_and_read_selectors(dev, "after") == sorted(created)
    table = dev.cli("dkim", "status", *now).stdout.splitlines()
    assert {line.split()[1]: line.split()[3] for line in table[1:]} == {
        **dict.fromkeys(before, "retiring"), **dict.fromkeys(created, "active"),
    }  # fmt: skip
    later = ["--now", "2026-12-08T00:00:00+00:00"]
    removed = json.loads(dev.cli("dkim", "ensure", "example.test", *later).stdout)
    assert sorted(removed["example.test"]["retired"]) == before
    bad = dev.cli("dkim", "status", "--rotate-days", "0", check=False)
    assert bad.returncode == 1 and "roost_dkim_rotate_days" in bad.stderr
