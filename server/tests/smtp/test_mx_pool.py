"""The MX with its checks in worker processes: a worker that dies mid-check costs the message a
451 (the sender retries), never a 250 without checks, and the server carries on."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import smtplib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.roostproc import RoostProcess, roost_dev

MESSAGE = (
    b"From: news@sender.test\r\nTo: bob@example.test\r\nSubject: checked\r\n"
    b"Message-ID: <pool@test>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nbody\r\n"
)


def check_workers(pid: int) -> list[int]:
    """The server's check worker processes (spawned: `multiprocessing.spawn` in argv)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [
        int(child)
        for child in children
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


@pytest.fixture
def black_hole() -> Iterator[socket.socket]:
    """A DNS server that reads queries and never answers: checks wait on it for the timeout."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10)
        yield sock


@pytest.fixture
def roost(black_hole: socket.socket) -> Iterator[RoostProcess]:
    host, port = black_hole.getsockname()
    config = f'[dns]\nnameservers = ["{host}:{port}"]\ntimeout = 1\n[checks]\nworkers = 2\n'
    with roost_dev(extra_config=config) as proc:
        proc.add_user("bob@example.test", "a long enough password")
        proc.start()
        yield proc
        assert proc.stop() == 0


def send(roost: RoostProcess) -> None:
    with smtplib.SMTP("127.0.0.1", roost.port("smtp"), timeout=20) as client:
        client.ehlo("client.sender.test")
        client.sendmail("news@sender.test", ["bob@example.test"], MESSAGE)


def test_killed_check_worker_means_451_and_nothing_stored(
    roost: RoostProcess, black_hole: socket.socket
) -> None:
    assert roost.process is not None
    workers = check_workers(roost.process.pid)
    assert len(workers) == 2
    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        sending = executor.submit(send, roost)
        black_hole.recv(512)  # the first DNS query: a worker is inside the checks now
        for pid in workers:  # the one holding this message among them
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(smtplib.SMTPDataError) as refused:
            sending.result()
    assert refused.value.smtp_code == 451
    assert refused.value.smtp_error.startswith(b"4.3.0 ")
    assert roost.mailbox_counts("bob@example.test")["INBOX"] == 0

    # New workers take over; with DNS still silent the checks end in temperror, and mail flows.
    deadline = time.monotonic() + 10
    while len(set(check_workers(roost.process.pid)) - set(workers)) < 2:
        assert time.monotonic() < deadline, "check workers were not replaced"
        time.sleep(0.1)
    send(roost)
    stored = roost.export("bob@example.test")
    assert b"spf=temperror" in stored
    assert roost.mailbox_counts("bob@example.test")["INBOX"] == 1


def test_checks_in_a_thread_when_workers_is_zero(black_hole: socket.socket) -> None:
    host, port = black_hole.getsockname()
    config = f'[dns]\nnameservers = ["{host}:{port}"]\ntimeout = 1\n[checks]\nworkers = 0\n'
    with roost_dev(extra_config=config) as roost:
        roost.add_user("bob@example.test", "a long enough password")
        roost.start()
        assert roost.process is not None
        assert check_workers(roost.process.pid) == []
        send(roost)
        assert b"spf=temperror" in roost.export("bob@example.test")
        assert roost.stop() == 0
