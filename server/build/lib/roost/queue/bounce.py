"""Sending DSNs back to the envelope sender: locally when the sender is ours, through the queue
otherwise, and never to the null sender (RFC 5321 §4.5.5: bounces of bounces loop)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from roost.addresses import domain_of
from roost.queue.dsn import Action, RecipientStatus, build_dsn
from roost.queue.spool import QueuedMessage, Spool
from roost.smtp.headers import new_queue_id
from roost.store.sqlite import SQLiteStore

log = logging.getLogger("roost.queue")


class Bouncer:
    def __init__(self, hostname: str, spool: Spool, store: SQLiteStore) -> None:
        self.hostname = hostname
        self.spool = spool
        self.store = store

    def send(
        self,
        message: QueuedMessage,
        original: bytes,
        statuses: Sequence[RecipientStatus],
        action: Action,
    ) -> None:
        """Blocking (file and database writes): call it from a worker thread."""
        sender = message.sender
        if not sender or sender == "<>":
            log.info("%s: no %s notice: the sender is null", message.id, action)
            return
        dsn = build_dsn(
            hostname=self.hostname,
            queue_id=message.id,
            sender=sender,
            original=original,
            statuses=statuses,
            action=action,
            arrival=message.created,
        )
        if self.store.is_local_domain(domain_of(sender)):
            users = self.store.resolve(sender).local
            if users:
                self.store.deliver(list(users), dsn)
                log.info("%s: %s notice delivered locally to %s", message.id, action, sender)
            else:
                log.warning("%s: no %s notice: local sender %s unknown", message.id, action, sender)
            return
        notice_id = new_queue_id()
        self.spool.enqueue(notice_id, "", [sender], dsn)
        log.info("%s: %s notice queued as %s for %s", message.id, action, notice_id, sender)
