"""Submission (RFC 6409) on 587 with STARTTLS and 465 with implicit TLS (RFC 8314).

Only authenticated users; each may send only as addresses they own or aliases granted to them,
in the envelope and in the From header alike, so an account cannot forge another's mail.
Mail leaves DKIM-signed with every current key of the From domain (RSA and Ed25519, RFC 8463).
"""

from __future__ import annotations

import asyncio
import logging

from aiosmtpd.smtp import Session

from roost.addresses import domain_of
from roost.dkim.sign import sign
from roost.smtp.auth import SASLMechanisms, Verifier, authenticated_user
from roost.smtp.context import SMTPContext
from roost.smtp.handler import BaseHandler, client_ip, reply_boundary
from roost.smtp.headers import (
    from_addresses,
    missing_origin_headers,
    new_queue_id,
    normalize_line_endings,
    parsed_headers,
    received,
)
from roost.smtp.limits import AuthThrottle
from roost.smtp.protocol import RoostEnvelope, RoostSMTP
from roost.smtp.replies import SMTPError

log = logging.getLogger("roost.smtp.submission")


class SubmissionHandler(BaseHandler, SASLMechanisms):
    def __init__(self, context: SMTPContext, verifier: Verifier, throttle: AuthThrottle) -> None:
        BaseHandler.__init__(self, context)
        SASLMechanisms.__init__(self, verifier, throttle)

    async def _may_send_as(self, user: str, address: str) -> bool:
        return await asyncio.to_thread(self.context.store.may_send_as, user, address)

    @reply_boundary
    async def handle_MAIL(
        self,
        server: RoostSMTP,
        session: Session,
        envelope: RoostEnvelope,
        address: str,
        options: list[str],
    ) -> str:
        user = authenticated_user(server)
        if user is None:
            raise SMTPError(530, "5.7.0", "Authentication required")
        if address == "<>" or not await self._may_send_as(user, address):
            raise SMTPError(553, "5.7.1", f"Sender address <{address}> is not owned by {user}")
        return self.accept_sender(envelope, address, options)

    @reply_boundary
    async def handle_RCPT(
        self,
        server: RoostSMTP,
        session: Session,
        envelope: RoostEnvelope,
        address: str,
        options: list[str],
    ) -> str:
        self.check_recipient_limit(envelope)
        if await self.is_local_domain(domain_of(address)):
            await self.resolve_local(envelope, address)
        else:
            envelope.remote[address] = None
        return self.accept_recipient(envelope, address, options)

    @reply_boundary
    async def handle_DATA(
        self, server: RoostSMTP, session: Session, envelope: RoostEnvelope
    ) -> str:
        context = self.context
        user = authenticated_user(server)
        assert user is not None  # MAIL already required it
        message = normalize_line_endings(envelope.original_content or b"")
        headers = parsed_headers(message)
        senders = from_addresses(headers)
        if senders is None:
            raise SMTPError(550, "5.6.0", "The message needs exactly one valid From header")
        for address in senders:
            if not await self._may_send_as(user, address):
                raise SMTPError(553, "5.7.1", f"From address <{address}> is not owned by {user}")
        domain = domain_of(senders[0])
        message = missing_origin_headers(headers, domain) + message
        keys = await asyncio.to_thread(context.dkim_keys.current, domain)
        if keys:
            message = await asyncio.to_thread(sign, message, domain, keys)
        else:
            log.warning("no DKIM key for %s: sending unsigned (run `roost dkim keygen`)", domain)
        queue_id = new_queue_id()
        trace = received(
            helo=session.host_name or "",
            client_ip=client_ip(session),
            hostname=context.hostname,
            protocol="ESMTPSA",
            tls=server.tls_version(),
            queue_id=queue_id,
            recipient=None,
        )
        await self.deliver(envelope, queue_id, trace + message)
        log.info(
            "submitted %s user=%s from=<%s> rcpts=%d size=%d signed=%s",
            queue_id,
            user,
            envelope.mail_from,
            len(envelope.rcpt_tos),
            len(message),
            ",".join(k.selector for k in keys) or "no",
        )
        return f"250 2.0.0 Ok: queued as {queue_id}"
