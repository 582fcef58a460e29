"""Mail that cannot be delivered for long: a "delayed" notice once, then a bounce when the
queue gives up (RFC 3464 Action: delayed, then failed). Timings are shrunk to seconds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.knot import KnotServer
from tests.outbound.test_direct import PASSWORD, inbox_count, last_inbox, submit, wait_until
from tests.postfix import PostfixPeer
from tests.roostproc import RoostProcess, roost_dev


@pytest.fixture(scope="module")
def roost(knot: KnotServer, knot_address: str) -> Iterator[RoostProcess]:
    knot.set_zone("slow.test", "@ MX 10 mx.slow.test.\nmx A 127.0.0.1\n")
    with (
        PostfixPeer(["slow.test"], reject={"slow.test": "451 4.3.0 not today"}) as peer,
        roost_dev(nameserver=knot_address) as proc,
    ):
        proc.append_config(
            f"[outbound]\nmx_port = {peer.smtp_port}\n"
            "[queue]\nretry_schedule = [1]\nmax_age = 6\ndelay_warning = 2\n"
        )
        proc.add_user("alice@example.test", PASSWORD)
        proc.start()
        yield proc
        assert proc.stop() == 0


def test_delay_notice_then_expiry_bounce(roost: RoostProcess) -> None:
    before = inbox_count(roost)
    submit(roost, ["someone@slow.test"], "never arrives")
    wait_until(lambda: inbox_count(roost) >= before + 1, timeout=30)
    delayed = last_inbox(roost).get_payload()[1].get_payload()[1]
    assert delayed["Action"] == "delayed"
    assert "451 4.3.0" in delayed["Diagnostic-Code"]
    wait_until(lambda: inbox_count(roost) >= before + 2, timeout=30)
    failed = last_inbox(roost).get_payload()[1].get_payload()[1]
    assert failed["Action"] == "failed"
    assert failed["Status"] == "5.4.7"
    assert "gave up after" in failed["Diagnostic-Code"]
    assert inbox_count(roost) == before + 2  # one delay notice only, then one bounce
    assert "the queue is empty" in roost.cli("queue", "list").stdout
