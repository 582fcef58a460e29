"""What the MX and submission handlers share: EHLO keywords, recipient resolution, the error
boundary that turns a `SMTPError` (or a crash) into one reply line, and the final local delivery."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

from aiosmtpd.smtp import SMTP, Envelope, Session

from roost.smtp.context import SMTPContext
from roost.smtp.protocol import RoostEnvelope, extensions
from roost.smtp.replies import TEMPORARY_FAILURE, SMTPError
from roost.store.errors import AliasTooDeep, InvalidAddress

log = logging.getLogger("roost.smtp")
P = ParamSpec("P")


def reply_boundary(hook: Callable[P, Awaitable[str]]) -> Callable[P, Awaitable[str]]:
    """Catch a hook's errors here, once: clients see generic text, the log keeps the detail."""

    @functools.wraps(hook)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> str:
        try:
            return await hook(*args, **kwargs)
        except SMTPError as reply:
            if reply.detail:
                log.info("%s: %s", reply, reply.detail)
            return str(reply)
        except Exception:
            log.exception("%s failed", hook.__name__)
            return str(TEMPORARY_FAILURE)

    return wrapper


class BaseHandler:
    def __init__(self, context: SMTPContext) -> None:
        self.context = context

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        return extensions(responses)

    async def handle_exception(self, error: Exception) -> str:
        """Errors outside our hooks (aiosmtpd internals, SASL): detail to the log only."""
        log.error("session error: %s: %s", type(error).__name__, error)
        return str(TEMPORARY_FAILURE)

    def check_recipient_limit(self, envelope: RoostEnvelope) -> None:
        if len(envelope.rcpt_tos) >= self.context.limits.max_recipients:
            raise SMTPError(452, "4.5.3", "Too many recipients")

    @staticmethod
    def accept_sender(envelope: RoostEnvelope, address: str, options: list[str]) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Sender OK"

    @staticmethod
    def accept_recipient(envelope: RoostEnvelope, address: str, options: list[str]) -> str:
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 Recipient OK"

    async def resolve_local(self, envelope: RoostEnvelope, address: str) -> None:
        """Resolve a recipient in a hosted domain: local users, plus remote alias targets."""
        try:
            resolution = await asyncio.to_thread(self.context.store.resolve, address)
        except InvalidAddress as exc:
            raise SMTPError(553, "5.1.3", "Bad recipient address syntax", str(exc)) from None
        except AliasTooDeep as exc:
            raise SMTPError(554, "5.4.6", "Alias expansion loop", str(exc)) from None
        if not resolution.local and not resolution.remote:
            raise SMTPError(550, "5.1.1", f"<{address}>: Recipient address rejected: User unknown")
        for user in resolution.local:
            envelope.local_users[user] = None
        for target in resolution.remote:
            envelope.remote[target] = None

    async def is_local_domain(self, domain: str) -> bool:
        return await asyncio.to_thread(self.context.store.is_local_domain, domain)

    async def deliver(
        self, envelope: RoostEnvelope, queue_id: str, message: bytes, junk: bool = False
    ) -> None:
        """Store local copies and queue remote ones; both durable before this returns."""
        if envelope.local_users:
            await asyncio.to_thread(
                self.context.store.deliver,
                list(envelope.local_users),
                message,
                special_use="\\Junk" if junk else None,
            )
        if envelope.remote:
            sender = "" if envelope.mail_from in (None, "<>") else envelope.mail_from
            await asyncio.to_thread(
                self.context.spool.enqueue, queue_id, sender, list(envelope.remote), message
            )
            self.context.wake_queue()


def client_ip(session: Session) -> str:
    peer: Any = session.peer
    return str(peer[0]) if peer else "unknown"
