"""SMTP replies as values and as exceptions, so policy code can stop a command from any depth.

A `SMTPError` raised by a handler is turned into its reply line at one place (the handler's
`handle_exception`); the client sees only the public text, the log gets the detail.
"""

from __future__ import annotations

import re

# RFC 3463 codes for the replies aiosmtpd writes without one; used once ENHANCEDSTATUSCODES
# (RFC 2034) is advertised, which obliges us to prefix every reply but the greeting and EHLO.
_DEFAULT_ENHANCED = {
    221: "2.0.0",
    235: "2.7.0",
    250: "2.0.0",
    220: "2.0.0",
    421: "4.3.0",
    450: "4.2.0",
    451: "4.3.0",
    452: "4.3.1",
    454: "4.7.0",
    500: "5.5.2",
    501: "5.5.4",
    502: "5.5.1",
    503: "5.5.1",
    504: "5.5.4",
    530: "5.7.0",
    535: "5.7.8",
    538: "5.7.11",
    550: "5.0.0",
    552: "5.3.4",
    553: "5.1.3",
    554: "5.0.0",
    555: "5.5.4",
}
_HAS_ENHANCED = re.compile(r"^\d{3}[ -][245]\.\d{1,3}\.\d{1,3}(\s|$)")


class SMTPError(Exception):
    """An SMTP reply: basic code, enhanced code, public text; `detail` goes to the log only."""

    def __init__(self, code: int, enhanced: str, text: str, detail: str = "") -> None:
        super().__init__(f"{code} {enhanced} {text}")
        self.code = code
        self.enhanced = enhanced
        self.text = text
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.code} {self.enhanced} {self.text}"


def with_enhanced_code(line: str) -> str:
    """Add the RFC 3463 code a bare aiosmtpd reply lacks; leave 3xx and coded replies alone."""
    if len(line) < 4 or not line[:3].isdigit() or line[0] == "3" or _HAS_ENHANCED.match(line):
        return line
    enhanced = _DEFAULT_ENHANCED.get(int(line[:3]), f"{line[0]}.0.0")
    return f"{line[:4]}{enhanced} {line[4:]}"


TEMPORARY_FAILURE = SMTPError(451, "4.3.0", "Temporary local problem, please try again later")
