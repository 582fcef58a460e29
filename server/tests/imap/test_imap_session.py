"""IMAP commands driven by imaplib against a real `roost serve` (RFC 9051 and extensions)."""

from __future__ import annotations

import base64
import imaplib
import re
import socket

import pytest

from tests.imap.conftest import ALICE, BOB, PASSWORD, Connect, fresh_mailbox, message, tls_client
from tests.roostproc import RoostProcess


def raw_session(roost: RoostProcess, tls: bool = True) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", roost.port("imaps" if tls else "imap")), 30)
    if tls:
        sock = tls_client().wrap_socket(sock)
    assert recv_until(sock, b"\r\n").startswith(b"* OK")
    return sock


def recv_until(sock: socket.socket, end: bytes) -> bytes:
    data = b""
    while not data.endswith(end):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def command(sock: socket.socket, tag: str, text: bytes) -> bytes:
    """Send one command and read through its tagged reply."""
    sock.sendall(tag.encode() + b" " + text + b"\r\n")
    data = b""
    while not re.search(rb"(^|\r\n)" + tag.encode() + rb" (OK|NO|BAD)[^\r\n]*\r\n$", data):
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed; got {data!r}")
        data += chunk
    return data


def test_143_offers_only_starttls_until_tls(roost: RoostProcess) -> None:
    client = imaplib.IMAP4("127.0.0.1", roost.port("imap"), timeout=30)
    assert "LOGINDISABLED" in client.capabilities
    assert "AUTH=PLAIN" not in client.capabilities
    assert "IMAP4REV2" in client.capabilities and "IMAP4REV1" in client.capabilities
    typ, data = client._simple_command("LOGIN", ALICE, f'"{PASSWORD}"')
    assert typ == "NO" and b"[PRIVACYREQUIRED]" in data[0]
    client.starttls(tls_client())
    assert "AUTH=PLAIN" in client.capabilities and "LOGINDISABLED" not in client.capabilities
    assert client.login(ALICE, PASSWORD)[0] == "OK"
    client.logout()


def test_commands_pipelined_after_starttls_are_discarded(roost: RoostProcess) -> None:
    sock = raw_session(roost, tls=False)
    # RFC 9051 §6.2.1: the injected LOGIN must not run inside TLS.
    sock.sendall(b"a STARTTLS\r\nb LOGIN alice@example.test x\r\n")
    assert recv_until(sock, b"\r\n").startswith(b"a OK")
    tls = tls_client().wrap_socket(sock)
    reply = command(tls, "c", b"NOOP")
    assert reply == b"c OK NOOP completed\r\n"
    tls.close()


def test_authenticate_plain_with_initial_response_and_with_continuation(
    roost: RoostProcess,
) -> None:
    blob = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode())
    sock = raw_session(roost)
    assert b"a OK [CAPABILITY" in command(sock, "a", b"AUTHENTICATE PLAIN " + blob)
    sock.close()
    sock = raw_session(roost)
    sock.sendall(b"a AUTHENTICATE PLAIN\r\n")
    assert recv_until(sock, b"\r\n").startswith(b"+")
    sock.sendall(blob + b"\r\n")
    assert recv_until(sock, b"\r\n").startswith(b"a OK")
    sock.close()


def test_wrong_password_fails_with_authenticationfailed(roost: RoostProcess) -> None:
    client = imaplib.IMAP4_SSL("127.0.0.1", roost.port("imaps"), ssl_context=tls_client())
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login(BOB, "wrong")
    assert client.login(BOB, PASSWORD)[0] == "OK"  # the session is still usable
    client.logout()


def test_append_select_fetch_round_trip(connect: Connect) -> None:
    client = connect()
    fresh_mailbox(client, "Round")
    body = message("round", body="caf\xe9 is 8-bit")
    typ, data = client.append("Round", "(\\Flagged $Work)", '"17-Jul-1996 02:44:25 -0700"', body)
    assert typ == "OK" and b"APPENDUID" in data[0]
    typ, data = client.select("Round")
    assert data == [b"1"]
    typ, data = client.fetch("1", "(FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[] UID)")
    head, content = data[0]
    assert content == body
    assert b"\\Flagged" in head and b"$Work" in head
    assert b'INTERNALDATE "17-Jul-1996 02:44:25 -0700"' in head
    assert f"RFC822.SIZE {len(body)}".encode() in head
    # BODY.PEEK leaves \Seen alone; BODY[] sets it and says so.
    assert b"\\Seen" not in client.fetch("1", "FLAGS")[1][0]
    typ, data = client.fetch("1", "(BODY[])")
    assert data[0][1] == body
    assert b"\\Seen" in client.fetch("1", "FLAGS")[1][0]


@pytest.mark.parametrize(
    ("item", "origin", "length"),
    [("BODY[]<0.20>", 0, 20), ("BODY[]<2.25>", 2, 25), ("BODY[TEXT]", None, None)],
)
def test_fetch_body_section_is_content_not_structure(
    connect: Connect, item: str, origin: int | None, length: int | None
) -> None:
    """BODY[section] without .PEEK returns the section's bytes, as BODY.PEEK[section] does
    (RFC 9051 §6.4.5); only a bare BODY is the structure. imapclient's live tests found this."""
    client = connect()
    fresh_mailbox(client, "Sections", 1)
    client.select("Sections")
    raw = message("Sections-0")
    if origin is None:
        expected = raw.partition(b"\r\n\r\n")[2]
        label = item
    else:
        assert length is not None
        expected = raw[origin : origin + length]
        label = f"BODY[]<{origin}>"
    for asked in (item.replace("BODY", "BODY.PEEK"), item):
        data = client.fetch("1", f"({asked})")[1]
        assert _fetched(data, label) == expected, (asked, data)


def _fetched(data: list, label: str) -> bytes:  # type: ignore[type-arg]
    """The value of `label` in a FETCH response, sent as a literal or as a quoted string."""
    for part in data:
        if isinstance(part, tuple) and part[0].endswith(
            b"%s {%d}" % (label.encode(), len(part[1]))
        ):
            return part[1]
        if isinstance(part, bytes):
            quoted = re.search(re.escape(label.encode()) + rb' "((?:[^"\\]|\\.)*)"', part)
            if quoted:
                return re.sub(rb"\\(.)", rb"\1", quoted.group(1))
    raise AssertionError(f"no {label} in {data}")


def test_store_flags_and_silent(connect: Connect) -> None:
    client = connect()
    fresh_mailbox(client, "Flags", 3)
    client.select("Flags")
    typ, data = client.store("1:2", "+FLAGS", "(\\Answered Custom)")
    assert typ == "OK" and len([d for d in data if d]) == 2
    assert b"Custom" in data[0]
    typ, data = client.store("3", "+FLAGS.SILENT", "(\\Deleted)")
    assert data == [None]
    typ, data = client.store("1", "-FLAGS", "(Custom)")
    assert b"Custom" not in data[0]
    typ, data = client.store("2", "FLAGS", "(\\Seen)")
    assert data[0].endswith(b"FLAGS (\\Seen))")
    assert client.expunge()[1] == [b"3"]
    typ, data = client.fetch("1:*", "(FLAGS)")
    assert len(data) == 2


def test_copy_move_uidplus(connect: Connect) -> None:
    client = connect()
    fresh_mailbox(client, "Src", 3)
    fresh_mailbox(client, "Dst")
    client.select("Src")
    typ, data = client.copy("1:2", "Dst")
    assert typ == "OK" and re.search(rb"\[COPYUID \d+ 1:2 \d+:\d+\]", data[0])
    typ, data = client.uid("MOVE", "3", "Dst")
    assert typ == "OK"
    assert client.untagged_responses.get("EXPUNGE") == [b"3"]
    assert client.status("Dst", "(MESSAGES)")[1] == [b'"Dst" (MESSAGES 3)']
    typ, data = client.copy("1", "Nowhere")
    assert typ == "NO" and data[0].startswith(b"[TRYCREATE]")


def test_mailbox_management(connect: Connect) -> None:
    client = connect()
    for name in ("Projects/2026/Q1", "Projects/Old"):
        client.delete(name)
    assert client.create("Projects/2026/Q1")[0] == "OK"
    listed = client.list('""', "Projects/*")[1]
    assert b'(\\HasChildren) "/" "Projects/2026"' in listed
    assert b'(\\HasNoChildren) "/" "Projects/2026/Q1"' in listed
    assert client.rename("Projects/2026", "Projects/Old")[0] == "OK"
    listed = client.list('""', "Projects/*")[1]
    assert b'(\\HasNoChildren) "/" "Projects/Old/Q1"' in listed
    assert not any(b"2026" in line for line in listed)
    assert client.create("Projects/Old")[0] == "NO"
    assert client.delete("INBOX")[0] == "NO"
    assert client.delete("Projects/Old/Q1")[0] == "OK"
    assert client.subscribe("Projects/Old")[0] == "OK"
    assert b'"Projects/Old"' in b" ".join(client.lsub('""', "*")[1])
    assert client.unsubscribe("Projects/Old")[0] == "OK"
    # A percent matches one level only; an empty pattern asks for the delimiter.
    top = client.list('""', "%")[1]
    assert b'(\\HasChildren) "/" "Projects"' in top and not any(b"Projects/" in t for t in top)
    assert client.list('""', '""')[1] == [b'(\\Noselect) "/" ""']


def test_international_mailbox_names_in_modified_utf7_and_utf8(connect: Connect) -> None:
    client = connect()
    client.delete("&ZeVnLIqe-")
    assert client.create("&ZeVnLIqe-")[0] == "OK"  # 日本語
    assert b'"&ZeVnLIqe-"' in b" ".join(client.list('""', "*")[1])
    typ, _data = client._simple_command("ENABLE", "UTF8=ACCEPT")
    assert typ == "OK"
    assert client.untagged_responses.pop("ENABLED") == [b"UTF8=ACCEPT"]
    listed = client.list('""', "*")[1]
    assert any(
        "日本語".encode() in (line if isinstance(line, bytes) else line[1]) for line in listed
    )


def test_8bit_mailbox_name_needs_utf8_accept(roost: RoostProcess) -> None:
    sock = raw_session(roost)
    command(sock, "a", f"LOGIN {ALICE} {{{len(PASSWORD)}+}}\r\n{PASSWORD}".encode())
    assert b"b BAD" in command(sock, "b", 'CREATE "Café"'.encode())
    assert b"c OK" in command(sock, "c", b"ENABLE UTF8=ACCEPT")
    command(sock, "d", 'DELETE "Café"'.encode())
    assert b"e OK" in command(sock, "e", 'CREATE "Café"'.encode())
    assert "Café".encode() in command(sock, "f", b'LIST "" Caf*')
    sock.close()


def test_special_use_and_list_extended_status(connect: Connect) -> None:
    client = connect()
    typ, _data = client._simple_command("LIST", "(SPECIAL-USE)", '""', "*")
    assert typ == "OK"
    special = client.untagged_responses.pop("LIST")
    assert len(special) == 5 and all(b"\\HasNoChildren \\" in s for s in special)
    typ, _ = client._simple_command("LIST", '""', "INBOX", "RETURN", "(STATUS (MESSAGES UIDNEXT))")
    assert typ == "OK"
    assert client.untagged_responses.pop("STATUS")[0].startswith(b"INBOX (MESSAGES ")
    client.delete("Receipts")
    typ, _ = client._simple_command("CREATE", "Receipts", "(USE (\\Archive))")
    assert typ == "OK"


def test_status_items(connect: Connect) -> None:
    client = connect()
    fresh_mailbox(client, "Counted", 2)
    client.select("Counted")
    client.store("1", "+FLAGS", "(\\Seen \\Deleted)")
    client.unselect()
    _typ, data = client.status("Counted", "(MESSAGES UNSEEN DELETED SIZE HIGHESTMODSEQ UIDNEXT)")
    assert re.fullmatch(
        rb'"Counted" \(MESSAGES 2 UNSEEN 1 DELETED 1 SIZE \d+ HIGHESTMODSEQ \d+ UIDNEXT \d+\)',
        data[0],
    )


def test_close_expunges_and_unselect_does_not(connect: Connect) -> None:
    client = connect()
    fresh_mailbox(client, "Closing", 2)
    client.select("Closing")
    client.store("1", "+FLAGS", "(\\Deleted)")
    client.unselect()
    assert client.status("Closing", "(MESSAGES)")[1] == [b'"Closing" (MESSAGES 2)']
    client.select("Closing")
    client.close()
    assert client.status("Closing", "(MESSAGES)")[1] == [b'"Closing" (MESSAGES 1)']


def test_examine_is_read_only(connect: Connect) -> None:
    client = connect()
    fresh_mailbox(client, "ReadOnly", 1)
    typ, _ = client.select("ReadOnly", readonly=True)
    assert typ == "OK"
    assert client.store("1", "+FLAGS", "(\\Seen)")[0] == "NO"
    client.fetch("1", "(BODY[])")
    assert b"\\Seen" not in client.fetch("1", "FLAGS")[1][0]


def test_garbage_gets_bad_and_the_session_goes_on(roost: RoostProcess) -> None:
    sock = raw_session(roost)
    for junk in (b'a1 LOGIN "unterminated', b"a2 FETCH (", b"+++", b"a3 NOSUCH", b"a4 SELECT"):
        reply = command(sock, junk.split(b" ")[0].decode() if junk[0:1] == b"a" else "*", junk)
        assert b" BAD " in reply, reply
    assert command(sock, "a5", b"NOOP") == b"a5 OK NOOP completed\r\n"
    assert command(sock, "a6", b"SELECT INBOX").startswith(b"a6 BAD Log in first")
    sock.close()


def test_oversized_literal_is_refused_before_it_is_sent(roost: RoostProcess) -> None:
    sock = raw_session(roost)
    command(sock, "a", f"LOGIN {ALICE} {{{len(PASSWORD)}+}}\r\n{PASSWORD}".encode())
    reply = command(sock, "b", b"APPEND INBOX {999999999}")
    assert reply.startswith(b"b NO [TOOBIG]")
    assert command(sock, "c", b"NOOP").endswith(b"c OK NOOP completed\r\n")
    sock.close()


def test_literal_plus_and_synchronising_literals(roost: RoostProcess) -> None:
    sock = raw_session(roost)
    sock.sendall(f"a LOGIN {{{len(ALICE)}}}\r\n".encode())
    assert recv_until(sock, b"\r\n").startswith(b"+")
    sock.sendall(f"{ALICE} {{{len(PASSWORD)}+}}\r\n{PASSWORD}\r\n".encode())
    assert recv_until(sock, b"\r\n").startswith(b"a OK")
    sock.close()


def test_id_namespace_enable_capability(connect: Connect) -> None:
    imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))  # RFC 2971
    client = connect()
    assert client._simple_command("ID", "NIL")[0] == "OK"
    assert client.untagged_responses.pop("ID") == [b'("name" "Roost" "vendor" "Roost")']
    assert client.namespace()[1] == [b'(("" "/")) NIL NIL']
    client._simple_command("ENABLE", "CONDSTORE", "NOSUCH")
    assert client.untagged_responses.pop("ENABLED") == [b"CONDSTORE"]


def test_compress_deflate(roost: RoostProcess) -> None:
    import zlib

    sock = raw_session(roost)
    command(sock, "a", f"LOGIN {ALICE} {{{len(PASSWORD)}+}}\r\n{PASSWORD}".encode())
    assert command(sock, "b", b"COMPRESS DEFLATE").startswith(b"b OK")
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    inflate = zlib.decompressobj(-15)
    sock.sendall(deflate.compress(b'c LIST "" INBOX\r\n') + deflate.flush(zlib.Z_SYNC_FLUSH))
    reply = b""
    while b"c OK" not in reply:
        reply += inflate.decompress(sock.recv(65536))
    assert b'* LIST (\\HasNoChildren) "/" INBOX' in reply
    sock.close()


def test_logins_per_account_are_capped_and_failures_throttled(roost: RoostProcess) -> None:
    # The SMTP AUTH throttle counts IMAP failures too: five wrong passwords lock the account.
    user = "mallory@example.test"
    roost.add_user(user, PASSWORD)
    for _ in range(5):
        client = imaplib.IMAP4_SSL("127.0.0.1", roost.port("imaps"), ssl_context=tls_client())
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            client.login(user, "guess")
        client.shutdown()
    client = imaplib.IMAP4_SSL("127.0.0.1", roost.port("imaps"), ssl_context=tls_client())
    with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
        client.login(user, PASSWORD)
    client.shutdown()


def test_implicit_tls_on_993_greets_after_the_handshake(roost: RoostProcess) -> None:
    raw = socket.create_connection(("127.0.0.1", roost.port("imaps")), 10)
    with tls_client().wrap_socket(raw) as sock:
        assert sock.version() in ("TLSv1.2", "TLSv1.3")
        assert sock.recv(1024).startswith(b"* OK [CAPABILITY IMAP4rev1 IMAP4rev2")


def test_search_plain_uid_esearch_and_saved_result(connect: Connect) -> None:
    client = connect()
    fresh_mailbox(client, "Searched")
    client.append("Searched", None, None, message("invoice 42", body="please pay"))
    client.append("Searched", "(\\Flagged)", None, message("lunch", body="pizza at noon"))
    client.append("Searched", None, None, message("invoice 43", body="café au lait"))
    client.select("Searched")
    assert client.search(None, "ALL")[1] == [b"1 2 3"]
    assert client.search(None, "SUBJECT", "invoice")[1] == [b"1 3"]
    assert client.search(None, "NOT", "SUBJECT", "invoice")[1] == [b"2"]
    assert client.search(None, "FLAGGED")[1] == [b"2"]
    assert client.search(None, "OR", "FLAGGED", "BODY", "pay")[1] == [b"1 2"]
    client.literal = "café".encode()  # sent as a synchronising literal
    assert client.search("UTF-8", "BODY")[1] == [b"3"]
    uids = client.uid("SEARCH", "BODY", "pizza")[1][0]
    assert uids.isdigit()
    typ, _ = client._simple_command("SEARCH", "RETURN", "(MIN MAX COUNT)", "SUBJECT", "invoice")
    assert client.untagged_responses.pop("ESEARCH")[-1].endswith(b"MIN 1 MAX 3 COUNT 2")
    client._simple_command("UID", "SEARCH", "RETURN", "(SAVE)", "FLAGGED")
    assert client.uid("FETCH", "$", "(FLAGS)")[1] == [b"2 (UID " + uids + b" FLAGS (\\Flagged))"]
    typ, data = client._simple_command("SEARCH", "CHARSET", "KOI8-R", "ALL")
    assert typ == "NO" and b"BADCHARSET" in data[0]


def test_structure_is_parsed_once_and_kept_with_the_message(
    connect: Connect, roost: RoostProcess
) -> None:
    from roost.store.sqlite import SQLiteStore

    client = connect()
    fresh_mailbox(client, "Parsed", 3)
    client.select("Parsed")
    uids = client.uid("SEARCH", "ALL")[1][0].split()
    store = SQLiteStore(roost.directory / "state")
    try:
        assert store.infos_and_structures(ALICE, "Parsed", [int(u) for u in uids])[1] == {}
        first = client.fetch("1", "(ENVELOPE BODYSTRUCTURE)")[1]
        kept = store.infos_and_structures(ALICE, "Parsed", [int(u) for u in uids])[1]
        assert list(kept) == [int(uids[0])]  # only the message that was fetched
        assert client.fetch("1", "(ENVELOPE BODYSTRUCTURE)")[1] == first
        assert b'"Parsed-0"' in first[0]
        # Kept, not yet kept, kept: answered two ways, in order, the same once all are kept.
        third = client.fetch("3", "(ENVELOPE BODYSTRUCTURE)")[1]
        every = client.fetch("1:3", "(ENVELOPE BODYSTRUCTURE)")[1]
        assert [line[:3] for line in every] == [b"1 (", b"2 (", b"3 ("]
        assert (every[0], every[2]) == (first[0], third[0]) and b'"Parsed-1"' in every[1]
        assert client.fetch("1:3", "(ENVELOPE BODYSTRUCTURE)")[1] == every
    finally:
        store.close()


def test_a_listing_keeps_its_header_fields_answers(connect: Connect, roost: RoostProcess) -> None:
    """A FETCH of a HEADER.FIELDS list over a range (a client's listing) has the store keep
    its answers; the next listing reads them and answers the same bytes. One message
    fetched alone keeps nothing."""
    from roost.imap.fetchkept import KEEP_FROM
    from roost.store.sqlite import SQLiteStore

    client = connect()
    fresh_mailbox(client, "Listed", KEEP_FROM + 2)
    client.select("Listed")
    uids = [int(u) for u in client.uid("SEARCH", "ALL")[1][0].split()]
    listing = "(UID BODY.PEEK[HEADER.FIELDS (From Subject)] BODYSTRUCTURE)"
    store = SQLiteStore(roost.directory / "state")
    try:
        one = client.fetch("2", "(BODY.PEEK[HEADER.FIELDS (Subject From)])")[1]
        assert b"Subject: Listed-1" in one[0][1]
        set_id = store.header_field_set("from subject", "1")
        assert [row[7] for row in store.kept_rows(ALICE, "Listed", uids, set_id)] == [None] * len(
            uids
        )
        first = client.fetch("1:*", listing)[1]
        kept = [row[7] for row in store.kept_rows(ALICE, "Listed", uids, set_id)]
        assert kept[1] == one[0][1]
        assert all(answer and answer.startswith(b"From: ") for answer in kept)
        assert client.fetch("1:*", listing)[1] == first
        assert first[2][1] == one[0][1]
    finally:
        store.close()


def test_header_search_over_structures_kept_by_an_older_version(
    connect: Connect, roost: RoostProcess
) -> None:
    """A structure kept in an older layout (4: the searched values inside) is parsed again
    on first need, then kept anew with the decoded values the header SEARCH keys use."""
    from roost.imap.mime import Kept, kept_searched
    from roost.store.sqlite import SQLiteStore

    client = connect()
    fresh_mailbox(client, "Older", 0)
    subject = "=?utf-8?q?Rechnung_f=C3=BCr?= =?utf-8?q?_November?="
    assert client.append("Older", None, None, message(subject))[0] == "OK"
    assert client.append("Older", None, None, message("Other"))[0] == "OK"
    client.select("Older")
    uids = [int(u) for u in client.uid("SEARCH", "ALL")[1][0].split()]
    store = SQLiteStore(roost.directory / "state")
    try:
        older = b"roost-structure-4\0" + bytes(20) + b"the old layout"
        store.save_structures(ALICE, "Older", dict.fromkeys(uids, older))
        client.literal = "RECHNUNG FÜR NOVEMBER".encode()
        assert client.search("UTF-8", "SUBJECT")[1] == [b"1"]
        assert client.search(None, "SUBJECT", "other")[1] == [b"2"]
        _, kept, searched = store.search_rows(ALICE, "Older", uids)
        assert Kept.load(kept[uids[0]]).header.startswith(b"From: ")
        assert kept_searched(searched[uids[0]])["subject"] == ("rechnung für november",)
        client.literal = "für nov".encode()
        assert client.search("UTF-8", "SUBJECT")[1] == [b"1"]
    finally:
        store.close()


def test_condstore_changedsince_and_unchangedsince(connect: Connect) -> None:
    client = connect()
    fresh_mailbox(client, "Modseq", 3)
    client.enable("CONDSTORE")
    assert client.select("Modseq")[0] == "OK"
    highest = int(client.untagged_responses["HIGHESTMODSEQ"][-1])
    typ, data = client.store("2", "+FLAGS", "(\\Flagged)")
    changed = int(re.search(rb"MODSEQ \((\d+)\)", data[0]).group(1))
    assert changed > highest
    # RFC 7162 §3.1.4: only what changed after the given MODSEQ, with its MODSEQ.
    typ, data = client.fetch("1:*", f"(FLAGS) (CHANGEDSINCE {highest})")
    assert len(data) == 1 and data[0].startswith(b"2 (FLAGS (\\Flagged) MODSEQ (")
    # RFC 7162 §3.1.3: a message changed since UNCHANGEDSINCE is left alone and reported.
    typ, data = client._simple_command(
        "STORE", "1:2", f"(UNCHANGEDSINCE {highest})", "+FLAGS", "(\\Seen)"
    )
    assert typ == "OK" and data[-1].startswith(b"[MODIFIED 2]")
    assert client.untagged_responses.pop("FETCH") == [
        b"1 (FLAGS (\\Seen) MODSEQ (%d))" % (changed + 1)
    ]
    flags = client.fetch("1:2", "(FLAGS)")[1]
    assert b"\\Seen" in flags[0] and b"\\Seen" not in flags[1]
    typ, data = client.search(None, "MODSEQ", str(changed))
    assert re.fullmatch(rb"[\d ]+ \(MODSEQ \d+\)", data[0]), data


@pytest.mark.parametrize("condstore", [False, True])
@pytest.mark.parametrize("items", ["(RFC822)", "(BODY[HEADER.FIELDS (SUBJECT)] BODYSTRUCTURE)"])
def test_fetch_that_sets_seen_reports_it(connect: Connect, condstore: bool, items: str) -> None:
    """RFC 9051 §6.4.5: FLAGS go out with a FETCH that set \\Seen; RFC 7162 §3.1: with
    CONDSTORE on, so do its UID and new MODSEQ. imapclient's live tests found them missing.
    The second item list is one answered from kept structures (`fetchkept`)."""
    client = connect()
    fresh_mailbox(client, "SeenNow", 1)
    if condstore:
        client.enable("CONDSTORE")
    client.select("SeenNow")
    before = client.fetch("1", "(UID MODSEQ)" if condstore else "(UID)")[1][0]
    uid = int(re.search(rb"UID (\d+)", before).group(1))  # type: ignore[union-attr]
    client.fetch("1", "(BODY.PEEK[HEADER] BODYSTRUCTURE)")  # the structure is kept
    head = _outside_literals(client.fetch("1", items)[1])
    assert re.search(rb"FLAGS \(\\Seen\)", head), head
    if condstore:
        old = int(re.search(rb"MODSEQ \((\d+)\)", before).group(1))  # type: ignore[union-attr]
        new = re.search(rb"MODSEQ \((\d+)\)", head)
        assert new is not None and int(new.group(1)) > old, head
        assert b"UID %d" % uid in head
    else:
        assert b"MODSEQ" not in head
    # Already \Seen: nothing changed, nothing more to report.
    again = _outside_literals(client.fetch("1", items)[1])
    assert b"FLAGS" not in again and b"MODSEQ" not in again, again


def _outside_literals(data: list) -> bytes:  # type: ignore[type-arg]
    return b" ".join(part[0] if isinstance(part, tuple) else part for part in data)
