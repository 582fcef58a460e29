"""Ten 24 MB messages at once, against a live `roost serve`: each was held four or five times
over (reader, unstuffing, pickle to the check worker, trace + message) and ten took the server
from 123 MB to 1.1 GB. Now a message past the spool threshold is written to a file as it
arrives and the server's peak resident memory stays far below that; every message is stored
byte-identical (after the fields Roost puts in front of it)."""

from __future__ import annotations

import smtplib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.roostproc import RoostProcess, roost_dev

COUNT = 10
SIZE = 24 * 1024 * 1024
# Peak resident memory of the server process: 1.1 GB once, 507 MiB with the budget on bytes
# in flight alone (messages beyond it retried after a 452), 64 MiB with the spool.
PEAK_BOUND = 300 * 2**20
# The server with its check workers, which read each message themselves (8 at once each).
TREE_BOUND = 1024 * 2**20


@pytest.fixture
def roost() -> Iterator[RoostProcess]:
    with roost_dev(extra_config="[checks]\nworkers = 1\n") as proc:
        proc.add_user("bob@example.test", "large password")
        proc.start()
        yield proc
        assert proc.stop() == 0


def message(n: int) -> bytes:
    """SIZE bytes of varied 8-bit lines, some starting with a dot (stuffed on the wire)."""
    head = f"From: big{n}@client.test\r\nSubject: large {n}\r\n\r\n".encode()
    lines = []
    size = len(head)
    k = 0
    while size < SIZE:
        line = (b"." if k % 7 == 0 else b"") + bytes([33 + (n + k) % 200]) * (60 + k % 900)
        lines.append(line + b"\r\n")
        size += len(lines[-1])
        k += 1
    return head + b"".join(lines)


def rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except FileNotFoundError:  # a worker that just ended
        pass
    return 0


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def send(roost: RoostProcess, content: bytes) -> None:
    """Sends `content`, trying again after a 4xx as any MTA would (sooner, for the test)."""
    deadline = time.monotonic() + 300
    while True:
        with smtplib.SMTP("127.0.0.1", roost.port("smtp"), timeout=120) as client:
            client.ehlo("client.test")
            client.mail("big@client.test")
            client.rcpt("bob@example.test")
            code, reply = client.data(content)
        if code == 250:
            return
        assert 400 <= code < 500 and time.monotonic() < deadline, (code, reply)
        time.sleep(1.0)


def test_ten_large_messages_at_once_stay_within_memory(roost: RoostProcess) -> None:
    assert roost.process is not None
    pid = roost.process.pid
    messages = [message(n) for n in range(COUNT)]
    peak = tree = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak, tree
        while not done.is_set():
            own = rss(pid)
            peak = max(peak, own)
            tree = max(tree, own + sum(rss(child) for child in children(pid)))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(COUNT) as pool:
            list(pool.map(lambda content: send(roost, content), messages))
    finally:
        done.set()
        watcher.join()
    print(f"peak RSS {peak / 2**20:.0f} MiB, with the check workers {tree / 2**20:.0f} MiB")
    assert peak < PEAK_BOUND, f"peak RSS {peak / 2**20:.0f} MiB"
    assert tree < TREE_BOUND, f"peak RSS with the check workers {tree / 2**20:.0f} MiB"
    stored = [
        p.read_bytes()
        for p in (roost.directory / "state" / "messages").rglob("*")
        if p.is_file() and not p.name.startswith(".")
    ]
    assert len(stored) == COUNT
    for content in messages:
        assert sum(s.endswith(content) for s in stored) == 1
    assert list((roost.directory / "state" / "incoming").iterdir()) == []  # spool files gone
