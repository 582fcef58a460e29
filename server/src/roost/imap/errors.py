"""IMAP errors that carry their own reply, raised anywhere in a command and caught once.

Each command handler raises `IMAPError` (or a store error the session maps onto one); the
session turns it into the tagged `NO`/`BAD` line. The text sent stays short and generic where
it could reveal internals; logs get the detail (pymap's ResponseError, mox's named errors).
"""

from __future__ import annotations

from typing import Literal


class IMAPError(Exception):
    """A tagged `NO` or `BAD` (RFC 9051 §7.1), with an optional response code (§7.1)."""

    def __init__(self, status: Literal["NO", "BAD"], text: str, code: str | None = None) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.code = code

    def line(self, tag: str) -> bytes:
        code = f"[{self.code}] " if self.code else ""
        return f"{tag} {self.status} {code}{self.text}\r\n".encode("utf-8", "replace")


def bad(text: str, code: str | None = None) -> IMAPError:
    return IMAPError("BAD", text, code)


def no(text: str, code: str | None = None) -> IMAPError:
    return IMAPError("NO", text, code)


class ParseError(Exception):
    """The command could not be parsed; the text says what was expected where."""
