"""Commands valid in any state, and those that log in (RFC 9051 §6.1, §6.2; RFC 2177 IDLE,
RFC 2971 ID, RFC 5161 ENABLE, RFC 2342 NAMESPACE, RFC 4978 COMPRESS, RFC 4959 SASL-IR)."""

from __future__ import annotations

import asyncio
import binascii
import contextlib
from base64 import b64decode

from roost.imap import args
from roost.imap.capabilities import ENABLEABLE
from roost.imap.connection import AlreadyAnswered, IMAPConnection
from roost.imap.errors import BadCommandError, RefusedError
from roost.imap.parser import Command
from roost.imap.response import Atom, untagged
from roost.smtp.auth import plain_credentials
from roost.smtp.replies import SMTPError


async def capability(conn: IMAPConnection, command: Command) -> str:
    args.count(command.args, 0, 0, "CAPABILITY")
    conn.send(f"* CAPABILITY {conn.capabilities()}")
    return "CAPABILITY completed"


async def noop(conn: IMAPConnection, command: Command) -> str:
    """Does nothing itself: the changes are announced after every command (§6.1.2)."""
    args.count(command.args, 0, 0, "NOOP")
    return "NOOP completed"


async def check(conn: IMAPConnection, command: Command) -> str:
    """RFC 3501 §6.4.1 CHECK: every write is already durable, so it is a NOOP (gone in rev2)."""
    args.count(command.args, 0, 0, "CHECK")
    return "CHECK completed"


async def logout(conn: IMAPConnection, command: Command) -> str:
    args.count(command.args, 0, 0, "LOGOUT")
    conn.send("* BYE Logging out")
    conn.close_session()
    return "LOGOUT completed"


async def starttls(conn: IMAPConnection, command: Command) -> str:
    args.count(command.args, 0, 0, "STARTTLS")
    context = conn.endpoint.tls_context
    if context is None or conn.session.tls:
        raise BadCommandError("TLS is already active" if conn.session.tls else "No STARTTLS here")
    conn.send(f"{command.tag} OK Begin TLS negotiation now")
    await conn.start_tls(context)
    raise AlreadyAnswered


async def login(conn: IMAPConnection, command: Command) -> str:
    args.count(command.args, 2, 2, "LOGIN username password")
    _require_tls(conn)
    user = args.astring(command.args[0], "the user name").encode("utf-8")
    password = args.astring(command.args[1], "the password").encode("utf-8")
    await _authenticate(conn, user, password)
    return f"[CAPABILITY {conn.capabilities()}] Logged in"


async def authenticate(conn: IMAPConnection, command: Command) -> str:
    """AUTHENTICATE PLAIN (RFC 4616), with an initial response per SASL-IR (RFC 4959)."""
    args.count(command.args, 1, 2, "AUTHENTICATE PLAIN [initial-response]")
    mechanism = args.atom(command.args[0], "the mechanism").upper()
    if mechanism != "PLAIN":
        raise RefusedError(f"Unsupported mechanism {mechanism[:20]}; use PLAIN")
    _require_tls(conn)
    if len(command.args) == 2:
        response = args.astring(command.args[1], "the initial response")
    else:
        conn.send("+ ")
        response = (await conn.read_line()).decode("ascii", "replace")
    if response == "*":
        raise BadCommandError("Authentication cancelled")  # RFC 9051 §6.2.2
    try:
        blob = b"" if response == "=" else b64decode(response.encode("ascii"), validate=True)
        user, password = plain_credentials(blob)
    except (binascii.Error, UnicodeEncodeError):
        raise BadCommandError("Cannot decode the base64 response") from None
    except SMTPError:
        raise RefusedError("Invalid credentials", "AUTHENTICATIONFAILED") from None
    await _authenticate(conn, user, password)
    return f"[CAPABILITY {conn.capabilities()}] Logged in"


def _require_tls(conn: IMAPConnection) -> None:
    if not conn.session.tls:
        # RFC 9051 §6.2.3: LOGINDISABLED is advertised; a password must not cross in clear.
        raise RefusedError("Run STARTTLS first", "PRIVACYREQUIRED")


async def _authenticate(conn: IMAPConnection, user: bytes, password: bytes) -> None:
    """The shared SMTP AUTH path: the same throttle counts failures from IMAP and SMTP."""
    try:
        address = await conn.endpoint.authenticator.authenticate(
            conn.session.peer_ip, user, password
        )
    except SMTPError as error:
        if error.code == 454:
            raise RefusedError("Too many failed logins; try again later", "UNAVAILABLE") from None
        raise RefusedError("Invalid credentials", "AUTHENTICATIONFAILED") from None
    conn.logged_in(address)


async def enable(conn: IMAPConnection, command: Command) -> str:
    """RFC 5161: turn on extensions whose responses change; unknown names are ignored."""
    args.count(command.args, 1, None, "ENABLE capability...")
    newly = []
    for arg in command.args:
        name = args.atom(arg, "a capability").upper()
        if name in ENABLEABLE and name not in conn.session.enabled:
            conn.session.enabled.add(name)
            newly.append(name)
            if name == "QRESYNC":  # RFC 7162 §3.2.3: QRESYNC implies CONDSTORE
                conn.session.enabled.add("CONDSTORE")
    spelled = {"IMAP4REV2": "IMAP4rev2"}
    conn.send(" ".join(["* ENABLED", *(spelled.get(n, n) for n in newly)]))
    return "ENABLE completed"


async def id_command(conn: IMAPConnection, command: Command) -> str:
    """RFC 2971: the client's parameters are only read; ours name the software, no version."""
    args.count(command.args, 1, 1, "ID (field value ...) or ID NIL")
    conn.send_raw(untagged(Atom("ID"), ["name", "Roost", "vendor", "Roost"]))
    return "ID completed"


async def namespace(conn: IMAPConnection, command: Command) -> str:
    """RFC 2342: one personal namespace, no prefix, "/" between levels; nothing shared."""
    args.count(command.args, 0, 0, "NAMESPACE")
    conn.send_raw(untagged(Atom("NAMESPACE"), [["", "/"]], None, None))
    return "NAMESPACE completed"


async def compress(conn: IMAPConnection, command: Command) -> str:
    args.count(command.args, 1, 1, "COMPRESS DEFLATE")
    if args.atom(command.args[0], "the algorithm").upper() != "DEFLATE":
        raise BadCommandError("Only DEFLATE is supported")
    if conn.compressed:
        raise RefusedError("Compression is already active", "COMPRESSIONACTIVE")
    conn.send(f"{command.tag} OK DEFLATE active")
    await conn.start_compression()
    raise AlreadyAnswered


async def idle(conn: IMAPConnection, command: Command) -> str:
    """RFC 2177: push changes as they happen until the client sends DONE."""
    args.count(command.args, 0, 0, "IDLE")
    conn.send("+ idling")
    await conn.announce_changes(force=True)
    await conn.flush()
    reading = asyncio.ensure_future(conn.read_line())
    try:
        while True:
            woken = asyncio.ensure_future(conn.changed.wait())
            done, _ = await asyncio.wait(
                {reading, woken},
                timeout=conn.endpoint.limits.idle_poll,
                return_when=asyncio.FIRST_COMPLETED,
            )
            woken.cancel()
            if reading in done:
                line = reading.result()
                if line.upper() != b"DONE":
                    raise BadCommandError("Expected DONE to end IDLE")
                return "IDLE terminated"
            await conn.announce_changes(force=True)
            await conn.flush()
    finally:
        if not reading.done():
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reading
