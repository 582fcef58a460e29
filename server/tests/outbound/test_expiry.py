"""Mail that cannot be delivered for long: a "delayed" notice once, then a bounce when the
queue gives up (RFC 3464 Action: delayed, then failed), each one per message, naming every
recipient domain. Timings are shrunk to seconds."""

from __future__ import annotations

import email
from collections.abc import Iterator
from email.message import Message

import pytest

from tests.knot import KnotServer
from tests.outbound.test_direct import PASSWORD, inbox_count, submit, wait_until
from tests.postfix import PostfixPeer
from tests.roostproc import RoostProcess, roost_dev


@pytest.fixture(scope="module")
def roost(knot: KnotServer, knot_address: str) -> Iterator[RoostProcess]:
    knot.set_zone("slow.test", "@ MX 10 mx.slow.test.\nmx A 127.0.0.1\n")
    knot.set_zone("late.test", "@ MX 10 mx.late.test.\nmx A 127.0.0.1\n")
    reject = {"slow.test": "451 4.3.0 not today", "late.test": "451 4.3.0 nor tomorrow"}
    with (
        PostfixPeer(["slow.test", "late.test"], reject=reject) as peer,
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


def statuses(notice: Message) -> list[Message]:
    """The per-recipient parts of a DSN's message/delivery-status (RFC 3464 §2.1)."""
    return notice.get_payload()[1].get_payload()[1:]


def last_two(roost: RoostProcess) -> list[Message]:
    """The two newest messages of the inbox, in the order they were delivered."""
    exported = roost.export("alice@example.test")
    return [
        email.message_from_bytes(part.split(b"\n", 1)[1])
        for part in exported.split(b"\nFrom ")[-2:]
    ]


def test_delay_notice_then_expiry_bounce(roost: RoostProcess) -> None:
    """Both notices are read once both are in (each check of the inbox is a CLI run, which
    on a loaded machine can take longer than the 4 s between them), in delivery order."""
    before = inbox_count(roost)
    submit(roost, ["someone@slow.test", "other@late.test"], "never arrives")
    wait_until(lambda: inbox_count(roost) >= before + 2, timeout=40)
    notice, bounce = last_two(roost)
    delayed = statuses(notice)
    assert [s["Action"] for s in delayed] == ["delayed", "delayed"]
    assert sorted(s["Final-Recipient"] for s in delayed) == [
        "rfc822; other@late.test",
        "rfc822; someone@slow.test",
    ]
    assert {s["Diagnostic-Code"].split("; ", 1)[1][:9] for s in delayed} == {"451 4.3.0"}
    failed = statuses(bounce)
    assert [s["Action"] for s in failed] == ["failed", "failed"]
    assert [s["Status"] for s in failed] == ["5.4.7", "5.4.7"]
    assert all("gave up after" in s["Diagnostic-Code"] for s in failed)
    # One delay notice only for the message (not one per domain), then one bounce.
    assert inbox_count(roost) == before + 2
    assert "the queue is empty" in roost.cli("queue", "list").stdout
