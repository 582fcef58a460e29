"""Checking and converting parsed arguments (parser.Arg) into what commands use."""

from __future__ import annotations

from collections.abc import Sequence

from roost.imap import mutf7
from roost.imap.errors import BadCommandError
from roost.imap.parser import Arg
from roost.imap.response import Atom
from roost.imap.session import Session

INBOX = "INBOX"


def count(args: Sequence[Arg], low: int, high: int | None, syntax: str) -> None:
    if len(args) < low or (high is not None and len(args) > high):
        raise BadCommandError(f"Syntax: {syntax}")


def astring(arg: Arg, what: str) -> str:
    """An atom or string as text (RFC 9051 §9 astring); strings must be UTF-8."""
    if isinstance(arg, str):
        return arg
    if isinstance(arg, bytes):
        try:
            return arg.decode("utf-8")
        except UnicodeDecodeError:
            raise BadCommandError(f"{what} is not valid UTF-8") from None
    raise BadCommandError(f"{what} must be an atom or a string, not a list")


def atom(arg: Arg, what: str) -> str:
    if not isinstance(arg, str):
        raise BadCommandError(f"{what} must be an atom")
    return arg


def paren_list(arg: Arg, what: str) -> list[Arg]:
    if not isinstance(arg, list):
        raise BadCommandError(f"{what} must be a parenthesized list")
    return arg


def number(arg: Arg, what: str, *, allow_zero: bool = True) -> int:
    if not isinstance(arg, str) or not arg.isascii() or not arg.isdigit() or len(arg) > 20:
        raise BadCommandError(f"{what} must be a number")
    value = int(arg)
    if value == 0 and not allow_zero:
        raise BadCommandError(f"{what} must be greater than 0")
    return value


def mailbox(session: Session, arg: Arg) -> str:
    """A mailbox name as stored: modified UTF-7 decoded, or UTF-8 after ENABLE UTF8=ACCEPT
    (RFC 6855 §3); INBOX in any case is INBOX (RFC 9051 §5.1)."""
    text = astring(arg, "the mailbox name")
    if not session.utf8:
        try:
            text = mutf7.decode(text)
        except mutf7.MailboxNameError as exc:
            raise BadCommandError(str(exc)) from None
    return INBOX if text.upper() == INBOX else text


def mailbox_out(session: Session, name: str) -> str | Atom:
    """A stored name as the client should see it."""
    if name == INBOX:
        return Atom(INBOX)
    return name if session.utf8 else mutf7.encode(name)
