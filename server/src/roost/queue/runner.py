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
from dataclasses import dataclass, field
from typing import Protocol

from roost.config import QueueConfig
from roost.delivery.outcome import Outcome, permanent, temporary
from roost.queue.bounce import Bouncer
from roost.queue.dsn import RecipientStatus
from roost.queue.spool import QueuedMessage, QueuedRecipient, Spool

log = logging.getLogger("roost.queue")

IDLE_POLL = 60.0  # upper bound on sleeping, so `roost queue retry` from the CLI is noticed
# Attempts in a row that may end in an exception of ours before the recipients are held:
# one crash may be a passing fault (a full disk); three in a row are the message itself.
HOLD_AFTER_CRASHES = 3


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
        # Rows whose crash could not even be recorded (the spool itself failing): kept out of
        # dispatch until the time given, so a broken database cannot make the runner spin.
        self._cooling: dict[int, float] = {}
        # Attempts in flight per message, and what its finished attempts have to tell the
        # sender: the last attempt to end sends one notice per kind for all its domains.
        self._running: Counter[str] = Counter()
        self._notices: dict[str, _Notices] = {}
        self._noticing: set[int] = set()  # rows waiting for their message's notice: not due
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
        next_due = await asyncio.to_thread(self.spool.next_due, self._taken())
        # Still due after a dispatch round means held back by a concurrency limit: the
        # delivery that frees the slot wakes us.
        now = self.clock()
        delay = IDLE_POLL if next_due is None or next_due <= now else next_due - now
        if self._cooling:
            delay = min(delay, max(0.0, min(self._cooling.values()) - now))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), min(delay, IDLE_POLL))

    def _taken(self) -> set[int]:
        now = self.clock()
        self._cooling = {row: until for row, until in self._cooling.items() if until > now}
        return self._inflight | self._noticing | set(self._cooling)

    async def _dispatch(self) -> None:
        due = await asyncio.to_thread(self.spool.due, self.clock(), self._taken())
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
        self._running[message.id] += 1
        task = asyncio.create_task(self._attempt(message, domain, recipients, self.clock()))
        self._tasks.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._tasks.discard(done)
            self._inflight -= rows
            self._per_domain[domain] -= 1
            self._wake.set()  # a slot is free

        task.add_done_callback(finished)

    async def _attempt(
        self,
        message: QueuedMessage,
        domain: str,
        recipients: list[QueuedRecipient],
        started: float,
    ) -> None:
        try:
            original = await asyncio.to_thread(self.spool.message_bytes, message.id)
            addresses = [r.address for r in recipients]
            outcomes = await self.deliverer.deliver(
                message.id, message.sender, domain, addresses, original
            )
            notices = await asyncio.to_thread(self._record, message, recipients, outcomes, started)
            self._notices.setdefault(message.id, _Notices()).extend(notices)
            self._noticing.update(notices.rows())
        except Exception as exc:  # any failure is a temporary one, never a loop
            await self._crashed(message, domain, recipients, exc)
        self._running[message.id] -= 1
        if self._running[message.id] > 0:
            return
        del self._running[message.id]
        notices = self._notices.pop(message.id, None)
        if notices is None or not notices.recipients():
            return
        try:
            await asyncio.to_thread(self._notify, message, notices, frozenset(self._inflight))
        except Exception as exc:
            await self._crashed(message, "its notice", notices.recipients(), exc)
        finally:
            self._noticing.difference_update(notices.rows())

    def _notify(self, message: QueuedMessage, notices: _Notices, busy: frozenset[int]) -> None:
        """One failure notice for every recipient that failed in this round, whatever their
        domain, and the message's one delayed notice. Failed rows go, delayed ones are marked
        warned, once the notice is stored (a crash before means a second).

        Age is the message's: when it expires, every recipient still waiting fails with it
        (not only the domains of this round: attempts at different domains drift apart),
        bar those in an attempt (`busy`), which report for themselves."""
        original = self.spool.message_bytes(message.id)
        if notices.expired:
            named = notices.rows() | busy
            notices.failed += [
                (RecipientStatus(r.address, self._gave_up(r.last_error)), r)
                for m in self.spool.all(message.id)
                for r in m.recipients
                if r.row not in named
            ]
        if notices.failed:
            self.bouncer.send(message, original, [s for s, _ in notices.failed], "failed")
            self.spool.done(recipient.row for _, recipient in notices.failed)
        if notices.delayed:
            self._warn(message, original, notices.delayed)

    def _warn(
        self,
        message: QueuedMessage,
        original: bytes,
        delayed: list[tuple[RecipientStatus, QueuedRecipient]],
    ) -> None:
        """The message's one `delayed` notice: lateness is the message's age, so it names
        every recipient still waiting, those deferred by an earlier round of attempts too
        (attempts at different domains drift apart), and marks them all warned."""
        waiting = [r for m in self.spool.all(message.id) for r in m.recipients if not r.warned]
        fresh = {status.recipient: status for status, _ in delayed}
        statuses = [
            fresh.get(r.address) or RecipientStatus(r.address, temporary(r.last_error, "4.0.0"))
            for r in waiting
            if r.address in fresh or r.last_error
        ]
        if statuses:  # else another round's notice named them already
            self.bouncer.send(message, original, statuses, "delayed")
            self.spool.warned(r.row for r in waiting)

    async def _crashed(
        self,
        message: QueuedMessage,
        domain: str,
        recipients: list[QueuedRecipient],
        exc: Exception,
    ) -> None:
        """Count the attempt as a temporary failure with back-off; after HOLD_AFTER_CRASHES
        in a row, hold the recipients (listed by `roost queue list`) and log it once, with
        the traceback."""
        rows = [r.row for r in recipients]
        delay = retry_delay(self.config.retry_schedule, max(r.attempts for r in recipients) + 1)
        error = f"internal error during delivery: {exc!r}"
        try:
            held = await asyncio.to_thread(
                self.spool.crashed, rows, error, self.clock() + delay, HOLD_AFTER_CRASHES
            )
        except Exception:
            log.exception("%s to %s: cannot record a failed attempt", message.id, domain)
            self._cooling.update((row, self.clock() + delay) for row in rows)
            return
        if held:
            log.error(
                "%s to %s held after %d failed attempts; see `roost queue list`, then "
                "`roost queue retry %s` or `roost queue bounce %s`",
                message.id, domain, HOLD_AFTER_CRASHES, message.id, message.id,
                exc_info=exc,
            )  # fmt: skip
        else:
            log.warning("%s to %s: attempt failed, next in %gs: %r", message.id, domain, delay, exc)

    def _record(
        self,
        message: QueuedMessage,
        recipients: list[QueuedRecipient],
        outcomes: dict[str, Outcome],
        started: float,
    ) -> _Notices:
        """Delivered rows removed, deferred ones rescheduled; the failed ones returned, and the
        deferred ones the sender should now hear about, for the message's notices.

        Age counts from when the attempt started, not ended: a message's domains dispatched
        together expire and fall late together however long each transaction took."""
        now = self.clock()
        delivered, deferred = [], []
        notices = _Notices()
        for recipient in recipients:
            outcome = outcomes.get(recipient.address) or permanent("no result", "5.0.0")
            if outcome.kind == "delivered":
                delivered.append(recipient.row)
            elif outcome.kind == "permanent":
                notices.failed.append((RecipientStatus(recipient.address, outcome, now), recipient))
            elif started - message.created >= self.config.max_age:
                expired = self._gave_up(outcome.text, outcome.remote)
                notices.failed.append((RecipientStatus(recipient.address, expired, now), recipient))
                notices.expired = True
            else:
                deferred.append((recipient, outcome))
        self.spool.done(delivered)
        for recipient, outcome in deferred:
            delay = retry_delay(self.config.retry_schedule, recipient.attempts + 1)
            self.spool.deferred([recipient.row], outcome.text, now + delay)
            if self._late(message, recipient, started):
                status = RecipientStatus(recipient.address, outcome, now)
                notices.delayed.append((status, recipient))
        return notices

    def _gave_up(self, text: str, remote: str | None = None) -> Outcome:
        return permanent(
            f"gave up after {self.config.max_age / 86400:g} days: {text}", "5.4.7", remote
        )

    def _late(self, message: QueuedMessage, recipient: QueuedRecipient, started: float) -> bool:
        """RFC 3464 `delayed` notice once per recipient, when configured (0 turns it off)."""
        return (
            bool(self.config.delay_warning)
            and started - message.created >= self.config.delay_warning
            and not recipient.warned
        )


@dataclass
class _Notices:
    """What one round of attempts at a message has to tell its sender, per kind of notice."""

    failed: list[tuple[RecipientStatus, QueuedRecipient]] = field(default_factory=list)
    delayed: list[tuple[RecipientStatus, QueuedRecipient]] = field(default_factory=list)
    expired: bool = False  # the message is past queue.max_age: all its recipients fail

    def extend(self, other: _Notices) -> None:
        self.failed.extend(other.failed)
        self.delayed.extend(other.delayed)
        self.expired = self.expired or other.expired

    def recipients(self) -> list[QueuedRecipient]:
        return [recipient for _, recipient in self.failed + self.delayed]

    def rows(self) -> set[int]:
        return {recipient.row for recipient in self.recipients()}
