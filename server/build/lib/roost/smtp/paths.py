"""The arguments of MAIL FROM and RCPT TO: a path and ESMTP parameters (RFC 5321 §4.1.2).

Strict where it protects someone (non-UTF-8 bytes, unknown parameters, a declared size over the
limit, UTF-8 addresses without SMTPUTF8) and lenient where real clients differ harmlessly: a
space after the colon and a path without angle brackets are accepted, as Postfix does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from roost.smtp.replies import SMTPError

# RFC 5321 §4.1.2 Mailbox, with RFC 6531's UTF-8 allowed; quoted local parts may hold anything
# printable. Source routes (`@a,@b:`) are matched so RCPT can refuse them by name.
_MAILBOX = re.compile(
    r'(?:@[^\s:<>]+:)?(?:"(?:[^"\\\r\n]|\\.)*"|[^\s"<>@()\[\],;:\\]+)@(?:\[[^\]\s]+\]|[^\s<>@"]+)'
)
_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")


@dataclass(frozen=True)
class PathArgument:
    address: str  # "" for the null reverse-path <>
    params: dict[str, str | None]


def parse(argument: str, prefix: str, *, recipient: bool) -> PathArgument:
    """`argument` is what follows the verb; `prefix` is "FROM:" or "TO:"."""
    if argument[: len(prefix)].upper() != prefix:
        verb = "RCPT TO" if recipient else "MAIL FROM"
        raise SMTPError(501, "5.5.4", f"Syntax: {verb}:<address>")
    rest = argument[len(prefix) :].lstrip(" ")
    if rest.startswith("<"):
        close = rest.find(">")
        if close < 0:
            raise _bad_address(recipient, "missing >")
        path, params_text = rest[1:close], rest[close + 1 :]
        if params_text and not params_text.startswith(" "):
            raise _bad_address(recipient, "text after >")
    else:
        path, _, params_text = rest.partition(" ")
    if any("\udc80" <= char <= "\udcff" for char in path):
        raise _bad_address(recipient, "bytes that are not UTF-8")
    params = _parameters(params_text.split())
    if path == "":
        if recipient:
            raise _bad_address(recipient, "empty recipient")
        return PathArgument("", params)
    if not _MAILBOX.fullmatch(path):
        raise _bad_address(recipient, "not local@domain")
    if not path.isascii() and "SMTPUTF8" not in params:
        raise SMTPError(553, "5.6.7", "Non-ASCII address requires SMTPUTF8 (RFC 6531)")
    return PathArgument(path, params)


def _parameters(words: list[str]) -> dict[str, str | None]:
    params: dict[str, str | None] = {}
    for word in words:
        key, equals, value = word.partition("=")
        if not _KEYWORD.match(key) or (equals and not value):
            raise SMTPError(501, "5.5.4", "Syntax error in parameters")
        params[key.upper()] = value if equals else None
    return params


def check_mail_parameters(params: dict[str, str | None], max_size: int) -> None:
    """The MAIL parameters we advertise (SIZE, BODY, SMTPUTF8), each validated; others 555."""
    for key, value in params.items():
        if key == "SIZE":
            if value is None or not value.isdigit():
                raise SMTPError(501, "5.5.4", "Syntax: SIZE=<number>")
            if int(value) > max_size:
                raise SMTPError(552, "5.3.4", "Message size exceeds fixed maximum message size")
        elif key == "BODY":
            if (value or "").upper() not in ("7BIT", "8BITMIME"):
                raise SMTPError(501, "5.5.4", "Syntax: BODY=7BIT|8BITMIME")
        elif key == "SMTPUTF8":
            if value is not None:
                raise SMTPError(501, "5.5.4", "Syntax: SMTPUTF8 takes no value")
        else:
            raise SMTPError(555, "5.5.4", f"MAIL parameter {key} not supported")


def check_rcpt_parameters(params: dict[str, str | None]) -> None:
    if params:
        raise SMTPError(555, "5.5.4", f"RCPT parameter {next(iter(params))} not supported")


def _bad_address(recipient: bool, why: str) -> SMTPError:
    if recipient:
        return SMTPError(553, "5.1.3", "Bad recipient address syntax", why)
    return SMTPError(553, "5.1.7", "Bad sender address syntax", why)
