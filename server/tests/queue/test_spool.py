"""The spool on a real filesystem and SQLite: what enqueue promises, and what survives."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path

import pytest

from roost.queue.spool import QueueError, Spool


def test_enqueue_is_visible_to_a_fresh_process(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.enqueue(
        "Q1", "a@example.test", ["x@remote.test", "y@other.test"], b"Subject: 1\r\n\r\nhi"
    )
    spool.close()
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        listed = pool.apply(_list_ids, (tmp_path,))
    assert listed == [("Q1", ["x@remote.test", "y@other.test"])]


def _list_ids(path: Path) -> list[tuple[str, list[str]]]:
    return [(m.id, [r.address for r in m.recipients]) for m in Spool(path).all()]


def test_enqueue_survives_sigkill_right_after_return(tmp_path: Path) -> None:
    """The child enqueues, reports, and is killed with no chance to flush anything."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read)
        spool = Spool(tmp_path)
        spool.enqueue("KILLED", "a@example.test", ["x@remote.test"], b"body" * 1000)
        os.write(write, b"1")
        signal.pause()
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    spool = Spool(tmp_path)
    assert [m.id for m in spool.all()] == ["KILLED"]
    assert spool.message_bytes("KILLED") == b"body" * 1000


def test_due_done_deferred(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.enqueue("Q1", "a@example.test", ["x@remote.test", "y@remote.test"], b"m")
    (message,) = spool.due(now=1e12)
    x, y = message.recipients
    spool.deferred([y.row], "451 4.3.0 later", next_attempt=2e12)
    spool.done([x.row])
    assert spool.due(now=1e12) == []
    (waiting,) = spool.all()
    assert [(r.address, r.attempts, r.last_error) for r in waiting.recipients] == [
        ("y@remote.test", 1, "451 4.3.0 later")
    ]
    assert spool.next_due() == 2e12
    spool.done([y.row])
    assert spool.all() == []
    assert not any((tmp_path / "queue" / "messages").rglob("*")) or all(
        p.is_dir() for p in (tmp_path / "queue" / "messages").rglob("*")
    )


def test_in_flight_rows_are_not_handed_out_twice(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.enqueue("Q1", "a@example.test", ["x@remote.test"], b"m")
    (message,) = spool.due(now=1e12)
    assert spool.due(now=1e12, exclude=[message.recipients[0].row]) == []


def test_retry_drop_and_unknown_ids(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.enqueue("Q1", "a@example.test", ["x@remote.test"], b"m")
    (message,) = spool.all()
    spool.deferred([message.recipients[0].row], "later", next_attempt=1e12)
    assert spool.due(now=1e9) == []
    assert spool.retry("Q1") == 1
    assert len(spool.due(now=1e9)) == 1
    spool.drop("Q1")
    assert spool.all() == []
    with pytest.raises(QueueError, match="roost queue list"):
        spool.drop("Q1")
    with pytest.raises(QueueError):
        spool.enqueue("Q2", "a@example.test", [], b"m")


def test_orphan_files_from_a_crash_are_swept(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.enqueue("KEPT", "a@example.test", ["x@remote.test"], b"kept")
    orphan = tmp_path / "queue" / "messages" / "ab" / "orphan"
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"written, never committed")
    os.utime(orphan, (1, 1))
    spool.close()
    spool = Spool(tmp_path)
    assert not orphan.exists()
    assert spool.message_bytes("KEPT") == b"kept"


def test_next_due_leaves_out_recipients_in_flight(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.enqueue("Q1", "a@example.test", ["x@remote.test"], b"m")
    spool.enqueue("Q2", "a@example.test", ["y@remote.test"], b"m")
    first, second = (m.recipients[0] for m in spool.all())
    spool.deferred([second.row], "later", next_attempt=5e12)
    assert spool.next_due() == first.next_attempt
    assert spool.next_due(exclude={first.row}) == 5e12
    assert spool.next_due(exclude={first.row, second.row}) is None
