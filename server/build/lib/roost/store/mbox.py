"""mboxrd export (the `roost mailbox export` format), readable by mutt, Thunderbird, Python.

mboxrd rather than mboxo: every line matching `>*From ` gains one more `>`, so a reader that
strips one `>` gets the message back exactly, including lines that already began with
`>From ` (see https://www.loc.gov/preservation/digital/formats/fdd/fdd000385.shtml).
Line endings become LF, as every mbox reader expects; messages are stored with CRLF (RFC 5322).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import BinaryIO

_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)
_RETURN_PATH = re.compile(rb"^Return-Path:[ \t]*<([^<>\s]*)>", re.MULTILINE | re.IGNORECASE)


def write_mboxrd(out: BinaryIO, messages: Iterable[tuple[bytes, datetime]]) -> int:
    """Write each (message, internaldate) as one mbox entry; returns how many were written."""
    count = 0
    for data, when in messages:
        body = _FROM_LINE.sub(rb">\1", data.replace(b"\r\n", b"\n"))
        out.write(_separator(data, when))
        out.write(body)
        out.write(b"\n" if body.endswith(b"\n") else b"\n\n")
        count += 1
    return count


def _separator(data: bytes, when: datetime) -> bytes:
    """The `From sender asctime` line; the sender is the Return-Path (RFC 5321 §4.4) if any."""
    header = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    match = _RETURN_PATH.search(header)
    sender = match.group(1) if match and match.group(1) else b"MAILER-DAEMON"
    stamp = time.asctime(when.astimezone(UTC).timetuple())
    return b"From " + sender + b" " + stamp.encode("ascii") + b"\n"
