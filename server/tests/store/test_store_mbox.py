"""mboxrd export: readable by Python's mailbox module, and reversible line for line."""

from __future__ import annotations

import io
import mailbox
import re
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from store_fixtures import ALICE

from roost.store import SQLiteStore
from roost.store.mbox import write_mboxrd

TRICKY = (
    b"Return-Path: <sender@remote.test>\r\n"
    b"Subject: quoting\r\n"
    b"\r\n"
    b"From the start of a line\r\n"
    b">From an already quoted line\r\n"
    b">>From twice quoted\r\n"
    b"Not From here\r\n"
)
PLAIN = b"Subject: second\r\n\r\nno trailing newline"


def unquote_mboxrd(data: bytes) -> bytes:
    return re.sub(rb"(?m)^>(>*From )", rb"\1", data)


def test_export_round_trips_through_python_mailbox(store: SQLiteStore, tmp_path: Path) -> None:
    when = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    store.append(ALICE, "Archive", TRICKY, internaldate=when)
    store.append(ALICE, "Archive", PLAIN, internaldate=when)
    out = io.BytesIO()
    assert store.export_mbox(ALICE, "Archive", out) == 2
    path = tmp_path / "archive.mbox"
    path.write_bytes(out.getvalue())
    box = mailbox.mbox(path, create=False)
    try:
        messages = list(box)
        assert len(messages) == 2
        assert messages[0].get_from() == "sender@remote.test Tue Mar  4 05:06:07 2025"
        assert messages[1].get_from().startswith("MAILER-DAEMON ")
        exported = [unquote_mboxrd(box.get_bytes(key)) for key in box.iterkeys()]
    finally:
        box.close()
    assert exported[0] == TRICKY.replace(b"\r\n", b"\n")
    assert exported[1] == PLAIN.replace(b"\r\n", b"\n") + b"\n"


def test_quoting_is_applied_to_every_from_line() -> None:
    out = io.BytesIO()
    write_mboxrd(out, [(TRICKY, datetime(2025, 1, 1, tzinfo=UTC))])
    body = out.getvalue().split(b"\n", 1)[1]
    assert b"\n>From the start" in body
    assert b"\n>>From an already" in body
    assert b"\n>>>From twice" in body
    assert b"\nNot From here" in body


def test_empty_mailbox_exports_nothing(store: SQLiteStore) -> None:
    out = io.BytesIO()
    assert store.export_mbox(ALICE, "Drafts", out) == 0
    assert out.getvalue() == b""


lines = st.lists(
    st.sampled_from([b"From x", b">From y", b">>From", b"text", b"", b"From", b" From z"]),
    max_size=8,
)


@given(st.lists(lines, min_size=1, max_size=4))
def test_any_body_survives_export(bodies: list[list[bytes]]) -> None:
    messages = [b"Subject: p\n\n" + b"\n".join(body) + b"\n" for body in bodies]
    out = io.BytesIO()
    write_mboxrd(out, [(m, datetime(2025, 1, 1, tzinfo=UTC)) for m in messages])
    entries = re.split(rb"(?m)^From [^\n]*\n", out.getvalue())[1:]
    assert [unquote_mboxrd(entry[:-1]) for entry in entries] == messages
