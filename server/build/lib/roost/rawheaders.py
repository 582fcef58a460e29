"""Header fields read straight from a message's bytes (RFC 5322 §2.2).

The checks, the MX and signing each need a field or two (From, Received, the names present);
running the email package's parser for that costs more than the rest of their work. Nothing
here re-serialises anything: messages are stored and signed byte for byte.
"""

from __future__ import annotations


def header_block(message: bytes) -> bytes:
    """The header section with the blank line that ends it (the whole message if none)."""
    crlf = message.find(b"\r\n\r\n")
    lf = message.find(b"\n\n", 0, len(message) if crlf < 0 else crlf)  # a bare-LF blank line first
    if lf >= 0:
        return message[: lf + 2]
    return message if crlf < 0 else message[: crlf + 4]


def fields(message: bytes) -> list[tuple[bytes, bytes]]:
    """(lower-cased name, value) of each header field in order, continuation lines joined
    without their line breaks (unfolding, RFC 5322 §2.2.3). Lines that are neither a field
    nor a continuation are skipped."""
    found: list[tuple[bytes, bytes]] = []
    for line in header_block(message).splitlines():
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            if found:
                name, value = found[-1]
                found[-1] = (name, value + line)
            continue
        name, colon, value = line.partition(b":")
        if colon:
            found.append((name.strip().lower(), value))
    return found
