"""Header work done on raw bytes: messages are stored and signed byte-exactly, so nothing here
re-serialises a parsed message (email.generator would re-fold and break DKIM signatures)."""

from __future__ import annotations

import datetime
import email.utils
import functools
import re
import secrets
import time
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import SMTPUTF8

from roost.rawheaders import fields, header_block


def parsed_headers(message: bytes) -> EmailMessage:
    """The header block only, parsed once per message (the body is never parsed)."""
    parsed = BytesHeaderParser(policy=SMTPUTF8).parsebytes(header_block(message))
    assert isinstance(parsed, EmailMessage)
    return parsed


def from_addresses(headers: EmailMessage) -> list[str] | None:
    """Addresses in the From header(s); None when the header is missing or unparseable."""
    values = headers.get_all("From") or []
    if len(values) != 1:
        return None  # RFC 5322 §3.6: exactly one From field
    try:
        addresses: tuple[Address, ...] = values[0].addresses
    except (AttributeError, ValueError, IndexError):
        return None
    found = [a.addr_spec for a in addresses if a.username and a.domain]
    return found or None


def count_received(message: bytes) -> int:
    return sum(1 for name, _ in fields(message) if name == b"received")


def missing_origin_headers(headers: EmailMessage, domain: str) -> bytes:
    """Message-ID and Date a submission client left out (RFC 6409 §8.2, §8.3)."""
    added = b""
    if headers.get("Message-ID") is None:
        added += f"Message-ID: <{time.time_ns():x}.{secrets.token_hex(8)}@{domain}>\r\n".encode()
    if headers.get("Date") is None:
        added += f"Date: {_now()}\r\n".encode()
    return added


def received(
    *,
    helo: str,
    client_ip: str,
    hostname: str,
    protocol: str,
    tls: str | None,
    queue_id: str,
    recipient: str | None,
) -> bytes:
    """A trace header (RFC 5321 §4.4) with the protocol keyword of RFC 3848 (ESMTPS, ESMTPSA)."""
    clean_helo = re.sub(r"[^A-Za-z0-9.\-\[\]:_]", "?", helo)[:255]
    parts = [f"Received: from {clean_helo} ([{client_ip}])", f"\tby {hostname} (Roost)"]
    with_part = f"\twith {protocol}"
    if tls:
        with_part += f" (version={tls.replace(' ', ' cipher=')})"
    parts.append(f"{with_part} id {queue_id}")
    if recipient:
        parts.append(f"\tfor <{recipient}>")
    parts[-1] += f"; {_now()}"
    return ("\r\n".join(parts) + "\r\n").encode("utf-8", "surrogateescape")


def _now() -> str:
    return _date(int(time.time()))


@functools.lru_cache(maxsize=1)
def _date(second: int) -> str:
    """RFC 5322 §3.3 date in UTC written as +0000 (-0000 would mean "zone unknown"); made
    once per second, since every message's Received header needs one."""
    return email.utils.format_datetime(datetime.datetime.fromtimestamp(second, datetime.UTC))


def new_queue_id() -> str:
    return f"{time.time_ns():x}{secrets.token_hex(3)}".upper()


def normalize_line_endings(message: bytes) -> bytes:
    """DATA keeps line ends as sent; a stray bare LF must not desynchronise DKIM
    canonicalisation."""
    if message.count(b"\n") == message.count(b"\r\n"):
        return message
    return re.sub(rb"\r?\n", b"\r\n", message)
