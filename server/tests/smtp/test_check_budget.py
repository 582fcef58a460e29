"""Checks with deadlines, against a live `roost serve` whose DNS server never answers: a
message with 20 DKIM signatures of distinct domains once cost a DNS timeout per signature
(and a minute of a check worker); now the signatures verified are capped, the checks share
one time budget, and what the budget did not cover is temperror in Authentication-Results."""

from __future__ import annotations

import re
import smtplib
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.roostproc import RoostProcess, roost_dev

SIGNATURES = 20
BOUND = 30.0  # seconds; the message took over a minute before the budget, about 6 s after
HOSTILE = 8  # as many as one worker runs at once (THREADS_PER_WORKER): all of its threads


@pytest.fixture
def silent_dns() -> Iterator[str]:
    """A UDP socket that takes DNS queries and never answers them."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def roost(silent_dns: str) -> Iterator[RoostProcess]:
    with roost_dev(nameserver=silent_dns) as proc:
        text = proc.config.read_text().replace("[dns]\n", "[dns]\ntimeout = 3\n")
        proc.config.write_text(text + "[checks]\nbudget = 4\nspf_budget = 2\nworkers = 1\n")
        proc.add_user("bob@example.test", "budget password")
        proc.start()
        yield proc
        assert proc.stop() == 0


def signature(domain: str) -> str:
    return (
        f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=sel;\r\n"
        " h=from:subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hmmrQ=; b=AAAA\r\n"
    )


def hostile(tag: str) -> bytes:
    return (
        "".join(signature(f"d{n}.{tag}.test") for n in range(SIGNATURES))
        + f"From: news@{tag}.test\r\nSubject: many signatures\r\n\r\nbody\r\n"
    ).encode()


def send(roost: RoostProcess, sender: str, message: bytes) -> tuple[int, float]:
    """The reply code after DATA and how long the whole transaction took."""
    start = time.monotonic()
    with smtplib.SMTP("127.0.0.1", roost.port("smtp"), timeout=120) as client:
        client.ehlo("client.slow.test")
        client.mail(sender)
        client.rcpt("bob@example.test")
        code, _ = client.data(message)
    return code, time.monotonic() - start


def test_many_signatures_on_silent_dns_end_within_the_budget(roost: RoostProcess) -> None:
    code, took = send(roost, "news@slow.test", hostile("slow"))
    assert code == 250 and took < BOUND
    stored = roost.export("bob@example.test")
    results = re.search(
        rb"Authentication-Results: mail\.example\.test;(.*?)\nDKIM-Signature", stored, re.S
    )
    assert results, stored[:800]
    text = results.group(1)
    assert b"spf=temperror" in text and b"dmarc=temperror" in text
    assert text.count(b"dkim=temperror") == 5  # the cap: the other 15 were not looked at


def test_hostile_messages_do_not_starve_a_normal_one(roost: RoostProcess) -> None:
    """Eight such messages at once (every thread of the one worker) once held a normal
    message sent beside them for 36 s; the budget frees each thread within seconds."""
    normal = b"From: friend@plain.test\r\nSubject: hello\r\n\r\njust a note\r\n"
    with ThreadPoolExecutor(HOSTILE + 1) as pool:
        attacks = [
            pool.submit(send, roost, f"news@h{n}.test", hostile(f"h{n}")) for n in range(HOSTILE)
        ]
        time.sleep(1.0)  # the hostile checks are running when the normal message comes
        code, took = pool.submit(send, roost, "friend@plain.test", normal).result()
        assert code == 250 and took < BOUND, (code, took)
        assert all(attack.result()[0] == 250 for attack in attacks)
    stored = roost.export("bob@example.test")
    assert stored.count(b"Subject: hello") == 1
    assert stored.count(b"Subject: many signatures") == HOSTILE
