"""What one IMAP session knows: its state (RFC 9051 §3), its user, what it has enabled."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from roost.imap.selected import SelectedMailbox


class State(Enum):
    NOT_AUTHENTICATED = 1
    AUTHENTICATED = 2
    SELECTED = 3
    LOGOUT = 4


@dataclass
class Session:
    peer_ip: str
    tls: bool
    state: State = State.NOT_AUTHENTICATED
    user: str | None = None
    selected: SelectedMailbox | None = None
    enabled: set[str] = field(default_factory=set)  # RFC 5161 ENABLE, upper-cased
    saved_search: list[int] = field(default_factory=list)  # RFC 5182 `$`, as UIDs

    @property
    def utf8(self) -> bool:
        """RFC 6855 §3: mailbox names and quoted strings in UTF-8 instead of modified UTF-7."""
        return "UTF8=ACCEPT" in self.enabled

    @property
    def rev2(self) -> bool:
        return "IMAP4REV2" in self.enabled

    @property
    def condstore(self) -> bool:
        return "CONDSTORE" in self.enabled or "QRESYNC" in self.enabled

    @property
    def qresync(self) -> bool:
        return "QRESYNC" in self.enabled
