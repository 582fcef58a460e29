"""The queue runner's scheduling against a real spool: concurrency limits per destination and
in total, and every recipient's outcome recorded."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from roost.config import QueueConfig
from roost.delivery.outcome import Outcome
from roost.queue.bounce import Bouncer
from roost.queue.runner import QueueRunner
from roost.queue.spool import Spool
from roost.store.sqlite import SQLiteStore


class SlowDestinations:
    """Takes 50 ms per transaction and remembers how many ran at once, per domain and in all."""

    def __init__(self) -> None:
        self.active: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.peak_total = 0
        self.delivered: list[str] = []

    async def deliver(
        self, queue_id: str, sender: str, domain: str, recipients: list[str], message: bytes
    ) -> dict[str, Outcome]:
        self.active[domain] += 1
        self.peak[domain] = max(self.peak[domain], self.active[domain])
        self.peak_total = max(self.peak_total, sum(self.active.values()))
        await asyncio.sleep(0.05)
        self.active[domain] -= 1
        self.delivered.extend(recipients)
        return {r: Outcome("delivered", "2.0.0", "250 ok") for r in recipients}


def test_concurrency_limits_per_domain_and_in_total(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    store = SQLiteStore(tmp_path)
    for n in range(8):
        spool.enqueue(f"A{n}", "a@example.test", [f"x{n}@busy.test"], b"m")
    for n in range(4):
        spool.enqueue(f"B{n}", "a@example.test", [f"y{n}@other.test"], b"m")
    spool.enqueue("C0", "a@example.test", ["z@third.test", "w@third.test"], b"m")
    destinations = SlowDestinations()
    config = QueueConfig(max_connections=3, max_connections_per_domain=2)
    runner = QueueRunner(spool, destinations, Bouncer("mail.example.test", spool, store), config)

    async def drive() -> None:
        task = asyncio.create_task(runner.run())
        for _ in range(200):
            await asyncio.sleep(0.05)
            if not spool.all():
                break
        await runner.stop()
        task.cancel()

    asyncio.run(drive())
    assert spool.all() == []
    assert sorted(destinations.delivered) == sorted(
        [f"x{n}@busy.test" for n in range(8)]
        + [f"y{n}@other.test" for n in range(4)]
        + ["z@third.test", "w@third.test"]
    )
    assert destinations.peak["busy.test"] == 2
    assert destinations.peak_total == 3
