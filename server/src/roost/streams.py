"""Plumbing every line-based server protocol of Roost (SMTP, IMAP) needs: admitting a
connection against the connection caps, write backpressure with a deadline, and the TLS
upgrade of a server-side transport."""

from __future__ import annotations

import asyncio
import logging
import ssl

from roost.smtp.limits import ConnectionLimiter, client_key

log = logging.getLogger("roost.streams")


def admit(
    transport: asyncio.Transport,
    connections: ConnectionLimiter,
    implicit_tls: ssl.SSLContext | None,
    refusal: bytes,
) -> tuple[str, str] | None:
    """Count a new connection against its client and the server; (ip, client key) when it
    may go on, None when it was refused and closed. Where TLS is implicit (465, 993) nothing
    is said in clear text, and reading waits, since the ClientHello is for the TLS layer: the
    session does the handshake once the connection is counted (RFC 8314)."""
    peer = transport.get_extra_info("peername")
    ip = str(peer[0]) if peer else "unknown"
    client = client_key(ip)
    refused = connections.acquire(client)
    if refused:
        log.warning("refused %s: %s", ip, refused)
        if implicit_tls is None:
            transport.write(refusal)
        transport.close()
        return None
    if implicit_tls is not None:
        transport.pause_reading()
    return ip, client


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
    """The server side of a STARTTLS handshake; None when it failed (the caller closes).

    A failure is also reported to PROTOCOL as connection_lost, which must therefore take it
    more than once: asyncio's TLS layer, which owns the transport from here, does not pass
    connection_lost on when the connection ends during the handshake, and a connection
    counted against its client (ConnectionLimiter) stayed counted for good: after
    max_connections_per_ip clients that hung up on 465 or 993 before TLS (port scanners; ten
    runs of `roost check`), every connection from their address was refused.
    """
    loop = asyncio.get_running_loop()
    try:
        upgraded = await loop.start_tls(
            transport, protocol, context, server_side=True, ssl_handshake_timeout=timeout
        )
    except (OSError, ssl.SSLError, TimeoutError, ConnectionError) as exc:
        log.info("TLS handshake with %s failed: %s", peer, exc)
        protocol.connection_lost(exc)
        return None
    if upgraded is None:  # the connection ended before the handshake did, with no error
        log.info("TLS handshake with %s failed: the connection closed", peer)
        protocol.connection_lost(None)
    return upgraded
