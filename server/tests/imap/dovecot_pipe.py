"""Dovecot's imap binary as a real peer: pre-authenticated over a pipe, with a private
maildir and config in a temporary directory, so the same messages can be fetched from it and
compared with ours. Run as `nobody` when we are root (Dovecot refuses root mail access)."""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

IMAP_BINARY = Path("/usr/lib/dovecot/imap")
NOBODY = 65534
TIMEOUT = 20.0


def available() -> bool:
    return IMAP_BINARY.exists() and shutil.which("setpriv") is not None


def parse_values(data: bytes) -> list[object]:
    """IMAP response data as Python values: NIL None, numbers int, strings bytes, atoms
    str, lists list. Literals arrive already inlined as `{n}\\r\\n` + n bytes."""
    pos = 0
    stack: list[list[object]] = [[]]
    while pos < len(data):
        c = data[pos : pos + 1]
        if c in (b" ", b"\r", b"\n"):
            pos += 1
        elif c == b"(":
            stack.append([])
            pos += 1
        elif c == b")":
            done = stack.pop()
            stack[-1].append(done)
            pos += 1
        elif c == b'"':
            out = bytearray()
            pos += 1
            while data[pos : pos + 1] != b'"':
                if data[pos : pos + 1] == b"\\":
                    pos += 1
                out += data[pos : pos + 1]
                pos += 1
            stack[-1].append(bytes(out))
            pos += 1
        elif c in (b"{", b"~"):
            opening = data.index(b"{", pos)
            close = data.index(b"}", pos)
            size = int(data[opening + 1 : close].rstrip(b"+"))
            start = close + 3
            stack[-1].append(data[start : start + size])
            pos = start + size
        else:
            match = re.compile(rb"[^ ()\r\n\[]+(\[[^\]]*\](<\d+>)?)?").match(data, pos)
            assert match, data[pos:]
            atom = match.group().decode()
            pos = match.end()
            if atom == "NIL":
                stack[-1].append(None)
            elif atom.isdigit():
                stack[-1].append(int(atom))
            else:
                stack[-1].append(atom)
    return stack[0]


class Dovecot:
    def __init__(self) -> None:
        # Its own directory under /tmp: pytest's tmp_path sits in a 0700 tree nobody cannot
        # enter.
        root = self.root = Path(tempfile.mkdtemp(prefix="roost-dovecot-"))
        (root / "mail").mkdir()
        uid = os.getuid()
        run_uid, run_gid = (NOBODY, NOBODY) if uid == 0 else (uid, os.getgid())
        (root / "dovecot.conf").write_text(
            f"mail_location = maildir:{root}/mail\n"
            f"base_dir = {root}/run\nstate_dir = {root}/state\nlog_path = /dev/null\n"
            f"mail_uid = {run_uid}\nmail_gid = {run_gid}\n"
            "first_valid_uid = 1\nfirst_valid_gid = 1\n"
        )
        command = [str(IMAP_BINARY), "-c", str(root / "dovecot.conf")]
        if uid == 0:
            for path in [root, *root.rglob("*")]:
                os.chown(path, NOBODY, NOBODY)
            command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
            command += [str(IMAP_BINARY), "-c", str(root / "dovecot.conf")]
        env = {"MAIL": f"maildir:{root}/mail", "HOME": str(root), "USER": "nobody"}
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        self.buffer = b""
        self.counter = 0
        try:
            greeting = self._line()
            assert greeting.startswith(b"* PREAUTH"), greeting
        except BaseException:
            self.close()
            raise

    def _read(self) -> None:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT)
        chunk = os.read(self.proc.stdout.fileno(), 65536) if ready else b""
        if not chunk:
            raise RuntimeError(f"dovecot stopped answering; so far: {self.buffer[-300:]!r}")
        self.buffer += chunk

    def _line(self) -> bytes:
        """One response, literals included."""
        out = b""
        while True:
            while b"\r\n" not in self.buffer:
                self._read()
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            out += line + b"\r\n"
            literal = re.search(rb"\{(\d+)\}$", line)
            if not literal:
                return out
            size = int(literal.group(1))
            while len(self.buffer) < size:
                self._read()
            out += self.buffer[:size]
            self.buffer = self.buffer[size:]

    def command(self, text: bytes, literal: bytes | None = None) -> list[bytes]:
        """Send a command (with one synchronising literal at its end if given); the
        untagged responses, or AssertionError if the command failed."""
        assert self.proc.stdin is not None
        self.counter += 1
        tag = b"t%d" % self.counter
        if literal is None:
            self.proc.stdin.write(tag + b" " + text + b"\r\n")
        else:
            self.proc.stdin.write(tag + b" " + text + b" {%d}\r\n" % len(literal))
            self.proc.stdin.flush()
            assert self._line().startswith(b"+")
            self.proc.stdin.write(literal + b"\r\n")
        self.proc.stdin.flush()
        untagged = []
        while True:
            line = self._line()
            if line.startswith(tag + b" "):
                assert line.startswith(tag + b" OK"), line
                return untagged
            untagged.append(line)

    def fetch(self, seq: int, items: str) -> dict[str, object]:
        """FETCH items of one message as {item name: value}."""
        lines = [
            line
            for line in self.command(b"FETCH %d (%s)" % (seq, items.encode()))
            if re.match(rb"\* %d FETCH" % seq, line)
        ]
        values = parse_values(lines[0][len(b"* %d FETCH " % seq) :])[0]
        assert isinstance(values, list)
        return dict(zip(values[::2], values[1::2], strict=True))  # type: ignore[arg-type]

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=TIMEOUT)
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def running(messages: list[bytes]) -> Iterator[Dovecot]:
    """A Dovecot whose INBOX holds these messages in order (APPENDed, so sequence numbers
    follow), stopped and removed afterwards."""
    assert available(), "install dovecot-imapd (make deps does)"
    peer = Dovecot()
    try:
        for message in messages:
            peer.command(b"APPEND INBOX", message)
        peer.command(b"SELECT INBOX")
        yield peer
    finally:
        peer.close()
