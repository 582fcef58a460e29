"""Mailbox names on the wire: modified UTF-7 (RFC 3501 §5.1.3) or UTF-8 (RFC 6855 §3).

The store keeps names as Unicode. A client that has not sent `ENABLE UTF8=ACCEPT` sees and
sends them in modified UTF-7: printable ASCII stands for itself except "&", which is "&-",
and any other run of characters is "&" + base64 (with "," for "/") of UTF-16BE + "-".
"""

from __future__ import annotations

import base64
import re

_RUN = re.compile(r"&([A-Za-z0-9+,]*)-")


class MailboxNameError(ValueError):
    """Not valid modified UTF-7; the message names the offending part."""


def encode(name: str) -> str:
    out: list[str] = []
    pending: list[str] = []

    def close_run() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            close_run()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    close_run()
    return "".join(out)


def decode(text: str) -> str:
    """The Unicode name; raises MailboxNameError for 8-bit input or a broken "&...-" run."""
    if any(not 0x20 <= ord(char) <= 0x7E for char in text):
        raise MailboxNameError(
            f"{text!r} has characters outside printable ASCII; encode the name in modified "
            "UTF-7 (RFC 3501 §5.1.3) or ENABLE UTF8=ACCEPT first"
        )
    out: list[str] = []
    position = 0
    while position < len(text):
        shift = text.find("&", position)
        if shift < 0:
            out.append(text[position:])
            break
        out.append(text[position:shift])
        match = _RUN.match(text, shift)
        if match is None:
            raise MailboxNameError(f"unterminated '&' shift in {text!r}: write '&-' for '&'")
        payload = match.group(1)
        if payload:
            try:
                raw = base64.b64decode(payload.replace(",", "/") + "=" * (-len(payload) % 4))
                out.append(raw.decode("utf-16-be"))
            except (ValueError, UnicodeDecodeError):
                raise MailboxNameError(f"{match.group(0)!r} is not valid modified UTF-7") from None
        else:
            out.append("&")
        position = match.end()
    return "".join(out)
