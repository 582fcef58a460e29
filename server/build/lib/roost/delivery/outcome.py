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

    @property
    def diagnostic(self) -> str:
        """RFC 3464 §2.3.6 Diagnostic-Code value."""
        return f"smtp; {self.text}"


def temporary(text: str, status: str = "4.4.1", remote: str | None = None) -> Outcome:
    return Outcome("temporary", status, text, remote)


def permanent(text: str, status: str = "5.0.0", remote: str | None = None) -> Outcome:
    return Outcome("permanent", status, text, remote)
