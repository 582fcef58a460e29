"""SMTP replies as values and as exceptions, so policy code can stop a command from any depth.

A `SMTPError` raised by a handler is turned into its reply line at one place (the handler's
`reply_boundary`, or the protocol for its own errors); the client sees only the public text
with its RFC 3463 enhanced code, the log gets the detail.
"""

from __future__ import annotations


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


TEMPORARY_FAILURE = SMTPError(451, "4.3.0", "Temporary local problem, please try again later")
