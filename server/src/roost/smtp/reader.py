"""Buffered SMTP input: command lines and the DATA body, cut from one byte buffer.

Searching whole chunks for line ends and for the end-of-data mark costs a few `find` calls per
message, where a `readuntil` per line cost one Python round trip per line of the body. Limits
are enforced while reading, so a client can never make us hold more than one line limit (or the
message size limit, in DATA) in memory, and reading pauses while nobody is consuming input.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from roost.smtp.limits import ByteBudget
from roost.smtp.spooled import SPOOL_ABOVE, SpooledMessage

# Pipelined input beyond this, with no command waiting for it, pauses the socket.
_HIGH_WATER = 64 * 1024
_END_OF_DATA = b"\r\n.\r\n"


class InputClosedError(Exception):
    """The client closed the connection (or it was lost) before a complete line or body."""


class LineTooLongError(Exception):
    """The line was longer than allowed; it has been read and thrown away up to its end."""


class OverBudgetError(Exception):
    """The server holds too many message bytes to take this one; it has been read through its
    end and thrown away, so the session can answer and go on."""


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

    async def read_data(
        self,
        max_size: int,
        budget: ByteBudget,
        reserved: list[int],
        spool_dir: Path | None = None,
        spool_above: int = SPOOL_ABOVE,
    ) -> bytes | SpooledMessage | None:
        """The DATA body up to the lone dot, dot-unstuffed (RFC 5321 §4.5.2), with its last
        CRLF; None when it was larger than `max_size` (it has been consumed all the same).
        Past `spool_above` bytes, with a `spool_dir`, the body goes to a file as it arrives and
        comes back as a SpooledMessage (its line ends already made uniform).

        The bytes buffered are reserved from `budget` as they arrive, and their count kept
        in `reserved[0]` for the caller to give back; OverBudgetError when the budget cannot
        cover them. A spooled body holds about `spool_above` bytes of it.

        Only CRLF.CRLF ends the body: accepting a bare-LF variant is what SMTP smuggling
        exploits, since other servers on the path may see a different end.
        """
        buffer = self._buffer
        while len(buffer) < 3 and b".\r\n".startswith(buffer):
            await self._more()
        if buffer.startswith(b".\r\n"):
            del buffer[:3]
            return b""
        scanned = spooled_bytes = 0
        too_big = over_budget = False
        spooled: SpooledMessage | None = None
        try:
            while True:
                end = buffer.find(_END_OF_DATA, max(scanned - 4, 0))
                if end >= 0:
                    body = bytes(buffer[: end + 2])
                    del buffer[: end + 5]
                    if too_big or spooled_bytes + len(body) > max_size:
                        return None
                    if over_budget:
                        raise OverBudgetError
                    if spooled is None:
                        return _unstuff(body)
                    spooled.write(body)
                    return spooled.finish()
                if not over_budget and len(buffer) > reserved[0]:
                    if budget.reserve(len(buffer) - reserved[0]):
                        reserved[0] = len(buffer)
                    else:
                        over_budget = True
                if spooled_bytes + len(buffer) > max_size + 4 or (over_budget and len(buffer) > 4):
                    # Over a limit: keep only what could be the start of the end mark.
                    too_big = too_big or spooled_bytes + len(buffer) > max_size + 4
                    del buffer[:-4]
                elif spool_dir is not None and len(buffer) > spool_above:
                    if spooled is None:
                        spooled = SpooledMessage(spool_dir)
                    cut = _safe_cut(buffer)
                    spooled.write(bytes(buffer[:cut]))
                    spooled_bytes += cut
                    del buffer[:cut]
                scanned = len(buffer)
                await self._more()
        except BaseException:
            if spooled is not None:
                spooled.discard()
            raise
        finally:
            if spooled is not None and (too_big or over_budget):
                spooled.discard()


def _safe_cut(buffer: bytearray) -> int:
    """Where to cut a spooled body so that neither a CRLF, nor a `CRLF .` to unstuff, nor
    the end mark falls across the cut: before the last 4 bytes, moved back off a CR or CRLF."""
    cut = len(buffer) - 4
    if buffer[cut - 1 : cut] == b"\r":
        return cut - 1
    if buffer[cut - 2 : cut] == b"\r\n":
        return cut - 2
    return cut


def _unstuff(body: bytes) -> bytes:
    if body.startswith(b"."):
        body = body[1:]
    return body.replace(b"\r\n.", b"\r\n")
