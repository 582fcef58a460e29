"""What became of one recipient in one delivery attempt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["delivered", "temporary", "permanent"]


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    status: str  # RFC 3463 enhanced code, e.g. "5.1.1"
    text: str  # the remote reply or our own diagnosis, for logs, `queue list` and DSNs
    remote: str | None = None  # the host that said it

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", printable(self.text))

    @property
    def diagnostic(self) -> str:
        """RFC 3464 §2.3.6 Diagnostic-Code value."""
        return f"smtp; {self.text}"


def printable(text: str) -> str:
    """Text safe to store and to put in a DSN: remote replies may carry undecodable bytes
    (kept by aiosmtplib as lone surrogates, which SQLite and UTF-8 encoding refuse)."""
    try:
        raw = text.encode("utf-8", "surrogateescape")  # the bytes as the peer sent them
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


def temporary(text: str, status: str = "4.4.1", remote: str | None = None) -> Outcome:
    return Outcome("temporary", status, text, remote)


def permanent(text: str, status: str = "5.0.0", remote: str | None = None) -> Outcome:
    return Outcome("permanent", status, text, remote)
