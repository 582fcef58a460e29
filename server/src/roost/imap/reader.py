"""Whole IMAP commands read off the wire, literals included, within limits.

A command may span several lines joined by literals (RFC 9051 §4.3): a line ending in `{n}`
asks for a go-ahead (`+`) before the n bytes come; `{n+}` (LITERAL+, RFC 7888) sends them
without waiting. The reader answers synchronising literals itself and returns the command as
it came over the wire, for `parser.parse_command`.

Limits hold while reading: a line over `max_line`, a literal over `max_literal` or a command
over `max_command` is consumed and thrown away, and the caller gets an error carrying the tag,
so one bad command costs a `BAD`/`NO` and the session goes on (RFC 9051 §7.1 TOOBIG).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from roost.smtp.reader import LineTooLongError, Reader

_LITERAL_AT_END = re.compile(rb"~?\{(\d{1,20})(\+?)\}$")
_TAG_ROOM = 128


@dataclass(frozen=True)
class ReadLimits:
    max_line: int
    max_literal: int
    max_command: int


class CommandTooBigError(Exception):
    """The command broke a limit; it has been consumed. `head` is its first line (for the tag)."""

    def __init__(self, head: bytes, reason: str, literal: bool) -> None:
        super().__init__(reason)
        self.head = head
        self.reason = reason
        self.literal = literal


class CommandReader(Reader):
    """The SMTP reader's buffer and flow control, plus exact-length reads for literals."""

    async def read_exact(self, size: int) -> bytes:
        while len(self._buffer) < size:
            await self._more()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def skip(self, size: int) -> None:
        """Throw away `size` bytes without holding more than one chunk of them."""
        while size > 0:
            if not self._buffer:
                await self._more()
            taken = min(size, len(self._buffer))
            del self._buffer[:taken]
            size -= taken

    async def _head(self) -> bytes:
        """The start of the next line (enough for its tag), before readline may discard an
        over-long line whole: the refusal must carry the command's tag."""
        while b"\n" not in self._buffer and len(self._buffer) < _TAG_ROOM and not self._eof:
            await self._more()
        return bytes(self._buffer[:_TAG_ROOM]).split(b"\n", 1)[0]

    async def command(self, limits: ReadLimits, go_ahead: Callable[[], Awaitable[None]]) -> bytes:
        """The next command without its final CRLF; `go_ahead` sends `+` for `{n}` literals."""
        parts: list[bytes] = []
        total = 0
        while True:
            head = parts[0] if parts else await self._head()
            try:
                line = await self.readline(limits.max_line)
            except LineTooLongError:
                raise CommandTooBigError(head, "line too long", literal=False) from None
            parts.append(line)
            total += len(line) + 2
            match = _LITERAL_AT_END.search(line)
            if match is None:
                return b"".join(parts)
            size = int(match.group(1))
            synchronising = not match.group(2)
            if size > limits.max_literal or total + size > limits.max_command:
                if not synchronising:
                    # The bytes are on their way regardless; eat them to find the next command.
                    await self.skip(size)
                    await self._rest_of_command(limits)
                raise CommandTooBigError(parts[0], "literal too big", literal=True)
            if synchronising:
                await go_ahead()
            parts[-1] = line + b"\r\n" + await self.read_exact(size)
            total += size

    async def _rest_of_command(self, limits: ReadLimits) -> None:
        """Skip the remainder of a command whose literal was refused, literals and all."""
        while True:
            try:
                line = await self.readline(limits.max_line)
            except LineTooLongError:
                continue
            match = _LITERAL_AT_END.search(line)
            if match is None:
                return
            if not match.group(2):
                return  # the client waits for a go-ahead that will not come
            await self.skip(int(match.group(1)))
