"""Buffered SMTP input: command lines and the DATA body, cut from one byte buffer.

Searching whole chunks for line ends and for the end-of-data mark costs a few `find` calls per
message, where a `readuntil` per line cost one Python round trip per line of the body. Limits
are enforced while reading, so a client can never make us hold more than one line limit (or the
message size limit, in DATA) in memory, and reading pauses while nobody is consuming input.
"""

from __future__ import annotations

import asyncio

# Pipelined input beyond this, with no command waiting for it, pauses the socket.
_HIGH_WATER = 64 * 1024
_END_OF_DATA = b"\r\n.\r\n"


class InputClosedError(Exception):
    """The client closed the connection (or it was lost) before a complete line or body."""


class LineTooLongError(Exception):
    """The line was longer than allowed; it has been read and thrown away up to its end."""


class Reader:
    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._buffer = bytearray()
        self._eof = False
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None

    def set_transport(self, transport: asyncio.Transport) -> None:
        """After STARTTLS the same reader continues on the TLS transport."""
        self._transport = transport
        self._paused = False

    def feed(self, data: bytes) -> None:
        self._buffer += data
        if self._waiter is None:
            if len(self._buffer) > _HIGH_WATER and not self._paused:
                self._paused = True
                self._transport.pause_reading()
        elif not self._waiter.done():
            self._waiter.set_result(None)

    def feed_eof(self) -> None:
        self._eof = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def has_line(self) -> bool:
        return b"\n" in self._buffer

    def discard(self) -> int:
        """Drop whatever the client sent ahead; returns how many bytes that was."""
        dropped = len(self._buffer)
        self._buffer.clear()
        return dropped

    async def _more(self) -> None:
        if self._eof:
            raise InputClosedError
        if self._paused:
            self._paused = False
            self._transport.resume_reading()
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    async def readline(self, limit: int) -> bytes:
        """The next line without its CRLF (a bare LF ends a command line too, as in Postfix).

        A line over `limit` bytes is consumed through its end and raises LineTooLongError, so the
        session can answer once and carry on with the next command.
        """
        buffer = self._buffer
        scanned = 0
        overlong = False
        while True:
            end = buffer.find(b"\n", scanned)
            if end >= 0:
                line = bytes(buffer[:end])
                del buffer[: end + 1]
                if overlong or end > limit:
                    raise LineTooLongError
                return line[:-1] if line.endswith(b"\r") else line
            if len(buffer) > limit:
                overlong = True
                buffer.clear()
            scanned = len(buffer)
            await self._more()

    async def read_data(self, max_size: int) -> bytes | None:
        """The DATA body up to the lone dot, dot-unstuffed (RFC 5321 §4.5.2), with its last
        CRLF; None when it was larger than `max_size` (it has been consumed all the same).

        Only CRLF.CRLF ends the body: accepting a bare-LF variant is what SMTP smuggling
        exploits, since other servers on the path may see a different end.
        """
        buffer = self._buffer
        while len(buffer) < 3 and b".\r\n".startswith(buffer):
            await self._more()
        if buffer.startswith(b".\r\n"):
            del buffer[:3]
            return b""
        scanned = 0
        too_big = False
        while True:
            end = buffer.find(_END_OF_DATA, max(scanned - 4, 0))
            if end >= 0:
                body = bytes(buffer[: end + 2])
                del buffer[: end + 5]
                if too_big or len(body) > max_size:
                    return None
                return _unstuff(body)
            if len(buffer) > max_size + 4:
                # Over the limit: keep only what could be the start of the end mark.
                too_big = True
                del buffer[:-4]
            scanned = len(buffer)
            await self._more()


def _unstuff(body: bytes) -> bytes:
    if body.startswith(b"."):
        body = body[1:]
    return body.replace(b"\r\n.", b"\r\n")
