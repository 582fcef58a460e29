"""Bounces are RFC 3464 reports that real parsers read: Python's email package here."""

from __future__ import annotations

import email
from email.message import Message

from roost.delivery.outcome import permanent, temporary
from roost.queue.dsn import RecipientStatus, build_dsn
from roost.queue.runner import retry_delay

ORIGINAL = b"From: a@example.test\r\nTo: x@remote.test\r\nSubject: hello\r\n\r\nsecret body\r\n"


def test_failed_dsn_structure() -> None:
    dsn = build_dsn(
        hostname="mail.example.test",
        queue_id="Q1",
        sender="a@example.test",
        original=ORIGINAL,
        statuses=[
            RecipientStatus(
                "x@remote.test",
                permanent("550 5.1.1 no such user", "5.1.1", "mx.remote.test[192.0.2.1]:25"),
            )
        ],
        action="failed",
        arrival=1_700_000_000,
    )
    assert b"\r\n" in dsn and b"\n" not in dsn.replace(b"\r\n", b"")
    message = email.message_from_bytes(dsn)
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    assert message["Auto-Submitted"] == "auto-replied"
    human, status, headers = message.get_payload()
    assert human.get_content_type() == "text/plain"
    assert "no such user" in human.get_payload()
    assert status.get_content_type() == "message/delivery-status"
    per_message, per_recipient = status.get_payload()
    assert isinstance(per_recipient, Message)
    assert per_message["Reporting-MTA"] == "dns; mail.example.test"
    assert per_recipient["Final-Recipient"] == "rfc822; x@remote.test"
    assert per_recipient["Action"] == "failed"
    assert per_recipient["Status"] == "5.1.1"
    assert per_recipient["Remote-MTA"] == "dns; mx.remote.test"
    assert per_recipient["Diagnostic-Code"] == "smtp; 550 5.1.1 no such user"
    assert headers.get_content_type() == "text/rfc822-headers"
    assert "Subject: hello" in headers.get_payload()
    assert b"secret body" not in dsn  # headers only, never the body


def test_delayed_dsn_says_still_trying() -> None:
    dsn = build_dsn(
        hostname="mail.example.test",
        queue_id="Q1",
        sender="a@example.test",
        original=ORIGINAL,
        statuses=[RecipientStatus("x@remote.test", temporary("451 4.3.0 busy", "4.3.0"))],
        action="delayed",
        arrival=1_700_000_000,
    )
    message = email.message_from_bytes(dsn)
    _, status, _ = message.get_payload()
    assert status.get_payload()[1]["Action"] == "delayed"
    assert "still being retried" in message.get_payload()[0].get_payload()


def test_retry_schedule_repeats_its_last_step() -> None:
    schedule = (60.0, 300.0, 900.0)
    assert [retry_delay(schedule, n) for n in range(1, 6)] == [60, 300, 900, 900, 900]
