"""Plumbing every line-based server protocol of Roost (SMTP, IMAP) needs: write backpressure
with a deadline, and the TLS upgrade of a server-side transport."""

from __future__ import annotations

import asyncio
import logging
import ssl

log = logging.getLogger("roost.streams")


class WriteFlow:
    """The transport's pause/resume_writing, as something a session can wait on, so a client
    that reads slowly holds back our output instead of filling memory."""

    def __init__(self) -> None:
        self._waiter: asyncio.Future[None] | None = None

    def pause(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()

    def resume(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        self._waiter = None

    release = resume  # the connection is gone: nobody should wait for it to drain

    async def drained(self, timeout: float) -> None:
        """Wait until the client reads again; TimeoutError after `timeout` seconds, so a client
        that sends and never reads cannot hold its session (and our memory) for ever."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            await asyncio.wait_for(asyncio.shield(waiter), timeout)


async def upgrade_to_tls(
    transport: asyncio.Transport,
    protocol: asyncio.BaseProtocol,
    context: ssl.SSLContext,
    timeout: float,
    peer: str,
) -> asyncio.Transport | None:
    """The server side of a STARTTLS handshake; None when it failed (the caller closes)."""
    loop = asyncio.get_running_loop()
    try:
        upgraded = await loop.start_tls(
            transport, protocol, context, server_side=True, ssl_handshake_timeout=timeout
        )
    except (OSError, ssl.SSLError, TimeoutError, ConnectionError) as exc:
        log.info("TLS handshake with %s failed: %s", peer, exc)
        return None
    return upgraded
