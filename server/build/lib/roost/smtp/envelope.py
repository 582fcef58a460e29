"""What a session knows about its client and the transaction in progress, as handlers see it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Session:
    peer_ip: str
    helo: str | None = None
    esmtp: bool = False
    tls: str | None = None  # protocol and cipher once TLS is up, for the Received header
    user: str | None = None  # the authenticated account (submission), never the password

    @property
    def protocol(self) -> str:
        """The RFC 3848 `with` keyword for the Received header."""
        if not self.esmtp:
            return "SMTP"
        return "ESMTP" + ("S" if self.tls else "") + ("A" if self.user else "")


@dataclass
class Envelope:
    """MAIL and RCPT as accepted, plus what RCPT resolved the recipients to, in order: local
    users (delivered to the store) and remote addresses (written to the queue)."""

    mail_from: str | None = None  # "" is the null reverse-path
    rcpt_tos: list[str] = field(default_factory=list)
    local_users: dict[str, None] = field(default_factory=dict)
    remote: dict[str, None] = field(default_factory=dict)
