"""Batched deliveries and group commit: many messages share a commit, each fails alone."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from store_fixtures import ALICE, BOB, DOMAIN

from roost.store import SQLiteStore
from roost.store.errors import NoSuchUser
from roost.store.sqlite_messages import Delivery
from roost.store.writer import DeliveryWriter, WriterClosedError


def files(store: SQLiteStore) -> list[Path]:
    return [p for p in store.messages_dir.rglob("*") if p.is_file()]


def test_deliver_many_fails_only_the_bad_delivery(store: SQLiteStore) -> None:
    errors = store.deliver_many(
        [
            Delivery([ALICE], b"Subject: one\r\n\r\n1\r\n"),
            Delivery([f"nobody@{DOMAIN}"], b"Subject: lost\r\n\r\n2\r\n"),
            Delivery([ALICE, BOB], b"Subject: both\r\n\r\n3\r\n", special_use="\\Junk"),
        ]
    )
    assert errors[0] is None and errors[2] is None
    assert isinstance(errors[1], NoSuchUser)
    assert [m.size for m in store.messages(ALICE, "INBOX")] == [len(b"Subject: one\r\n\r\n1\r\n")]
    assert len(store.messages(ALICE, "Junk")) == 1
    assert len(store.messages(BOB, "Junk")) == 1
    assert len(files(store)) == 2  # nothing written for the refused one


def test_a_failing_write_in_a_shared_commit_is_undone_alone(store: SQLiteStore) -> None:
    """Threads racing into _grouped_write: the one whose work raises gets its error and its
    rows are rolled back to its savepoint; every other thread's rows are committed."""
    store._write_batch([lambda conn: conn.execute("CREATE TABLE t (n INTEGER)")])
    start = threading.Barrier(8)
    outcomes: dict[int, object] = {}

    def work(n: int) -> None:
        def insert(conn: sqlite3.Connection) -> int:
            conn.execute("INSERT INTO t VALUES (?)", (n,))
            if n == 3:
                raise ValueError("bad row")
            return n

        start.wait()
        try:
            outcomes[n] = store._grouped_write(insert)
        except ValueError as exc:
            outcomes[n] = exc

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert isinstance(outcomes.pop(3), ValueError)
    assert outcomes == {n: n for n in range(8) if n != 3}
    with store._read() as conn:
        rows = sorted(n for (n,) in conn.execute("SELECT n FROM t"))
    assert rows == [0, 1, 2, 4, 5, 6, 7]


def test_failed_index_writes_leave_no_file(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files are written before the index; when the index commit fails they are removed."""

    def failed_commit(self: SQLiteStore, works: list[object]) -> list[Exception]:
        return [sqlite3.OperationalError("disk I/O error")] * len(works)

    monkeypatch.setattr(SQLiteStore, "_write_batch", failed_commit)
    errors = store.deliver_many([Delivery([ALICE], b"a\r\n"), Delivery([BOB], b"b\r\n")])
    assert all(isinstance(e, sqlite3.OperationalError) for e in errors)
    assert files(store) == []
    assert store.messages(ALICE, "INBOX") == []


def test_writer_thread_delivers_concurrent_messages(store: SQLiteStore) -> None:
    async def main() -> list[object]:
        writer = DeliveryWriter(store)
        deliveries = [Delivery([ALICE], b"Subject: %d\r\n\r\nx\r\n" % n) for n in range(20)]
        deliveries[7] = Delivery([f"nobody@{DOMAIN}"], b"lost\r\n")
        try:
            return await asyncio.gather(
                *(writer.deliver(d) for d in deliveries), return_exceptions=True
            )
        finally:
            writer.close()

    results = asyncio.run(main())
    assert isinstance(results.pop(7), NoSuchUser)
    assert results == [None] * 19
    assert len(store.messages(ALICE, "INBOX")) == 19


def test_writer_refuses_after_close(store: SQLiteStore) -> None:
    async def main() -> None:
        writer = DeliveryWriter(store)
        writer.close()
        await writer.deliver(Delivery([ALICE], b"late\r\n"))

    with pytest.raises(WriterClosedError):
        asyncio.run(main())
    assert store.messages(ALICE, "INBOX") == []
