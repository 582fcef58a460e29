"""isync (`mbsync`) keeps a multi-folder account and a local Maildir in step, both ways:
new messages, flags, moves and deletions; a second sync then finds nothing to do."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.imap.conftest import PASSWORD, Connect, message
from tests.imap.maildir import messages, with_flag
from tests.roostproc import RoostProcess

USER = "sync@example.test"
FOLDERS = {"INBOX": 500, "Work": 300, "Work/Old": 150, "Lists": 50}  # 1,000 messages


@pytest.fixture(scope="module")
def account(roost: RoostProcess) -> str:
    roost.add_user(USER, PASSWORD)
    return USER


@pytest.fixture
def maildir(tmp_path: Path, roost: RoostProcess, account: str) -> Iterator[tuple[Path, Path]]:
    root = tmp_path / "mail"
    root.mkdir()
    config = tmp_path / "mbsyncrc"
    config.write_text(
        f"""IMAPAccount roost
User {account}
Pass "{PASSWORD}"
# The dev certificate names mail.example.test, which no resolver here knows: openssl makes
# the TLS connection to 127.0.0.1 and mbsync speaks IMAP through it.
Tunnel "openssl s_client -quiet -verify_quiet -connect 127.0.0.1:{roost.port("imaps")}"
SSLType None

IMAPStore remote
Account roost

MaildirStore local
Path {root}/
Inbox {root}/INBOX
SubFolders Verbatim

Channel everything
Far :remote:
Near :local:
Patterns *
Create Both
Remove Both
Expunge Both
SyncState *
"""
    )
    yield config, root


def sync(config: Path, *options: str) -> str:
    result = subprocess.run(
        ["mbsync", "-c", str(config), "-a", *options],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HOME": str(config.parent)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def local_messages(root: Path, folder: str) -> list[Path]:
    return messages(root / folder)


def test_mbsync_both_ways_then_nothing_to_do(
    connect: Connect, maildir: tuple[Path, Path], account: str
) -> None:
    config, root = maildir
    client = connect(account)
    for folder in FOLDERS:
        client.create(folder)

    def fill(folder: str) -> None:
        # One session per folder: their APPENDs share the store's group commits.
        writer = connect(account)
        for n in range(FOLDERS[folder]):
            flags = "(\\Seen)" if n % 3 else None
            assert writer.append(folder, flags, None, message(f"{folder}-{n}"))[0] == "OK"

    with ThreadPoolExecutor(len(FOLDERS)) as pool:
        list(pool.map(fill, FOLDERS))
    sync(config)
    for folder, count in FOLDERS.items():
        assert len(local_messages(root, folder)) == count, folder

    # Local changes: flag one, delete one, add one, in different folders.
    flagged = local_messages(root, "Work")[0]
    flagged.rename(flagged.parent.parent / "cur" / with_flag(flagged.name, "F"))
    local_messages(root, "Lists")[0].unlink()
    new = root / "Work/Old/new/1700000000.local.host"
    new.write_bytes(message("written-locally"))
    # Server changes: a move and a deletion.
    client.select("INBOX")
    assert client._simple_command("MOVE", "1:10", "Lists")[0] == "OK"
    client.store("11", "+FLAGS", "(\\Deleted)")
    client.expunge()
    client.unselect()
    sync(config)

    assert _count(client, "Work", "FLAGGED") == 1
    assert _count(client, "Lists", "ALL") == 50 - 1 + 10
    assert _count(client, "Work/Old", "SUBJECT written-locally") == 1
    assert len(local_messages(root, "INBOX")) == 500 - 11
    assert len(local_messages(root, "Lists")) == 59

    # The next sync has nothing to do: no IMAP command that changes anything (-Dn shows the
    # traffic), no change to any folder's MODSEQ, no file added, renamed or removed locally.
    before = _state(client, root)
    traffic = sync(config, "-Dn")
    # The same line shape as the changes looked for below, so that check cannot pass vacuously.
    assert re.search(r"^>>> \d+ UID FETCH\b", traffic, re.M), traffic[-2000:]
    changes = re.findall(r"^>>> \d+ (?:UID )?(APPEND|STORE|EXPUNGE|MOVE|COPY)\b", traffic, re.M)
    assert changes == [], changes
    assert _state(client, root) == before


def _state(client, root: Path) -> tuple[dict[str, bytes], list[str]]:  # type: ignore[no-untyped-def]
    modseqs = {
        folder: client.status(folder, "(HIGHESTMODSEQ MESSAGES)")[1][0] for folder in FOLDERS
    }
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    return modseqs, files


def _count(client, folder: str, *criteria: str) -> int:  # type: ignore[no-untyped-def]
    client.select(folder)
    found = client.search(None, *criteria)[1][0].split()
    client.unselect()
    return len(found)
