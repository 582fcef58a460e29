"""Header work done on raw bytes: messages are stored and signed byte-exactly, so nothing here
re-serialises a parsed message (email.generator would re-fold and break DKIM signatures)."""

from __future__ import annotations

import datetime
import email.utils
import functools
import re
import secrets
import time

from roost.authresults import strip_forged
from roost.rawheaders import fields, header_block
from roost.smtp.replies import SMTPError

MAX_HOPS = 100  # RFC 5321 §6.3: a loop shows as a long Received chain
# Passes through this very host: a misrouted message was once re-signed and relayed by
# submission 16 times. A message may honestly pass twice (received, then resent by its reader).
MAX_OWN_HOPS = 5


def prepare(content: bytes, hostname: str) -> bytes:
    """A message as a client sent it, made ready for checks and storage: line ends made
    uniform, a mail loop refused, Authentication-Results forged under our name removed."""
    message = crlf_line_ends(content)
    head = header_block(message)
    new_head = prepare_head(head, hostname)
    return message if new_head is head else new_head + message[len(head) :]


def prepare_head(head: bytes, hostname: str) -> bytes:
    """`prepare` for the header block alone (with CRLF line ends already); `head` itself when
    nothing changes. In the header block a bare CR ends a line too: Python's email parser
    (and mail clients built on it) start a new field there, so a forged field hidden behind
    one must be seen as a field by `strip_forged` as well."""
    if head.count(b"\r") != head.count(b"\r\n"):
        head = re.sub(rb"\r(?!\n)", b"\r\n", head)
    ours = b"by " + hostname.encode() + b" (Roost)"
    received = [value for name, value in fields(head) if name == b"received"]
    if len(received) > MAX_HOPS or sum(ours in value for value in received) > MAX_OWN_HOPS:
        raise SMTPError(554, "5.4.6", "Too many hops (mail loop?)")
    return strip_forged(head, hostname)


def missing_origin_headers(message: bytes, domain: str) -> bytes:
    """Message-ID and Date a submission client left out (RFC 6409 §8.2, §8.3)."""
    names = {name for name, _ in fields(message)}
    added = b""
    if b"message-id" not in names:
        added += f"Message-ID: <{time.time_ns():x}.{secrets.token_hex(8)}@{domain}>\r\n".encode()
    if b"date" not in names:
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


def crlf_line_ends(data: bytes) -> bytes:
    """DATA keeps line ends as sent; a stray bare LF must not desynchronise DKIM
    canonicalisation. `data` itself when every line already ends in CRLF."""
    if data.count(b"\n") != data.count(b"\r\n"):
        return re.sub(rb"\r?\n", b"\r\n", data)
    return data
