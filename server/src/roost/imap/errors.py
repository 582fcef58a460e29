"""IMAP errors that carry the tagged response they stand for (pymap's habit).

Parsing and evaluation code deep inside FETCH, SEARCH and sequence sets raises these; the
protocol engine catches `IMAPError` once at the command boundary and answers with
`response(tag)`. The text is meant for the client: it names what was wrong and what to send
instead, and never holds internal detail.
"""

from __future__ import annotations

from typing import ClassVar, Literal


class IMAPError(Exception):
    """A command that fails with a tagged BAD or NO (RFC 9051 §7.1)."""

    status: ClassVar[Literal["BAD", "NO"]] = "BAD"

    def __init__(self, text: str, code: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.code = code

    def response(self, tag: str | bytes) -> bytes:
        """The tagged response line, CRLF included."""
        tag_bytes = tag.encode("ascii") if isinstance(tag, str) else tag
        code = f"[{self.code}] " if self.code else ""
        return b"%s %s %s%s\r\n" % (
            tag_bytes,
            self.status.encode(),
            code.encode("ascii"),
            self.text.encode("ascii", "replace"),
        )


class BadCommandError(IMAPError):
    """The arguments do not follow the grammar (RFC 9051 §7.1.5: BAD, the session goes on)."""

    status = "BAD"


class BadCharsetError(IMAPError):
    """SEARCH named a charset we do not search in (RFC 9051 §6.4.4, §7.1: NO [BADCHARSET])."""

    status = "NO"
    SUPPORTED: ClassVar[tuple[str, ...]] = ("UTF-8", "US-ASCII")

    def __init__(self, charset: str) -> None:
        listed = " ".join(self.SUPPORTED)
        super().__init__(
            f"charset {charset} is not supported; search with CHARSET UTF-8",
            f"BADCHARSET ({listed})",
        )


class UnknownCTEError(IMAPError):
    """BINARY of a part whose Content-Transfer-Encoding we cannot undo (RFC 3516 §4.3,
    RFC 9051 §7.1: NO [UNKNOWN-CTE]); BODY[] of the same part still works."""

    status = "NO"

    def __init__(self, encoding: str) -> None:
        super().__init__(
            f"cannot decode Content-Transfer-Encoding {encoding!r}; fetch BODY[] instead",
            "UNKNOWN-CTE",
        )


class RefusedError(IMAPError):
    """A well-formed command the server will not or cannot carry out (RFC 9051 §7.1.2: NO)."""

    status = "NO"
