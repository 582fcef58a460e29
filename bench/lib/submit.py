"""A small concurrent SMTP submission client: STARTTLS, AUTH PLAIN, many messages per connection.

`smtp-source` speaks neither TLS nor AUTH, so a benchmark of submission (RFC 6409) needs its own
client. This one is the same for every server it is pointed at: `sessions` connections, each
doing EHLO, STARTTLS, EHLO, AUTH PLAIN once, then taking messages from a shared counter until
all are sent: MAIL, RCPT and DATA pipelined in one write (RFC 2920, as Postfix's own client
does), the message, then the next. Any reply other than the expected one aborts the run.

The certificate is not verified (a loopback benchmark against private servers with throwaway
certificates); TLS is still negotiated the same way for each.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from lib.ports import LOOPBACK

EHLO_NAME = "client.bench.test"


class SubmitError(RuntimeError):
    pass


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def plain(self) -> str:
        token = f"\0{self.username}\0{self.password}".encode()
        return base64.b64encode(token).decode("ascii")


def dot_stuff(message: bytes) -> bytes:
    """The DATA payload for a CRLF message: leading dots doubled, ended by CRLF.CRLF."""
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    if message.startswith(b"."):
        message = b"." + message
    return message.replace(b"\r\n.", b"\r\n..") + b".\r\n"


def _client_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class _Session:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def reply(self, expect: int, what: str) -> str:
        lines = []
        while True:
            line = await self.reader.readline()
            if not line:
                raise SubmitError(f"{what}: connection closed ({' | '.join(lines)})")
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(text)
            if len(text) < 4 or text[3] != "-":
                break
        if not text[:3].isdigit() or int(text[:3]) != expect:
            raise SubmitError(f"{what}: expected {expect}, got {' | '.join(lines)}")
        return "\n".join(lines)

    async def command(self, line: str, expect: int) -> str:
        self.writer.write(line.encode() + b"\r\n")
        return await self.reply(expect, line.split(" ", 1)[0])


async def _connection(
    port: int,
    credentials: Credentials,
    sender: str,
    recipient: str,
    payload: Callable[[int], bytes],
    next_index: Callable[[], int | None],
    timeout: float,
) -> int:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(LOOPBACK, port), timeout)
    session = _Session(reader, writer)
    sent = 0
    try:
        async with asyncio.timeout(timeout):
            await session.reply(220, "greeting")
            await session.command(f"EHLO {EHLO_NAME}", 250)
            await session.command("STARTTLS", 220)
            await writer.start_tls(_client_context())
            await session.command(f"EHLO {EHLO_NAME}", 250)
            await session.command(f"AUTH PLAIN {credentials.plain()}", 235)
        envelope = f"MAIL FROM:<{sender}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode()
        while (index := next_index()) is not None:
            async with asyncio.timeout(timeout):
                writer.write(envelope)
                await session.reply(250, "MAIL")
                await session.reply(250, "RCPT")
                await session.reply(354, "DATA")
                writer.write(payload(index))
                await session.reply(250, "end of DATA")
            sent += 1
        async with asyncio.timeout(timeout):
            await session.command("QUIT", 221)
    finally:
        writer.close()
        # The server may drop the connection without a TLS close_notify.
        with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
            await asyncio.wait_for(writer.wait_closed(), 5)
    return sent


async def submit(
    port: int,
    credentials: Credentials,
    sender: str,
    recipient: str,
    payload: Callable[[int], bytes],
    count: int,
    sessions: int,
    timeout: float = 60.0,
) -> int:
    """Send messages 0..count-1 (`payload(i)` gives the dot-stuffed DATA of message i) over
    `sessions` connections; returns how many the server accepted (all, or it raises).
    `timeout` bounds each step (a connection's set-up, or one message)."""
    remaining = iter(range(count))

    def next_index() -> int | None:
        return next(remaining, None)

    results = await asyncio.gather(
        *(
            _connection(port, credentials, sender, recipient, payload, next_index, timeout)
            for _ in range(min(sessions, count))
        )
    )
    return sum(results)
