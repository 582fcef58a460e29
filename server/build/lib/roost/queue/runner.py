"""Drains the spool: picks due recipients, delivers them per (message, domain) with concurrency
limits, and records each outcome durably before taking the next step.

The order of writes is what makes delivery at-least-once and never at-most-once: a
recipient's row is deleted only after the remote accepted it (or after its bounce is stored),
and a retry is scheduled in the same commit that records the failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Protocol

from roost.config import QueueConfig
from roost.delivery.outcome import Outcome, permanent
from roost.queue.bounce import Bouncer
from roost.queue.dsn import RecipientStatus
from roost.queue.spool import QueuedMessage, QueuedRecipient, Spool

log = logging.getLogger("roost.queue")

IDLE_POLL = 60.0  # upper bound on sleeping, so `roost queue retry` from the CLI is noticed


class Delivers(Protocol):
    async def deliver(
        self, queue_id: str, sender: str, domain: str, recipients: list[str], message: bytes
    ) -> dict[str, Outcome]: ...


def retry_delay(schedule: tuple[float, ...], attempts: int) -> float:
    """Delay after the attempt numbered `attempts` (1-based); the last step repeats."""
    return schedule[min(attempts, len(schedule)) - 1]


class QueueRunner:
    def __init__(
        self,
        spool: Spool,
        deliverer: Delivers,
        bouncer: Bouncer,
        config: QueueConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.spool = spool
        self.deliverer = deliverer
        self.bouncer = bouncer
        self.config = config
        self.clock = clock
        self._wake = asyncio.Event()
        self._inflight: set[int] = set()
        self._per_domain: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    def wake(self) -> None:
        """New mail was queued: look now rather than at the next timer."""
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            await self._dispatch()
            await self._sleep()

    async def stop(self, grace: float = 10.0) -> None:
        """Stop taking work; let transactions in flight finish (or be cut after `grace`)."""
        self._stopping = True
        self._wake.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=grace)
            for task in pending:
                task.cancel()

    async def _sleep(self) -> None:
        # Recipients in flight are due but taken; counting them would wake this loop
        # every few milliseconds for as long as a slow delivery lasts.
        next_due = await asyncio.to_thread(self.spool.next_due, set(self._inflight))
        # Still due after a dispatch round means held back by a concurrency limit: the
        # delivery that frees the slot wakes us.
        now = self.clock()
        delay = IDLE_POLL if next_due is None or next_due <= now else next_due - now
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), min(delay, IDLE_POLL))

    async def _dispatch(self) -> None:
        due = await asyncio.to_thread(self.spool.due, self.clock(), self._inflight)
        for message in due:
            by_domain: dict[str, list[QueuedRecipient]] = {}
            for recipient in message.recipients:
                by_domain.setdefault(recipient.domain, []).append(recipient)
            for domain, recipients in by_domain.items():
                if len(self._tasks) >= self.config.max_connections:
                    return
                if self._per_domain[domain] >= self.config.max_connections_per_domain:
                    continue
                self._start(message, domain, recipients)

    def _start(
        self, message: QueuedMessage, domain: str, recipients: list[QueuedRecipient]
    ) -> None:
        rows = {r.row for r in recipients}
        self._inflight |= rows
        self._per_domain[domain] += 1
        task = asyncio.create_task(self._attempt(message, domain, recipients))
        self._tasks.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._tasks.discard(done)
            self._inflight -= rows
            self._per_domain[domain] -= 1
            if not done.cancelled() and done.exception() is not None:
                log.error("delivery of %s to %s crashed: %r", message.id, domain, done.exception())
            self._wake.set()  # a slot is free

        task.add_done_callback(finished)

    async def _attempt(
        self, message: QueuedMessage, domain: str, recipients: list[QueuedRecipient]
    ) -> None:
        original = await asyncio.to_thread(self.spool.message_bytes, message.id)
        addresses = [r.address for r in recipients]
        outcomes = await self.deliverer.deliver(
            message.id, message.sender, domain, addresses, original
        )
        await asyncio.to_thread(self._record, message, recipients, outcomes, original)

    def _record(
        self,
        message: QueuedMessage,
        recipients: list[QueuedRecipient],
        outcomes: dict[str, Outcome],
        original: bytes,
    ) -> None:
        now = self.clock()
        delivered, failed, deferred = [], [], []
        for recipient in recipients:
            outcome = outcomes.get(recipient.address) or permanent("no result", "5.0.0")
            if outcome.kind == "delivered":
                delivered.append(recipient.row)
            elif outcome.kind == "permanent":
                failed.append(RecipientStatus(recipient.address, outcome, now))
            elif now - message.created >= self.config.max_age:
                expired = permanent(
                    f"gave up after {self.config.max_age / 86400:g} days: {outcome.text}",
                    "5.4.7",
                    outcome.remote,
                )
                failed.append(RecipientStatus(recipient.address, expired, now))
            else:
                deferred.append((recipient, outcome))
        self.spool.done(delivered)
        if failed:
            self.bouncer.send(message, original, failed, "failed")
            by_address = {r.address: r.row for r in recipients}
            self.spool.done(by_address[s.recipient] for s in failed)
        for recipient, outcome in deferred:
            delay = retry_delay(self.config.retry_schedule, recipient.attempts + 1)
            self.spool.deferred([recipient.row], outcome.text, now + delay)
        self._warn_delayed(message, deferred, now)

    def _warn_delayed(
        self,
        message: QueuedMessage,
        deferred: list[tuple[QueuedRecipient, Outcome]],
        now: float,
    ) -> None:
        """RFC 3464 `delayed` notice once per recipient, when configured (0 turns it off)."""
        if not self.config.delay_warning or now - message.created < self.config.delay_warning:
            return
        pending = [(r, o) for r, o in deferred if not r.warned]
        if not pending:
            return
        statuses = [RecipientStatus(r.address, o, now) for r, o in pending]
        self.bouncer.send(message, self.spool.message_bytes(message.id), statuses, "delayed")
        self.spool.warned(r.row for r, _ in pending)
