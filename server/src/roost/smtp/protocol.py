"""aiosmtpd's SMTP state machine with the protocol-level behaviour every Roost endpoint shares.

Policy (who may send what to whom) stays in the handlers; what lives here is what RFCs ask of
any SMTP server: enhanced status codes and PIPELINING advertised, refusing relay-trick paths
before any lookup, per-IP connection caps and a DATA-phase deadline separate from the
command timeout.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope

from roost.addresses import extract_path, relay_trick
from roost.smtp.limits import ConnectionLimiter
from roost.smtp.replies import with_enhanced_code

log = logging.getLogger("roost.smtp")


class RoostEnvelope(Envelope):
    """aiosmtpd's envelope plus what RCPT resolved the recipients to, in order: local users
    (delivered to the store) and remote addresses (written to the queue)."""

    def __init__(self) -> None:
        super().__init__()
        self.local_users: dict[str, None] = {}
        self.remote: dict[str, None] = {}


@dataclass(frozen=True)
class ProtocolLimits:
    command_timeout: float
    data_timeout: float
    max_message_size: int


class RoostSMTP(SMTP):
    def __init__(
        self,
        handler: Any,
        *,
        hostname: str,
        limits: ProtocolLimits,
        connections: ConnectionLimiter,
        tls_context: ssl.SSLContext | None,
        implicit_tls: bool = False,
        require_starttls: bool = False,
        auth_required: bool = False,
    ) -> None:
        super().__init__(
            handler,
            hostname=hostname,
            ident="ESMTP Roost",
            data_size_limit=limits.max_message_size,
            enable_SMTPUTF8=True,
            tls_context=None if implicit_tls else tls_context,
            require_starttls=require_starttls,
            timeout=limits.command_timeout,
            auth_required=auth_required,
            # On 465 the whole connection is TLS already, which aiosmtpd cannot see.
            auth_require_tls=not implicit_tls,
            # The MX offers no AUTH at all (RFC 6409 §3.1 keeps submission apart); submission
            # offers only the mechanisms its handler implements off the event loop.
            auth_exclude_mechanism=["CRAM-MD5"]
            if auth_required
            else ["CRAM-MD5", "LOGIN", "PLAIN"],
        )
        self.implicit_tls = implicit_tls
        self.limits = limits
        self.connections = connections
        self._client_ip: str | None = None
        self._greeted = False
        self._in_ehlo = False

    def _create_envelope(self) -> RoostEnvelope:
        return RoostEnvelope()

    @property
    def tls_active(self) -> bool:
        return self.implicit_tls or self._tls_protocol is not None

    def tls_version(self) -> str | None:
        """Protocol and cipher for the Received header (RFC 8314 §4.3 encourages recording it)."""
        if self.transport is None:
            return None
        ssl_object = self.transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return None
        cipher = ssl_object.cipher()
        return f"{ssl_object.version()} {cipher[0]}" if cipher else ssl_object.version()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.transport is None and self._client_ip is None:
            peer = transport.get_extra_info("peername")
            ip = peer[0] if peer else "unknown"
            if not self.connections.acquire(ip):
                log.warning("refused %s: over %d connections", ip, self.connections.per_ip)
                transport.write(b"421 4.7.0 Too many connections from your host\r\n")  # type: ignore[attr-defined]
                transport.close()
                return
            self._client_ip = ip
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._client_ip is None:
            return
        self.connections.release(self._client_ip)
        self._client_ip = None
        super().connection_lost(error)

    def eof_received(self) -> bool | None:
        if self.session is None:
            return False
        return super().eof_received()

    async def push(self, status: str | bytes) -> None:  # type: ignore[override]
        if isinstance(status, bytes):
            status = status.decode("utf-8", "surrogateescape")
        if not self._greeted:
            self._greeted = True
        elif not self._in_ehlo:
            status = with_enhanced_code(status)
        # Replies may quote what the client sent; bytes that were not UTF-8 come back as "?"
        # rather than failing the whole session.
        await super().push(status.encode("utf-8", "replace"))

    async def smtp_EHLO(self, hostname: str) -> None:
        self._in_ehlo = True
        try:
            await super().smtp_EHLO(hostname)
        finally:
            self._in_ehlo = False

    async def smtp_HELO(self, hostname: str) -> None:
        self._in_ehlo = True
        try:
            await super().smtp_HELO(hostname)
        finally:
            self._in_ehlo = False

    async def smtp_RCPT(self, arg: str | None) -> None:
        if arg and self.session is not None and self.session.host_name and self.envelope:
            rest = arg[3:] if arg[:3].upper() == "TO:" else None
            reason = relay_trick(extract_path(rest)) if rest is not None else None
            if reason and self.envelope.mail_from:
                log.info("refused RCPT %r from %s: %s", rest, self._client_ip, reason)
                await self.push(f"550 5.7.1 Relaying denied: {reason}")
                return
        await super().smtp_RCPT(arg)

    async def smtp_DATA(self, arg: str) -> None:
        # aiosmtpd's timer restarts on each command only, so this bounds the whole DATA phase.
        self._reset_timeout(self.limits.data_timeout)
        await super().smtp_DATA(arg)
        self._reset_timeout()

    async def smtp_VRFY(self, arg: str) -> None:
        # RFC 5321 §3.5.3: 252 lets us avoid confirming which addresses exist.
        await self.push("252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery")


def extensions(responses: list[str]) -> list[str]:
    """EHLO keywords aiosmtpd leaves out although it supports them, and no empty AUTH line
    (aiosmtpd writes one where no mechanism is offered)."""
    *head, last = responses
    offered = [line for line in head if line.strip() != "250-AUTH"]
    return [*offered, "250-ENHANCEDSTATUSCODES", "250-PIPELINING", last]
