"""Local deliveries written by one thread, in batches, for the SMTP endpoints.

Each `250` waits for a message file fsync and an index commit. Handing every delivery to a
thread pool cost more CPU than the writing itself (a wake-up per message, and every syscall of
several threads fighting the event loop for the interpreter lock: 2.9 against 2.4 ms of CPU per
message in bench/smtp_ingest). One thread that takes everything queued since its last round
makes one wake-up and one commit per batch, while the fsyncs still overlap the event loop's
work on other sessions.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from roost.store.sqlite import SQLiteStore
from roost.store.sqlite_messages import Delivery

log = logging.getLogger("roost.store.writer")

_Item = tuple[Delivery, "asyncio.Future[None]"]


class WriterClosedError(Exception):
    """The server is stopping; the delivery was not written (the client gets a 4xx)."""


class DeliveryWriter:
    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        self._queue: list[_Item] = []
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    async def deliver(self, delivery: Delivery) -> None:
        """Durable when this returns; raises what `SQLiteStore.deliver` would."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._wake:
            if self._closed:
                raise WriterClosedError("the store writer has stopped")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, args=(loop,), name="store-writer", daemon=True
                )
                self._thread.start()
            self._queue.append((delivery, future))
            self._wake.notify()
        await future

    def close(self) -> None:
        """Write what is queued, then stop the thread."""
        with self._wake:
            self._closed = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            with self._wake:
                while not self._queue and not self._closed:
                    self._wake.wait()
                if not self._queue:
                    return
                batch, self._queue = self._queue, []
            try:
                errors: list[BaseException | None] = list(
                    self._store.deliver_many([delivery for delivery, _ in batch])
                )
            except Exception as exc:  # the batch as a whole failed, e.g. the disk is gone
                log.error("writing %d deliveries failed: %s", len(batch), exc)
                errors = [exc] * len(batch)
            try:
                loop.call_soon_threadsafe(_settle, batch, errors)
            except RuntimeError:  # the event loop is gone: nobody is waiting any more
                return


def _settle(batch: list[_Item], errors: list[BaseException | None]) -> None:
    for (_, future), error in zip(batch, errors, strict=True):
        if future.cancelled():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
