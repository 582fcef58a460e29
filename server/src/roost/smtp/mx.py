"""The MX endpoint (port 25): mail from the internet for the domains we host, and nothing else.

Flow: RCPT accepts only hosted recipients (no relay, RFC 5321 §3.6.2), DATA runs SPF, DKIM and
DMARC, records them in Authentication-Results (RFC 8601), applies the sender's DMARC policy,
then the message is written durably before the 250.
"""

from __future__ import annotations

import asyncio
import logging

from roost.addresses import domain_of
from roost.checks.pool import CheckCrashedError, CheckError, CheckTimeoutError, InboundChecks
from roost.offloop import sized
from roost.smtp.context import SMTPContext
from roost.smtp.envelope import Envelope, Session
from roost.smtp.handler import RECIPIENT_OK, SENDER_OK, BaseHandler, reply_boundary
from roost.smtp.headers import new_queue_id, prepare, received
from roost.smtp.replies import SMTPError
from roost.smtp.spooled import SpooledMessage

log = logging.getLogger("roost.smtp.mx")


class MXHandler(BaseHandler):
    def __init__(self, context: SMTPContext, checks: InboundChecks) -> None:
        super().__init__(context)
        self.checks = checks

    async def mail(self, session: Session, envelope: Envelope, address: str) -> str:
        return SENDER_OK

    @reply_boundary
    async def rcpt(self, session: Session, envelope: Envelope, address: str) -> str:
        address = self.with_domain(address)
        if not self.is_local_domain(domain_of(address)):
            raise SMTPError(550, "5.7.1", "Relaying denied", f"{address} from {session.peer_ip}")
        self.check_recipient_limit(envelope)
        self.resolve_local(envelope, address)
        return RECIPIENT_OK

    @reply_boundary
    async def data(
        self, session: Session, envelope: Envelope, content: bytes | SpooledMessage
    ) -> str:
        context = self.context
        message: bytes | SpooledMessage
        if isinstance(content, SpooledMessage):
            await asyncio.to_thread(content.prepare, context.hostname)
            message = content
        else:
            message = await sized(len(content), prepare, content, context.hostname)
        sender = envelope.mail_from or ""
        ip = session.peer_ip
        try:
            verdict = await self.checks.evaluate(
                message.path if isinstance(message, SpooledMessage) else message,
                client_ip=ip,
                helo=session.helo or "",
                mail_from=sender or "",
                authserv_id=context.hostname,
                reject_action=context.dmarc.reject_action,
                quarantine_action=context.dmarc.quarantine_action,
            )
        except CheckError as err:
            # Never accept a message whose checks did not run: the sender retries later.
            if isinstance(err, CheckCrashedError | CheckTimeoutError):
                log.error("checks failed for a message from %s: %s", ip, err)
            raise SMTPError(
                451, "4.3.0", "Temporary local problem, please try again later", f"from {ip}: {err}"
            ) from None
        queue_id = new_queue_id()
        if verdict.action == "reject":
            raise SMTPError(
                550,
                "5.7.1",
                "Message rejected by the sender domain's DMARC policy",
                f"{queue_id} from {ip}: {verdict.reason}",
            )
        trace = received(
            helo=session.helo or "",
            client_ip=ip,
            hostname=context.hostname,
            protocol=session.protocol(envelope.smtputf8),
            tls=session.tls,
            queue_id=queue_id,
            recipient=envelope.rcpt_tos[0] if len(envelope.rcpt_tos) == 1 else None,
        )
        await self.deliver(
            envelope, queue_id, trace + verdict.header, message, verdict.action == "junk"
        )
        log.info(
            "accepted %s from=<%s> ip=%s rcpts=%d size=%d action=%s (%s)",
            queue_id,
            sender,
            ip,
            len(envelope.rcpt_tos),
            len(message),
            verdict.action,
            verdict.reason,
        )
        return f"250 2.0.0 Ok: queued as {queue_id}"
