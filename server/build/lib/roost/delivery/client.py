"""One SMTP client transaction to one address of one host, with aiosmtplib.

We connect the socket ourselves (the address comes from our resolver, never the system's) and
let aiosmtplib speak the protocol with the host's name for TLS verification. Replies are turned
into per-recipient `Outcome`s; anything that stops the whole transaction before recipients have
answers raises `HopError`, so the caller can try the next address or MX host (RFC 5321 §5.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import aiosmtplib

from roost.delivery.outcome import Outcome, temporary

log = logging.getLogger("roost.delivery")

TLSUse = Literal["implicit", "starttls", "opportunistic", "none"]
_ENHANCED = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})\b")


@dataclass(frozen=True)
class Hop:
    """A host to try, and how: `starttls`/`implicit` require TLS, `opportunistic` uses it when
    offered (RFC 3207, RFC 7435); `verify` checks the chain and the name (MTA-STS, relays)."""

    host: str
    port: int
    tls: TLSUse
    verify: bool
    username: str | None = None
    password: str | None = None


class HopError(Exception):
    """The host could not take the transaction at all; try another."""

    def __init__(self, outcome: Outcome, tls_failure: str | None = None) -> None:
        super().__init__(outcome.text)
        self.outcome = outcome
        self.tls_failure = tls_failure  # RFC 8460 result-type, when TLS was the reason


@dataclass(frozen=True)
class Transaction:
    outcomes: dict[str, Outcome]
    tls_version: str | None


def outcome_of(code: int, text: str, remote: str) -> Outcome:
    """Map a reply to an outcome, keeping the server's enhanced code when it gave one."""
    match = _ENHANCED.match(text)
    kind = "delivered" if code < 400 else "temporary" if code < 500 else "permanent"
    status = match.group(1) if match else {"d": "2.0.0", "t": "4.0.0", "p": "5.0.0"}[kind[0]]
    return Outcome(kind, status, f"{code} {text}".strip(), remote)  # type: ignore[arg-type]


async def _connect(address: str, port: int, timeout: float) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.wait_for(
            asyncio.get_running_loop().sock_connect(sock, (address, port)), timeout
        )
    except BaseException:
        sock.close()
        raise
    return sock


async def transact(
    hop: Hop,
    address: str,
    *,
    helo: str,
    sender: str,
    recipients: Sequence[str],
    message: bytes,
    verified: ssl.SSLContext,
    unverified: ssl.SSLContext,
    timeout: float = 120.0,
) -> Transaction:
    remote = f"{hop.host}[{address}]:{hop.port}"
    context = verified if hop.verify else unverified
    try:
        sock = await _connect(address, hop.port, timeout)
    except (OSError, TimeoutError) as exc:
        raise HopError(temporary(f"cannot connect to {remote}: {exc}", "4.4.1", remote)) from None
    client = aiosmtplib.SMTP(
        hostname=hop.host,
        sock=sock,
        local_hostname=helo,
        use_tls=hop.tls == "implicit",
        start_tls=False,
        validate_certs=hop.verify,
        tls_context=context,
        timeout=timeout,
    )
    try:
        return await _session(client, hop, remote, context, sender, recipients, message)
    except ssl.SSLCertVerificationError as exc:
        kind = "certificate-host-mismatch" if "match" in str(exc) else "validation-failure"
        raise HopError(
            temporary(
                f"TLS certificate of {remote} not valid: {exc.verify_message}", "4.7.5", remote
            ),
            kind,
        ) from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError, ssl.SSLError) as exc:
        raise HopError(temporary(f"{remote}: {exc}", "4.4.2", remote)) from None
    finally:
        client.close()


async def _session(
    client: aiosmtplib.SMTP,
    hop: Hop,
    remote: str,
    context: ssl.SSLContext,
    sender: str,
    recipients: Sequence[str],
    message: bytes,
) -> Transaction:
    try:
        await client.connect()
    except aiosmtplib.SMTPConnectResponseError as exc:
        raise HopError(outcome_of(exc.code, exc.message, remote)) from None
    await client.ehlo()
    if hop.tls in ("starttls", "opportunistic") and client.supports_extension("starttls"):
        await client.starttls(tls_context=context, validate_certs=hop.verify)
    elif hop.tls == "starttls":
        raise HopError(
            temporary(f"{remote} does not offer STARTTLS, which is required", "4.7.4", remote),
            "starttls-not-supported",
        )
    ssl_object = client.get_transport_info("ssl_object")
    tls_version = ssl_object.version() if ssl_object else None
    if hop.username:
        try:
            await client.login(hop.username, hop.password or "")
        except aiosmtplib.SMTPAuthenticationError as exc:
            # Wrong relay credentials are our configuration problem: keep the mail, say so.
            log.error("relay %s refused our credentials: %s %s", remote, exc.code, exc.message)
            raise HopError(
                temporary(
                    f"{remote} refused authentication: {exc.code} {exc.message}", "4.7.8", remote
                )
            ) from None
    try:
        await client.mail(sender)
    except aiosmtplib.SMTPSenderRefused as exc:
        refused = outcome_of(exc.code, exc.message, remote)
        return Transaction({r: refused for r in recipients}, tls_version)
    outcomes: dict[str, Outcome] = {}
    accepted = []
    for recipient in recipients:
        try:
            await client.rcpt(recipient)
            accepted.append(recipient)
        except aiosmtplib.SMTPRecipientRefused as exc:
            outcomes[recipient] = outcome_of(exc.code, exc.message, remote)
    if accepted:
        try:
            reply = await client.data(message)
            done = outcome_of(reply.code, reply.message, remote)
        except aiosmtplib.SMTPDataError as exc:
            done = outcome_of(exc.code, exc.message, remote)
        for recipient in accepted:
            outcomes[recipient] = done
    with contextlib.suppress(aiosmtplib.SMTPException):
        await client.quit()  # the transaction is over either way
    return Transaction(outcomes, tls_version)


def tls_contexts(ca_file: str | None) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(verifying, opportunistic). Opportunistic TLS does not authenticate the server
    (RFC 7435): it still beats plain text, and MTA-STS or a relay asks for verification."""
    verified = ssl.create_default_context()
    if ca_file:
        verified.load_verify_locations(ca_file)
    verified.minimum_version = ssl.TLSVersion.TLSv1_2
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    return verified, unverified
