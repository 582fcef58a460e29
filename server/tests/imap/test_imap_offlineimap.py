"""offlineimap, a second sync client, keeps a multi-folder account and a local Maildir in step:
flag changes and deletions on both sides meet, and a third sync finds nothing to do.

offlineimap3 (Debian 12) does not use CONDSTORE: it compares full UID FETCH (FLAGS) listings
on each run. The server's HIGHESTMODSEQ is still checked below: a sync with nothing to do must
leave every folder's MODSEQ where it was, which is what a CONDSTORE client relies on.
"""

from __future__ import annotations

import email
import hashlib
import imaplib
import os
import re
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.imap.conftest import PASSWORD, Connect, message
from tests.imap.maildir import flags, messages, with_flag
from tests.roostproc import RoostProcess

USER = "offline@example.test"
FOLDERS = {"INBOX": 40, "Work": 30, "Work/Old": 20}
LOCAL = {"INBOX": "INBOX", "Work": "Work", "Work/Old": "Work.Old"}  # Maildir separator is "."


@pytest.fixture(scope="module")
def account(roost: RoostProcess) -> str:
    roost.add_user(USER, PASSWORD)
    return USER


@pytest.fixture
def offlineimaprc(tmp_path: Path, roost: RoostProcess, account: str) -> Iterator[Path]:
    config = tmp_path / "offlineimaprc"
    config.write_text(
        f"""[general]
accounts = roost
metadata = {tmp_path}/metadata
ui = basic

[Account roost]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {tmp_path}/mail

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = {roost.port("imaps")}
ssl = yes
starttls = no
# The dev certificate is self-signed; offlineimap's own CA check matches DNS names only, and
# the certificate names 127.0.0.1 as an IP address: pin exactly that certificate instead.
cert_fingerprint = {_fingerprint(roost.directory / "tls/cert.pem")}
remoteuser = {account}
remotepass = {PASSWORD}
"""
    )
    yield config


def _fingerprint(cert: Path) -> str:
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    return hashlib.sha256(der).hexdigest()


def sync(config: Path) -> str:
    """One offlineimap run (-o) with its IMAP traffic (-d imap) returned for inspection."""
    result = subprocess.run(
        ["offlineimap", "-c", str(config), "-o", "-d", "imap"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HOME": str(config.parent)},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "ERROR" not in output, output[-4000:]
    return output


def test_offlineimap_both_ways_then_nothing_to_do(
    connect: Connect, offlineimaprc: Path, account: str
) -> None:
    root = offlineimaprc.parent / "mail"
    client = connect(account)
    for folder, count in FOLDERS.items():
        client.create(folder)
        for n in range(count):
            flag_list = "(\\Seen)" if n % 2 else None
            assert client.append(folder, flag_list, None, message(f"off-{folder}-{n}"))[0] == "OK"
    sync(offlineimaprc)
    assert _server(client) == _local(root)
    assert sum(len(ids) for ids in _local(root).values()) == sum(FOLDERS.values())

    # Local changes: flag one message, mark one read, delete one.
    work = messages(root / LOCAL["Work"])
    work[0].rename(work[0].parent.parent / "cur" / with_flag(work[0].name, "F"))
    work[1].rename(work[1].parent.parent / "cur" / with_flag(work[1].name, "S"))
    messages(root / LOCAL["Work/Old"])[0].unlink()
    # Server changes: flag one, delete two, move one to another folder.
    client.select("INBOX")
    assert client.uid("STORE", "1", "+FLAGS", "(\\Flagged)")[0] == "OK"
    assert client.uid("STORE", "2:3", "+FLAGS", "(\\Deleted)")[0] == "OK"
    client.expunge()
    assert client.uid("MOVE", "4", "Work")[0] == "OK"
    client.unselect()
    sync(offlineimaprc)

    server, local = _server(client), _local(root)
    assert server == local
    assert len(server["INBOX"]) == 40 - 3
    assert len(server["Work"]) == 30 + 1
    assert len(server["Work/Old"]) == 20 - 1
    assert sum("\\Flagged" in f for f in server["Work"].values()) == 1
    assert server["INBOX"]["<off-INBOX-0@example.org>"] >= {"\\Flagged"}
    assert "<off-INBOX-3@example.org>" in server["Work"]

    # The third sync has nothing to do: no command that changes anything, no MODSEQ moved on
    # the server, no local file added, renamed or removed.
    before = _modseqs(client), sorted(p.name for p in root.rglob("*") if p.is_file())
    traffic = sync(offlineimaprc)
    # The shape of the lines looked for below, so that the check cannot pass vacuously.
    assert re.search(r"writer > b'\S+ FETCH 1:\* \(FLAGS UID", traffic), traffic[-2000:]
    changes = re.findall(r"writer > b'\S+ (?:UID )?(APPEND|STORE|EXPUNGE|MOVE|COPY)\b", traffic)
    assert changes == [], changes
    after = _modseqs(client), sorted(p.name for p in root.rglob("*") if p.is_file())
    assert after == before


def _server(client: imaplib.IMAP4) -> dict[str, dict[str, frozenset[str]]]:
    """Per folder: each message's Message-ID and its system flags."""
    found: dict[str, dict[str, frozenset[str]]] = {}
    for folder in FOLDERS:
        client.select(folder, readonly=True)
        typ, data = client.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        assert typ == "OK"
        found[folder] = {}
        for item in data:
            if isinstance(item, tuple):
                flag_text = re.search(rb"FLAGS \(([^)]*)\)", item[0])
                assert flag_text is not None, item
                system = {f for f in flag_text.group(1).decode().split() if f != "\\Recent"}
                found[folder][_message_id(item[1])] = frozenset(system)
        client.unselect()
    return found


def _local(root: Path) -> dict[str, dict[str, frozenset[str]]]:
    return {
        folder: {_message_id(path.read_bytes()): flags(path) for path in messages(root / local)}
        for folder, local in LOCAL.items()
    }


def _message_id(raw: bytes) -> str:
    value = email.message_from_bytes(raw)["Message-ID"]
    assert value, raw
    return str(value).strip()


def _modseqs(client: imaplib.IMAP4) -> dict[str, bytes]:
    return {folder: client.status(folder, "(HIGHESTMODSEQ MESSAGES)")[1][0] for folder in FOLDERS}
