"""Test messages, CRLF-terminated as they arrive over SMTP."""

from __future__ import annotations


def message(
    from_addr: str = "alice@example.com",
    *,
    to: str = "bob@example.org",
    subject: str = "Lunch",
    body: str = "See you at noon.\r\n",
    extra_headers: str = "",
) -> bytes:
    return (
        f"From: Alice <{from_addr}>\r\n"
        f"To: {to}\r\n"
        f"Subject: {subject}\r\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
        "Message-ID: <lunch-1@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"{extra_headers}"
        "\r\n"
        f"{body}"
    ).encode()
