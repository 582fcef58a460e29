"""What the IMAP ports answer until the IMAP server lands: a polite, standard refusal.

Clients that connect get an untagged BYE with the UNAVAILABLE response code (RFC 5530 §3)
instead of a refused connection, so a person sees a reason rather than a network error.
"""

from __future__ import annotations

import asyncio

BYE = b"* BYE [UNAVAILABLE] IMAP is not available on this Roost server yet\r\n"


class UnavailableIMAP(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(BYE)  # type: ignore[attr-defined]
        transport.close()
