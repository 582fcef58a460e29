"""Delivery status notifications (RFC 3464) in a multipart/report (RFC 6522) message.

Built by hand on bytes rather than with email.mime: the format is small, and writing it
directly keeps CRLF line ends and the original header block exactly as received.
"""

from __future__ import annotations

import email.utils
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from roost.delivery.outcome import Outcome
from roost.rawheaders import header_block

Action = Literal["failed", "delayed"]


@dataclass(frozen=True)
class RecipientStatus:
    recipient: str
    outcome: Outcome
    last_attempt: float | None = None


def build_dsn(
    *,
    hostname: str,
    queue_id: str,
    sender: str,
    original: bytes,
    statuses: Sequence[RecipientStatus],
    action: Action,
    arrival: float,
    now: float | None = None,
) -> bytes:
    now = time.time() if now is None else now
    boundary = f"=_roost_{secrets.token_hex(12)}"
    subject = (
        "Undelivered Mail Returned to Sender"
        if action == "failed"
        else "Delayed Mail (still being retried)"
    )
    headers = [
        f"From: Mail Delivery System <MAILER-DAEMON@{hostname}>",
        f"To: <{sender}>",
        f"Subject: {subject}",
        f"Date: {email.utils.formatdate(now)}",
        f"Message-ID: <{queue_id}.{secrets.token_hex(6)}.dsn@{hostname}>",
        "Auto-Submitted: auto-replied",  # RFC 3834 §5: no auto-replies to this
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
    ]
    human = _human_text(hostname, action, statuses)
    per_message = [
        f"Reporting-MTA: dns; {hostname}",
        f"X-Roost-Queue-ID: {queue_id}",
        f"Arrival-Date: {email.utils.formatdate(arrival)}",
    ]
    groups = ["\r\n".join(per_message)]
    for status in statuses:
        groups.append("\r\n".join(_recipient_fields(status, action, now)))
    parts = [
        "Content-Type: text/plain; charset=utf-8\r\n\r\n" + human,
        "Content-Type: message/delivery-status\r\n\r\n" + "\r\n\r\n".join(groups) + "\r\n",
        "Content-Type: text/rfc822-headers\r\n\r\n"
        + header_block(original).decode("utf-8", "replace"),
    ]
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    text = (
        "\r\n".join(headers) + "\r\n\r\nThis is a MIME-encapsulated delivery report.\r\n\r\n" + body
    )
    return text.encode("utf-8")


def _recipient_fields(status: RecipientStatus, action: Action, now: float) -> list[str]:
    """RFC 3464 §2.3: one group of per-recipient fields."""
    outcome = status.outcome
    fields = [
        f"Final-Recipient: rfc822; {status.recipient}",
        f"Action: {action}",
        f"Status: {outcome.status}",
    ]
    if outcome.remote:
        fields.append(f"Remote-MTA: dns; {outcome.remote.split('[')[0]}")
    fields.append(f"Diagnostic-Code: {outcome.diagnostic}")
    fields.append(f"Last-Attempt-Date: {email.utils.formatdate(status.last_attempt or now)}")
    return fields


def _human_text(hostname: str, action: Action, statuses: Sequence[RecipientStatus]) -> str:
    if action == "failed":
        lead = (
            f"This is the mail system at {hostname}.\r\n\r\n"
            "Your message could not be delivered to one or more recipients. It has been\r\n"
            "given up on; the reasons are below.\r\n\r\n"
        )
    else:
        lead = (
            f"This is the mail system at {hostname}.\r\n\r\n"
            "Your message has not been delivered yet to one or more recipients. It is\r\n"
            "still being retried; you do not need to send it again.\r\n\r\n"
        )
    lines = [f"<{s.recipient}>: {s.outcome.text}" for s in statuses]
    return lead + "\r\n".join(lines) + "\r\n"
