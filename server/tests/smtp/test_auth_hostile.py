"""Failed-login throttling under attack, against a live `roost serve`: simultaneous guesses
meet the limit, and a login built to forge a log line stays one escaped line. Each test
connects from its own address of 127/8, so none sees the failures of another."""

from __future__ import annotations

import base64
import smtplib
import threading
from collections.abc import Iterator

import pytest

from roost.smtp.limits import AuthThrottle
from tests.roostproc import RoostProcess, roost_dev
from tests.smtp.test_submission import tls_client

PASSWORD = "throttle password"
PER_IP = 10


@pytest.fixture(scope="module")
def roost() -> Iterator[RoostProcess]:
    extra = f"[limits]\nauth_failures_per_ip = {PER_IP}\nmax_connections_per_ip = 50\n"
    with roost_dev(extra_config=extra) as proc:
        proc.add_user("alice@example.test", PASSWORD)
        proc.start()
        yield proc
        assert proc.stop() == 0


def auth(roost: RoostProcess, login: str, password: str, source: str) -> int:
    credentials = base64.b64encode(f"\0{login}\0{password}".encode()).decode()
    with smtplib.SMTP_SSL(
        "127.0.0.1",
        roost.port("submissions"),
        timeout=30,
        context=tls_client(),
        source_address=(source, 0),
    ) as client:
        client.ehlo("client.test")
        return client.docmd("AUTH", f"PLAIN {credentials}")[0]


def test_simultaneous_guesses_meet_the_per_ip_limit(roost: RoostProcess) -> None:
    """20 wrong AUTHs at once from one IP: once all got 535 (check first, count after)."""
    start = threading.Barrier(20)
    codes: list[int] = []

    def guess(n: int) -> None:
        start.wait()
        codes.append(auth(roost, f"ghost{n}@example.test", "guess", "127.0.4.1"))

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(codes) == [454] * 10 + [535] * PER_IP


def test_a_newline_in_a_login_cannot_forge_a_log_line(roost: RoostProcess) -> None:
    forged = "2026-11-30 00:00:00,000 INFO roost.smtp.auth: auth ok for alice@example.test"
    assert auth(roost, f"x\n{forged} from 192.0.2.1", "guess", "127.0.5.1") == 535
    lines = roost.log.read_text().splitlines()
    assert not any(line.startswith(forged) for line in lines)
    assert any("auth failed for 'x\\n2026-11-30" in line for line in lines)


def test_failure_counts_expire_and_stay_bounded() -> None:
    """100,000 failures for distinct accounts once held 280 MB for ever."""
    now = [0.0]
    throttle = AuthThrottle(per_ip=10, per_account=5, window=60, clock=lambda: now[0])
    for n in range(100_000):
        assert throttle.begin(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}", f"u{n}@x.test")
        throttle.end(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}", f"u{n}@x.test", failed=True)
    assert len(throttle._failures) <= AuthThrottle.MAX_KEYS
    now[0] = 61.0
    for n in range(AuthThrottle.SWEEP_EVERY):  # later failures trigger the sweep
        throttle.begin("192.0.2.1", f"late{n}@x.test")
        throttle.end("192.0.2.1", f"late{n}@x.test", failed=True)
    assert len(throttle._failures) == AuthThrottle.SWEEP_EVERY + 1  # the late ones and their IP
    assert not throttle._pending
