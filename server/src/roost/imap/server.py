"""The IMAP listeners' protocol factory: 143 (STARTTLS) and 993 (TLS done by the listener)."""

from __future__ import annotations

from collections.abc import Callable

from roost.imap.commands import COMMANDS
from roost.imap.connection import IMAPConnection
from roost.imap.endpoint import IMAPEndpoint


def imap_factory(endpoint: IMAPEndpoint) -> Callable[[], IMAPConnection]:
    return lambda: IMAPConnection(endpoint, COMMANDS)
