"""The check pool: the same verdicts as running the checks in-process, from real worker
processes asking a real DNS server (Knot); a dead worker costs only its own messages."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from roost.checks import InboundVerdict, evaluate
from roost.checks.pool import CheckPool, WorkerLostError
from roost.config import ChecksConfig
from roost.dkim import DKIMKey, sign
from roost.dns import DNSResolver
from tests.checks.conftest import BAD_IP, GOOD_IP
from tests.checks.messages import message
from tests.knot import KnotServer

AUTHSERV = "mx.roost.test"


def cases(keys: list[DKIMKey]) -> list[tuple[bytes, dict[str, Any]]]:
    signed = sign(message(), "example.com", keys)
    tampered = signed.replace(b"See you at noon.", b"See you at one.")
    return [
        (signed, {"client_ip": GOOD_IP, "helo": "mail.example.com", "mail_from": "a@example.com"}),
        (tampered, {"client_ip": BAD_IP, "helo": "mail.example.com", "mail_from": "a@example.com"}),
        (message("x@example.net"), {"client_ip": BAD_IP, "helo": "h.test", "mail_from": ""}),
        (message("x@strict.example"), {"client_ip": GOOD_IP, "helo": "h", "mail_from": "b@x"}),
        (b"no header at all", {"client_ip": GOOD_IP, "helo": "h", "mail_from": ""}),
    ]


def test_pool_gives_the_same_authentication_results(
    knot: KnotServer, resolver: DNSResolver, example_keys: list[DKIMKey]
) -> None:
    checked = cases(example_keys)

    async def through_pool() -> list[InboundVerdict]:
        pool = CheckPool(2, (knot.nameserver,), 3.0, ChecksConfig())
        await pool.start()
        try:
            return await asyncio.gather(
                *(pool.evaluate(m, authserv_id=AUTHSERV, **a) for m, a in checked)
            )
        finally:
            await pool.close()

    verdicts = asyncio.run(through_pool())
    for (msg, args), verdict in zip(checked, verdicts, strict=True):
        assert verdict == evaluate(msg, authserv_id=AUTHSERV, resolver=resolver, **args)
    # The cases above cover pass, fail, quarantine, reject and an unparsable message.
    assert b"dkim=pass" in verdicts[0].header and verdicts[0].action == "accept"
    assert b"dkim=fail" in verdicts[1].header and verdicts[1].action == "reject"
    assert verdicts[2].action == "junk"


@pytest.fixture
def black_hole() -> Iterator[socket.socket]:
    """A DNS server that reads queries and never answers: checks wait on it for the timeout."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock


def test_dead_worker_fails_its_checks_and_is_replaced(black_hole: socket.socket) -> None:
    host, port = black_hole.getsockname()
    pool = CheckPool(2, (f"{host}:{port}",), 1.0, ChecksConfig())
    args = {"client_ip": GOOD_IP, "helo": "mail.example.com", "mail_from": "a@example.com"}

    async def kill_one_mid_check() -> None:
        await pool.start()
        first = asyncio.ensure_future(pool.evaluate(message(), authserv_id=AUTHSERV, **args))
        second = asyncio.ensure_future(pool.evaluate(message(), authserv_id=AUTHSERV, **args))
        await asyncio.sleep(0)
        victim, other = pool._workers
        assert len(victim.pending) == len(other.pending) == 1, "one check each"
        # Both workers are inside their checks once their queries arrive.
        black_hole.settimeout(5)
        black_hole.recv(512)
        black_hole.recv(512)
        os.kill(victim.process.pid, signal.SIGKILL)
        with pytest.raises(WorkerLostError):
            await first
        # The other worker's check is untouched: DNS timed out, so temperror, not a crash.
        assert b"spf=temperror" in (await second).header
        for _ in range(100):
            if victim not in pool._workers:
                break
            await asyncio.sleep(0.1)
        assert len(pool._workers) == 2 and victim not in pool._workers
        verdict = await pool.evaluate(message(), authserv_id=AUTHSERV, **args)
        assert b"spf=temperror" in verdict.header
        await pool.close()
        assert all(w.process.exitcode is not None for w in (victim, other))

    asyncio.run(kill_one_mid_check())
