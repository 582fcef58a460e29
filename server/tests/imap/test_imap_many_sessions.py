"""Many sessions, one truth: each session learns of the others' changes, of SMTP deliveries
and of the CLI, at the points RFC 9051 §7.5.1 allows (and IDLE, RFC 2177, as they happen)."""

from __future__ import annotations

import os
import re
import smtplib
import socket
import subprocess
import sys
import time
import tomllib

from tests.imap.conftest import ALICE, PASSWORD, Connect, fresh_mailbox, message
from tests.imap.test_imap_session import command, raw_session
from tests.roostproc import RoostProcess


def test_flag_changes_reach_the_other_session_on_noop(connect: Connect) -> None:
    first, second = connect(), connect()
    fresh_mailbox(first, "Shared", 3)
    first.select("Shared")
    second.select("Shared")
    first.store("2", "+FLAGS", "(\\Flagged)")
    _typ, _ = second.noop()
    fetched = second.untagged_responses.pop("FETCH", [])
    assert any(re.match(rb"2 \(FLAGS \(\\Flagged\)\)", line) for line in fetched), fetched


def test_flag_changes_carry_uid_and_modseq_under_condstore(connect: Connect) -> None:
    """RFC 7162 §3.1: once CONDSTORE is on, another session's change comes with UID and MODSEQ."""
    first, second = connect(), connect()
    fresh_mailbox(first, "SharedCond", 3)
    first.select("SharedCond")
    second.enable("CONDSTORE")
    second.select("SharedCond")
    uid = re.search(rb"UID (\d+)", first.fetch("2", "(UID)")[1][0]).group(1)  # type: ignore[union-attr]
    first.store("2", "+FLAGS", "(\\Flagged)")
    second.noop()
    fetched = second.untagged_responses.pop("FETCH", [])
    assert len(fetched) == 1, fetched
    pattern = rb"2 \(UID %s FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)" % uid
    assert re.fullmatch(pattern, fetched[0]), fetched


def test_expunge_reaches_the_other_session_but_not_during_fetch(connect: Connect) -> None:
    first, second = connect(), connect()
    fresh_mailbox(first, "Gone", 3)
    first.select("Gone")
    second.select("Gone")
    first.store("1", "+FLAGS", "(\\Deleted)")
    first.expunge()
    # RFC 9051 §7.5.1: no EXPUNGE during FETCH; message 1 keeps its number meanwhile.
    second.fetch("1:3", "(UID)")
    assert "EXPUNGE" not in second.untagged_responses
    second.noop()
    assert second.untagged_responses.pop("EXPUNGE") == [b"1"]
    _typ, data = second.fetch("1:*", "(UID)")
    assert [re.search(rb"UID (\d+)", d).group(1) for d in data] == [b"2", b"3"]


def test_new_messages_show_as_exists(connect: Connect) -> None:
    first, second = connect(), connect()
    fresh_mailbox(first, "Arrivals", 1)
    assert second.select("Arrivals")[1] == [b"1"]
    second.untagged_responses.clear()
    first.append("Arrivals", None, None, message("arrival"))
    second.noop()
    assert second.untagged_responses.pop("EXISTS") == [b"2"]


def test_idle_is_woken_by_an_smtp_delivery(roost: RoostProcess) -> None:
    sock = raw_session(roost)
    command(sock, "a", f"LOGIN {ALICE} {{{len(PASSWORD)}+}}\r\n{PASSWORD}".encode())
    selected = command(sock, "b", b"SELECT INBOX")
    exists = int(re.search(rb"\* (\d+) EXISTS", selected).group(1))
    sock.sendall(b"c IDLE\r\n")
    assert sock.recv(1024).startswith(b"+ ")
    sent_at = time.monotonic()
    with smtplib.SMTP("127.0.0.1", roost.port("smtp"), timeout=30) as smtp:
        smtp.sendmail("carol@example.org", [ALICE], message("pushed"))
    sock.settimeout(30)  # a stall is the bug: the change feed should wake IDLE at once
    pushed = b""
    while b"EXISTS" not in pushed:
        chunk = sock.recv(1024)
        assert chunk, "connection closed during IDLE"
        pushed += chunk
    waited = time.monotonic() - sent_at
    assert f"* {exists + 1} EXISTS".encode() in pushed
    assert waited < 30
    sock.sendall(b"DONE\r\n")
    reply = b""
    while b"c OK" not in reply:
        reply += sock.recv(1024)
    assert command(sock, "d", b"NOOP").endswith(b"d OK NOOP completed\r\n")
    sock.close()


def test_idle_sees_another_sessions_flag_change(connect: Connect, roost: RoostProcess) -> None:
    other = connect()
    fresh_mailbox(other, "Watched", 1)
    sock = raw_session(roost)
    command(sock, "a", f"LOGIN {ALICE} {{{len(PASSWORD)}+}}\r\n{PASSWORD}".encode())
    command(sock, "b", b"SELECT Watched")
    sock.sendall(b"c IDLE\r\n")
    assert sock.recv(1024).startswith(b"+ ")
    other.select("Watched")
    other.store("1", "+FLAGS", "(\\Answered)")
    sock.settimeout(30)
    pushed = b""
    while b"FETCH" not in pushed:
        pushed += sock.recv(1024)
    assert b"* 1 FETCH (FLAGS (\\Answered))" in pushed
    sock.sendall(b"DONE\r\n")
    sock.close()


def test_qresync_after_a_disconnect_returns_exactly_the_vanished_uids(connect: Connect) -> None:
    client = connect()
    fresh_mailbox(client, "Resync", 5)
    client._simple_command("ENABLE", "QRESYNC")
    typ, _data = client.select("Resync")
    uidvalidity = client.untagged_responses["OK"]
    status = client.status("Resync", "(UIDVALIDITY HIGHESTMODSEQ)")[1][0]
    validity, modseq = re.search(rb"UIDVALIDITY (\d+) HIGHESTMODSEQ (\d+)", status).groups()
    uids = [int(re.search(rb"UID (\d+)", d).group(1)) for d in client.fetch("1:*", "(UID)")[1]]
    client.logout()
    other = connect()
    other.select("Resync")
    other.uid("STORE", f"{uids[1]},{uids[3]}", "+FLAGS.SILENT", "(\\Deleted)")
    other.expunge()
    other.uid("STORE", str(uids[4]), "+FLAGS.SILENT", "(\\Seen)")
    again = connect()
    again._simple_command("ENABLE", "QRESYNC")
    typ, _ = again._simple_command(
        "SELECT", "Resync", f"(QRESYNC ({validity.decode()} {modseq.decode()}))"
    )
    assert typ == "OK"
    assert again.untagged_responses.pop("VANISHED") == [f"(EARLIER) {uids[1]},{uids[3]}".encode()]
    changed = again.untagged_responses.pop("FETCH")
    assert len(changed) == 1 and f"UID {uids[4]}".encode() in changed[0]
    assert uidvalidity


def test_other_sessions_keep_working_while_one_misbehaves(
    connect: Connect, roost: RoostProcess
) -> None:
    bad = socket.create_connection(("127.0.0.1", roost.port("imap")), 30)
    bad.sendall(b"\xff\x00garbage\r\n" * 100 + b"x" * 200_000)
    client = connect()
    assert client.noop()[0] == "OK"
    bad.close()


def test_idle_sees_a_write_from_another_process(roost: RoostProcess) -> None:
    """Another process on the same store (the CLI, a second Roost) reaches no in-process
    change feed; IDLE still learns of it by looking at the store now and then."""
    sock = raw_session(roost)
    command(sock, "a", f"LOGIN {ALICE} {{{len(PASSWORD)}+}}\r\n{PASSWORD}".encode())
    command(sock, "b", b"CREATE Elsewhere")
    selected = command(sock, "c", b"SELECT Elsewhere")
    assert b"* 0 EXISTS" in selected
    sock.sendall(b"d IDLE\r\n")
    assert sock.recv(1024).startswith(b"+ ")
    # A separate process as the server's user (files it writes must stay the server's).
    script = (
        "import sys; from pathlib import Path; from roost.store.sqlite import SQLiteStore; "
        "s = SQLiteStore(Path(sys.argv[1])); "
        "s.append(sys.argv[2], 'Elsewhere', sys.stdin.buffer.read()); s.close()"
    )
    config = tomllib.loads(roost.config.read_text())
    subprocess.run(
        [sys.executable, "-c", script, config["state_dir"], ALICE],
        input=message("from another process"),
        user=config["user"] if os.geteuid() == 0 else None,
        check=True,
        timeout=60,
    )
    sock.settimeout(30)  # the server looks every few seconds; a stall is the bug
    pushed = b""
    while b"EXISTS" not in pushed:
        chunk = sock.recv(1024)
        assert chunk, "connection closed during IDLE"
        pushed += chunk
    assert b"* 1 EXISTS" in pushed
    sock.sendall(b"DONE\r\n")
    sock.close()
