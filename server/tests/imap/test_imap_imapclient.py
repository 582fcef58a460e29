"""imapclient (PyPI), a second Python client: its own live test suite against `roost serve`,
and CONDSTORE, QRESYNC and ESEARCH sessions. Its public API has no ESEARCH (`search` reads
only SEARCH responses) and no SELECT (QRESYNC ...); ESEARCH goes through its command layer
and response parser below, SELECT QRESYNC is covered by the imaplib sessions."""

from __future__ import annotations

import contextlib
import re
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient
from imapclient.response_parser import parse_response

from tests.imap.conftest import PASSWORD, message
from tests.roostproc import RoostProcess

USER = "imapclient@example.test"
LIVE_USER = "livetest@example.test"

# imapclient's live tests that fail against Roost for reasons outside Roost, each with why.
LIVE_DEVIATIONS = {
    # It compares the (dataclass) Envelope as a sequence, which fails against any server; and
    # it expects no UID with a FETCH that set \Seen, which RFC 7162 §3.1 requires under CONDSTORE.
    "test_fetch": "client",
    # imapclient calls imaplib's `move`, which Python 3.11's imaplib does not have.
    "test_move": "client",
    # \Recent is gone from IMAP4rev2 (RFC 9051 §2.3.2); Roost reports RECENT 0 throughout.
    "test_status": "\\Recent",
    # RFC 9051 §6.3.7: a server MAY refuse to subscribe a missing mailbox; Roost allows it.
    "test_subscriptions": "MAY",
    # They expect a connect/read on loopback to outlast a 0.00001 s timeout; timing, not IMAP.
    "test_small_connection_timeout_fail": "timing",
    "test_small_read_timeout_fail": "timing",
}


@pytest.fixture(scope="module")
def accounts(roost: RoostProcess) -> None:
    roost.add_user(USER, PASSWORD)
    roost.add_user(LIVE_USER, PASSWORD)


@pytest.fixture
def client(roost: RoostProcess, accounts: None) -> Iterator[Callable[[], IMAPClient]]:
    """Logged-in imapclient sessions, verifying the dev certificate, logged out afterwards."""
    opened: list[IMAPClient] = []
    context = ssl.create_default_context(cafile=str(roost.directory / "tls/cert.pem"))

    def open_client() -> IMAPClient:
        session = IMAPClient("127.0.0.1", roost.port("imaps"), ssl_context=context, timeout=30)
        opened.append(session)
        session.login(USER, PASSWORD)
        return session

    yield open_client
    for session in opened:
        with contextlib.suppress(Exception):
            session.logout()


def _folder(session: IMAPClient, name: str, count: int) -> list[int]:
    if session.folder_exists(name):
        session.delete_folder(name)
    session.create_folder(name)
    for n in range(count):
        session.append(name, message(f"{name}-{n}"))
    session.select_folder(name)
    uids = session.search()
    session.unselect_folder()
    return list(uids)


def test_imapclient_condstore(client: Callable[[], IMAPClient]) -> None:
    mine, other = client(), client()
    uids = _folder(mine, "Cond", 4)
    assert mine.enable("CONDSTORE") == [b"CONDSTORE"]
    highest = mine.select_folder("Cond")[b"HIGHESTMODSEQ"]
    other.select_folder("Cond")
    other.add_flags([uids[1]], [b"\\Flagged"])

    # RFC 7162 §3.1: another session's change reaches us with UID and MODSEQ.
    _text, responses = mine.noop()
    fetches = [r for r in responses if len(r) == 3 and r[1] == b"FETCH"]
    assert len(fetches) == 1, responses
    attrs = dict(zip(fetches[0][2][::2], fetches[0][2][1::2], strict=True))
    assert attrs[b"UID"] == uids[1] and b"\\Flagged" in attrs[b"FLAGS"]
    changed = attrs[b"MODSEQ"][0]
    assert changed > highest

    # RFC 7162 §3.1.4: CHANGEDSINCE returns only what changed, with MODSEQ.
    found = mine.fetch(uids, ["FLAGS"], modifiers=[f"CHANGEDSINCE {highest}"])
    assert list(found) == [uids[1]]
    assert found[uids[1]][b"MODSEQ"] == (changed,)
    # RFC 7162 §3.1.5: SEARCH MODSEQ, answered with the highest MODSEQ of the matches.
    matched = mine.search(["MODSEQ", highest + 1])
    assert list(matched) == [uids[1]] and matched.modseq == changed
    # RFC 7162 §3.1.2.1 (STATUS) and §3.1.1 (SELECT) agree on the new HIGHESTMODSEQ.
    assert mine.folder_status("Cond", [b"HIGHESTMODSEQ"])[b"HIGHESTMODSEQ"] == changed
    mine.unselect_folder()
    assert mine.select_folder("Cond", readonly=True)[b"HIGHESTMODSEQ"] == changed


def test_imapclient_qresync_vanished(client: Callable[[], IMAPClient]) -> None:
    mine, other = client(), client()
    uids = _folder(mine, "Qre", 5)
    assert mine.enable("QRESYNC") == [b"QRESYNC"]
    mine.select_folder("Qre")
    other.select_folder("Qre")
    other.delete_messages(uids[1:3])
    other.expunge()

    # RFC 7162 §3.2.10: with QRESYNC, expunges arrive as VANISHED UIDs, never EXPUNGE.
    _text, responses = mine.noop()
    assert (b"VANISHED", f"{uids[1]}:{uids[2]}".encode()) in responses, responses
    assert not any(len(r) == 2 and r[1] == b"EXPUNGE" for r in responses), responses

    # The same while IDLE (RFC 2177), woken by another session's expunge.
    mine.idle()
    other.delete_messages([uids[4]])
    other.expunge()
    woke = _idle_until(mine, (b"VANISHED", uids[4]))
    mine.idle_done()
    assert not any(len(r) == 2 and r[1] == b"EXPUNGE" for r in woke), woke
    assert mine.search() == [uids[0], uids[3]]


def _idle_until(session: IMAPClient, wanted: tuple[bytes, int]) -> list[tuple]:  # type: ignore[type-arg]
    """What IDLE brought until `wanted` arrived (the \\Deleted FETCH may come first)."""
    deadline = time.monotonic() + 30
    seen: list[tuple] = []  # type: ignore[type-arg]
    while wanted not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"IDLE never brought {wanted}: {seen}"
        seen += session.idle_check(timeout=left)
    return seen


@pytest.mark.parametrize("by_uid", [True, False])
def test_imapclient_esearch(client: Callable[[], IMAPClient], by_uid: bool) -> None:
    mine = client()
    uids = _folder(mine, "Esearch", 6)
    assert mine.has_capability("ESEARCH")
    mine.select_folder("Esearch")
    mine.add_flags(uids[1::2], [b"\\Flagged"])
    wanted = uids[1::2] if by_uid else [2, 4, 6]

    # RFC 4731 §3.1: one ESEARCH response, tagged with the command, holding what was asked.
    data = mine._raw_command_untagged(
        b"SEARCH", [b"RETURN", b"(MIN MAX COUNT ALL)", b"FLAGGED"], "ESEARCH", uid=by_uid
    )
    assert len(data) == 1, data
    answer = parse_response(data)
    assert answer[0][0] == b"TAG"
    fields = list(answer[1:])
    assert (fields[0] == b"UID") == by_uid
    if by_uid:
        fields = fields[1:]
    values = dict(zip(fields[::2], fields[1::2], strict=True))
    expected_all = ",".join(map(str, wanted)).encode()
    assert values == {b"MIN": wanted[0], b"MAX": wanted[-1], b"COUNT": 3, b"ALL": expected_all}

    # RFC 4731 §3.1: no match leaves out MIN, MAX and ALL, and COUNT says 0.
    data = mine._raw_command_untagged(
        b"SEARCH", [b"RETURN", b"(MIN MAX COUNT ALL)", b"DRAFT"], "ESEARCH", uid=by_uid
    )
    assert list(parse_response(data)[1:]) == ([b"UID"] if by_uid else []) + [b"COUNT", 0]


def test_imapclient_live_suite(roost: RoostProcess, accounts: None, tmp_path: Path) -> None:
    """imapclient's own live tests (imapclient.livetest): every one passes or is skipped for a
    capability Roost lacks, except the deviations listed above, each for a stated reason."""
    ini = tmp_path / "livetest.ini"
    ini.write_text(
        f"[DEFAULT]\nhost = 127.0.0.1\nport = {roost.port('imaps')}\nssl = true\n"
        f"ssl_ca_file = {roost.directory / 'tls/cert.pem'}\n"
        f"username = {LIVE_USER}\npassword = {PASSWORD}\ntimeout = 30\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "imapclient.livetest", str(ini), "-v"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = result.stderr
    ran = re.search(r"^Ran (\d+) tests", report, re.M)
    assert ran and int(ran.group(1)) > 40, report[-3000:]
    failed = set(re.findall(r"^(?:FAIL|ERROR): (\w+)", report, re.M))
    assert failed <= set(LIVE_DEVIATIONS), report[-6000:]
    passed = re.findall(r"^(\w+) \(.*\) \.\.\. ok$", report, re.M)
    assert len(passed) > 30, report[-3000:]
