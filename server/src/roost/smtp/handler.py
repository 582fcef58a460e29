"""What the MX and submission handlers share: recipient resolution, the error boundary that
turns a `SMTPError` (or a crash) into one reply line, and the final local delivery."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec

from roost.durable import Joined
from roost.smtp.context import SMTPContext
from roost.smtp.envelope import Envelope
from roost.smtp.paths import POSTMASTER
from roost.smtp.replies import TEMPORARY_FAILURE, SMTPError
from roost.smtp.spooled import SpooledMessage
from roost.store.errors import AliasTooDeep, InvalidAddress
from roost.store.sqlite_messages import Delivery

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

    def check_recipient_limit(self, envelope: Envelope) -> None:
        if len(envelope.rcpt_tos) >= self.context.limits.max_recipients:
            raise SMTPError(452, "4.5.3", "Too many recipients")

    # Directory look-ups (domain, user, alias) run on the event loop: they are indexed reads
    # of a WAL database, which never wait for a writer and take microseconds, while handing
    # them to a thread costs ten times that in wake-ups.

    def resolve_local(self, envelope: Envelope, address: str) -> None:
        """Resolve a recipient in a hosted domain: local users, plus remote alias targets."""
        try:
            resolution = self.context.store.resolve(address)
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

    def is_local_domain(self, domain: str) -> bool:
        return self.context.store.is_local_domain(domain)

    def with_domain(self, address: str) -> str:
        """RFC 5321 §4.5.1: `postmaster` without a domain MUST be accepted. It reaches the
        postmaster of the host's primary domain: the hosted domain its name is in (the most
        specific one), else the first hosted domain by name."""
        if address != POSTMASTER:
            return address
        hostname = self.context.hostname.lower()
        domains = self.context.store.list_domains()
        mine = [d for d in domains if hostname == d or hostname.endswith("." + d)]
        primary = max(mine, key=len) if mine else min(domains, default=hostname)
        return f"{POSTMASTER}@{primary}"

    async def deliver(
        self,
        envelope: Envelope,
        queue_id: str,
        head: bytes,
        body: bytes | SpooledMessage,
        junk: bool = False,
    ) -> None:
        """Store local copies and queue remote ones; both durable before this returns. The
        message is `head` (our trace fields) and `body` (what the client sent), joined here
        once per destination (a spooled body is copied from its file, never held whole):
        local copies start with Return-Path (RFC 5321 §4.4: the final delivery adds it),
        queued ones do not."""
        if envelope.local_users:
            return_path = f"Return-Path: <{envelope.mail_from or ''}>\r\n".encode()
            await self.context.writer.deliver(
                Delivery(
                    list(envelope.local_users),
                    _joined(return_path + head, body),
                    "\\Junk" if junk else None,
                )
            )
        if envelope.remote:
            await asyncio.to_thread(
                self.context.spool.enqueue,
                queue_id,
                envelope.mail_from or "",
                list(envelope.remote),
                _joined(head, body),
            )
            self.context.wake_queue()


def _joined(head: bytes, body: bytes | SpooledMessage) -> bytes | Joined:
    return body.after(head) if isinstance(body, SpooledMessage) else head + body


SENDER_OK = "250 2.1.0 Sender OK"
RECIPIENT_OK = "250 2.1.5 Recipient OK"
