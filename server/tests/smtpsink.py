"""Postfix's smtp-sink on loopback: an SMTP server that only records (or refuses on purpose)."""

from __future__ import annotations

import contextlib
import os
import pwd
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.postfix import postfix_program
from tests.procs import StartStop, free_port, open_files, wait_listening


@dataclass(frozen=True)
class SinkMessage:
    """One transaction that smtp-sink captured."""

    helo: str | None
    mail_from: str  # the MAIL FROM arguments as sent, e.g. "<a@b.test> SIZE=123"
    rcpt_to: list[str]  # each RCPT TO argument as sent, e.g. "<c@d.test>"
    data: bytes  # the message as received (LF line endings), without smtp-sink's headers
    raw: bytes  # the whole dump file


def _parse_sink_dump(raw: bytes) -> SinkMessage:
    helo: str | None = None
    mail_from = ""
    rcpts: list[str] = []
    lines = raw.split(b"\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        name, _, value = line.partition(b": ")
        text = value.decode("utf-8", "replace")
        if name == b"X-Helo-Args":
            helo = text
        elif name == b"X-Mail-Args":
            mail_from = text
        elif name == b"X-Rcpt-Args":
            rcpts.append(text)
        elif name == b"Received":
            # smtp-sink's Received: header has exactly three lines; the message follows.
            index += 2
            break
    data = b"\n".join(lines[index:])
    if data.endswith(b"\n\n"):
        data = data[:-1]  # the dump format adds one empty line after the message
    return SinkMessage(helo=helo, mail_from=mail_from, rcpt_to=rcpts, data=data, raw=raw)


class SMTPSink(StartStop):
    """Postfix's ``smtp-sink`` on loopback, capturing each transaction to a file.

    Fault injection (each a list of SMTP command names such as ``"RCPT"``, ``"DATA"``, ``"."``
    — ``"."`` is the end of the message — or ``"CONNECT"``, ``"EHLO"``, ``"MAIL"``):
    ``hard_reject`` → 5xx (``-f``; reply text ``hard_reply``, ``-B``), ``soft_reject`` → 4xx
    (``-r``; ``soft_reply``, ``-b``), ``disconnect`` → hang up without a reply (``-q``),
    ``reply_421`` → 421 and hang up (``-Q``). ``args`` passes any other smtp-sink options
    (e.g. ``["-w", "2"]`` to delay the DATA reply). Note that smtp-sink rejects *every*
    instance of a command: it is for "this server always says no", not per recipient
    (use :class:`PostfixPeer` ``reject`` for that).
    """

    def __init__(
        self,
        *,
        address: str = "127.0.0.1",
        port: int | None = None,
        hostname: str = "sink.test",
        hard_reject: Sequence[str] = (),
        soft_reject: Sequence[str] = (),
        disconnect: Sequence[str] = (),
        reply_421: Sequence[str] = (),
        hard_reply: str | None = None,
        soft_reply: str | None = None,
        args: Sequence[str] = (),
        backlog: int = 256,
        start_timeout: float = 15.0,
    ) -> None:
        self.address = address
        self.port = port or 0
        self.hostname = hostname
        self._options: list[str] = ["-4", "-h", hostname]
        for flag, commands in (
            ("-f", hard_reject),
            ("-r", soft_reject),
            ("-q", disconnect),
            ("-Q", reply_421),
        ):
            if commands:
                self._options += [flag, ",".join(commands)]
        if hard_reply:
            self._options += ["-B", hard_reply]
        if soft_reply:
            self._options += ["-b", soft_reply]
        self._options += list(args)
        self._backlog = backlog
        self._start_timeout = start_timeout
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.root = Path()
        self.dump_dir = Path()
        self.log_path = Path()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        sink = postfix_program("smtp-sink")
        self._tmp = tempfile.TemporaryDirectory(prefix="roost-smtp-sink-")
        self.root = Path(self._tmp.name)
        self.root.chmod(0o755)
        self.dump_dir = self.root / "dump"
        self.dump_dir.mkdir()
        self.log_path = self.root / "smtp-sink.log"
        command = [sink, *self._options, "-d", f"{self.dump_dir}/"]
        if os.geteuid() == 0:
            user = pwd.getpwnam("postfix")
            os.chown(self.dump_dir, user.pw_uid, user.pw_gid)
            command += ["-u", "postfix"]
        if not self.port:
            self.port = free_port(self.address)
        command += [f"inet:{self.address}:{self.port}", str(self._backlog)]
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_listening(
                self.address,
                self.port,
                time.monotonic() + self._start_timeout,
                lambda: self._proc is not None and self._proc.poll() is None,
            )
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(timeout=5)
            self._proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _files(self) -> list[Path]:
        """Dump files of finished transactions, oldest first.

        smtp-sink creates the file when a transaction starts and keeps it open until it ends;
        a file still open is in progress, and one that does not end with the empty line the
        dump format adds after the message was cut off (the client hung up in DATA).
        """
        if not self.dump_dir.is_dir():
            return []
        busy = open_files(self.pid) if self.pid is not None else set()
        files: list[Path] = []
        for path in self.dump_dir.rglob("*"):
            if not path.is_file() or str(path) in busy:
                continue
            with contextlib.suppress(OSError), path.open("rb") as handle:
                handle.seek(max(0, path.stat().st_size - 2))
                if handle.read() == b"\n\n":
                    files.append(path)
        files.sort(key=lambda p: (p.stat().st_mtime_ns, p.name))
        return files

    @property
    def count(self) -> int:
        """How many transactions got as far as the end of DATA (whatever the reply to it)."""
        return len(self._files())

    def messages(self) -> list[SinkMessage]:
        """Every finished transaction, oldest first."""
        out: list[SinkMessage] = []
        for path in self._files():
            with contextlib.suppress(FileNotFoundError):
                out.append(_parse_sink_dump(path.read_bytes()))
        return out

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[SinkMessage]:
        """Poll until at least ``count`` transactions were captured; returns them all."""
        deadline = time.monotonic() + timeout
        while self.count < count:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"smtp-sink: {self.count} of {count} messages after {timeout}s\n{self.log()}"
                )
            time.sleep(0.05)
        return self.messages()
