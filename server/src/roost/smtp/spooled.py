"""A large message received into a file rather than memory.

Held in memory, a message was copied four or five times on its way (read buffer, unstuffing,
the pickle to the check worker, trace fields joined in front): ten 24 MB messages at once took
the server from 123 MB to 1.1 GB. Past SPOOL_ABOVE bytes, DATA writes what it has read to a
file as it goes, dot-unstuffed and with uniform line ends, the check worker reads the file
itself and the store and the queue copy it where it goes; the server holds about one chunk.
Smaller messages, nearly all mail, stay in memory and never touch this path.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from roost.durable import Joined
from roost.smtp.headers import crlf_line_ends, prepare_head

SPOOL_ABOVE = 1 << 20  # bytes of DATA read before the message goes to a file
_HEAD_READ = 64 * 1024


def incoming_dir(state_dir: Path) -> Path:
    """The directory for messages being received; what a crash left in it was never
    answered with a 250 (the client sends it again), so it goes."""
    directory = state_dir / "incoming"
    directory.mkdir(mode=0o700, exist_ok=True)
    for leftover in directory.glob("incoming-*"):
        leftover.unlink(missing_ok=True)
    return directory


class SpooledMessage:
    """The body of one DATA in a private file under the incoming directory; `discard`
    removes it once the message is answered (stored copies are files of their own)."""

    def __init__(self, directory: Path) -> None:
        fd, name = tempfile.mkstemp(prefix="incoming-", dir=directory)
        self.path = Path(name)
        self._file: BinaryIO | None = os.fdopen(fd, "wb")
        self._first = True

    def write(self, raw: bytes) -> None:
        """Append `raw` as read from DATA. The reader cuts it where no `CRLF .` nor CRLF can
        straddle two pieces, so each piece is unstuffed (RFC 5321 §4.5.2) and its line ends
        made uniform on its own."""
        assert self._file is not None
        if self._first and raw.startswith(b"."):
            raw = raw[1:]
        self._first = False
        self._file.write(crlf_line_ends(raw.replace(b"\r\n.", b"\r\n")))

    def finish(self) -> SpooledMessage:
        assert self._file is not None
        self._file.close()
        self._file = None
        return self

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.path.unlink(missing_ok=True)

    def __len__(self) -> int:
        return self.path.stat().st_size

    def read(self) -> bytes:
        return self.path.read_bytes()

    def after(self, head: bytes) -> Joined:
        """The message with `head` (trace fields) in front, for the store and the queue."""
        return Joined(head, self.path)

    def prepare(self, hostname: str) -> None:
        """`roost.smtp.headers.prepare` for a spooled message: only the header block is
        read; the file is rewritten only when the header block changes (a forged
        Authentication-Results removed, a bare CR made a line end)."""
        with self.path.open("rb") as source:
            data = b""
            while b"\r\n\r\n" not in data and (chunk := source.read(_HEAD_READ)):
                data += chunk
            end = data.find(b"\r\n\r\n")
            head = data if end < 0 else data[: end + 4]
            new_head = prepare_head(head, hostname)
            if new_head is head:
                return
            rewritten = self.path.with_name(self.path.name + ".new")
            with rewritten.open("wb") as target:
                target.write(new_head)
                source.seek(len(head))
                shutil.copyfileobj(source, target, 1 << 20)
        rewritten.replace(self.path)
