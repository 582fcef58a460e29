"""Submission (RFC 6409) on 587 with STARTTLS and 465 with implicit TLS (RFC 8314).

Only authenticated users; each may send only as addresses they own or aliases granted to them,
in the envelope and in the From header alike, so an account cannot forge another's mail.
Mail leaves DKIM-signed with every current key of the From domain (RSA and Ed25519, RFC 8463).
"""

from __future__ import annotations

import asyncio
import logging

from roost.addresses import domain_of
from roost.dkim.sign import sign
from roost.fromheader import FromError, author_addresses
from roost.offloop import sized
from roost.smtp.envelope import Envelope, Session
from roost.smtp.handler import RECIPIENT_OK, SENDER_OK, BaseHandler, reply_boundary
from roost.smtp.headers import (
    missing_origin_headers,
    new_queue_id,
    prepare,
    received,
)
from roost.smtp.replies import SMTPError
from roost.smtp.spooled import SpooledMessage

log = logging.getLogger("roost.smtp.submission")


class SubmissionHandler(BaseHandler):
    """The protocol has already required TLS and a login before MAIL (see SMTPEndpoint)."""

    def _may_send_as(self, user: str, address: str) -> bool:
        return self.context.store.may_send_as(user, address)

    @reply_boundary
    async def mail(self, session: Session, envelope: Envelope, address: str) -> str:
        user = _user(session)
        if address == "" or not self._may_send_as(user, address):
            raise SMTPError(553, "5.7.1", f"Sender address <{address}> is not owned by {user}")
        return SENDER_OK

    @reply_boundary
    async def rcpt(self, session: Session, envelope: Envelope, address: str) -> str:
        address = self.with_domain(address)
        self.check_recipient_limit(envelope)
        if self.is_local_domain(domain_of(address)):
            self.resolve_local(envelope, address)
        else:
            envelope.remote[address] = None
        return RECIPIENT_OK

    @reply_boundary
    async def data(
        self, session: Session, envelope: Envelope, content: bytes | SpooledMessage
    ) -> str:
        context = self.context
        user = _user(session)
        if isinstance(content, SpooledMessage):
            # Signing needs the whole message at hand; an authenticated user's large
            # message is read back (the MX, open to anyone, never does this).
            content = await asyncio.to_thread(content.read)
        message, senders = await sized(len(content), _prepare, content, context.hostname)
        for address in senders:
            if not self._may_send_as(user, address):
                raise SMTPError(553, "5.7.1", f"From address <{address}> is not owned by {user}")
        domain = domain_of(senders[0])
        keys = await asyncio.to_thread(context.dkim_keys.current, domain)
        if keys:
            message = await asyncio.to_thread(sign, message, domain, keys)
        else:
            log.warning("no DKIM key for %s: sending unsigned (run `roost dkim keygen`)", domain)
        queue_id = new_queue_id()
        trace = received(
            helo=session.helo or "",
            client_ip=session.peer_ip,
            hostname=context.hostname,
            protocol=session.protocol(envelope.smtputf8),
            tls=session.tls,
            queue_id=queue_id,
            recipient=None,
        )
        await self.deliver(envelope, queue_id, trace, message)
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


def _prepare(content: bytes, hostname: str) -> tuple[bytes, list[str]]:
    """The message as `prepare` makes it, with the Message-ID and Date a client left out, and
    its From addresses."""
    message = prepare(content, hostname)
    try:
        senders = author_addresses(message)
    except FromError as err:
        raise SMTPError(
            550, "5.6.0", f"The message needs exactly one valid From field: {err}"
        ) from None
    return missing_origin_headers(message, domain_of(senders[0])) + message, senders


def _user(session: Session) -> str:
    if session.user is None:  # the protocol asks for AUTH before MAIL on this endpoint
        raise SMTPError(530, "5.7.0", "Authentication required")
    return session.user
