"""neomutt, a terminal mail client, driven through tmux as a person would use it: it logs in
over IMAPS trusting the dev certificate, lists the folders, shows a message, moves it."""

from __future__ import annotations

import contextlib
import imaplib
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.imap.conftest import PASSWORD, Connect, message
from tests.roostproc import RoostProcess

USER = "reader@example.test"
SUBJECT = "Minutes of the garden committee"
BODY = "The compost heap moves to the north corner."
DEADLINE = 30.0  # seconds for any one screen or server state to appear


class Screen:
    """One neomutt in its own tmux server, on a socket in the test's own directory: cleanup
    kills that server alone, and the socket goes with the directory."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-S", str(self.socket), "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "mail")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "mail", *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "mail", "-l", text)

    def wait_for(self, *needles: str) -> str:
        """The screen once it shows every needle; fails with the screen if it never does."""
        deadline = time.monotonic() + DEADLINE
        while True:
            screen = self.text()
            if all(needle in screen for needle in needles):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"screen never showed {needles}:\n{screen}")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def account(roost: RoostProcess) -> str:
    roost.add_user(USER, PASSWORD)
    return USER


@pytest.fixture
def neomutt(tmp_path: Path, roost: RoostProcess, account: str) -> Iterator[Callable[[], Screen]]:
    rc = tmp_path / "neomuttrc"
    rc.write_text(
        f"""set folder = "imaps://{account.replace("@", "%40")}@127.0.0.1:{roost.port("imaps")}/"
set spool_file = "+INBOX"
set imap_pass = "{PASSWORD}"
# Trust exactly the dev server's self-signed certificate, nothing else.
set ssl_ca_certificates_file = "{roost.directory}/tls/cert.pem"
set ssl_verify_host = yes
set ssl_force_tls = yes
set imap_check_subscribed = no
set delete = yes
set confirmappend = no
set wait_key = no
set mark_old = no
set pager_index_lines = 0
set sort = date
"""
    )
    screen = Screen(tmp_path / "tmux.sock")

    def start() -> Screen:
        screen.tmux(
            "new-session", "-d", "-s", "mail", "-x", "160", "-y", "40",
            "-e", f"HOME={tmp_path}", "-e", "LANG=C.UTF-8",
            "--", "neomutt", "-n", "-F", str(rc),
        )  # fmt: skip
        return screen

    try:
        yield start
    finally:
        with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
            screen.tmux("kill-server")


def test_neomutt_logs_in_lists_reads_and_moves(
    connect: Connect, neomutt: Callable[[], Screen], account: str
) -> None:
    client = connect(account)
    assert client.create("Committee")[0] == "OK"
    assert client.append("INBOX", None, None, message(SUBJECT, BODY))[0] == "OK"
    screen = neomutt()

    # Logged in over IMAPS: the index of INBOX lists the message.
    screen.wait_for(SUBJECT, "INBOX")

    # The folder list: change-folder, then the browser over the IMAP folders.
    screen.keys("c")
    screen.wait_for("Open mailbox")
    screen.keys("?")
    screen.wait_for("Mailboxes")
    screen.keys("Tab")  # from the (empty) list of `mailboxes` to the server's folders
    listing = screen.wait_for("Committee", "INBOX", "Sent", "Trash")
    assert "Archive" in listing
    screen.keys("q")  # leaves the browser and the change-folder prompt, back to the index

    # Read it: the pager shows the subject header and the body.
    screen.wait_for(SUBJECT)
    screen.keys("Enter")
    screen.wait_for(f"Subject: {SUBJECT}", BODY)
    screen.keys("i")

    # Move it: save to another folder (which marks it deleted), then sync the mailbox.
    screen.keys("s")
    screen.wait_for("Save to mailbox")
    screen.keys("C-u")
    screen.type("=Committee")
    screen.keys("Enter")
    screen.keys("$")
    _wait_for_server(client, "Committee", SUBJECT, present=True)
    _wait_for_server(client, "INBOX", SUBJECT, present=False)


def _wait_for_server(client: imaplib.IMAP4, folder: str, subject: str, *, present: bool) -> None:
    deadline = time.monotonic() + DEADLINE
    while True:
        client.select(folder, readonly=True)
        found = client.search(None, "UNDELETED", "SUBJECT", f'"{subject}"')[1][0].split()
        client.unselect()
        if bool(found) == present:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{folder} {'lacks' if present else 'still has'} {subject!r}")
        time.sleep(0.2)
