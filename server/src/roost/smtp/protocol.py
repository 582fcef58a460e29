"""The SMTP conversation (RFC 5321) every Roost endpoint speaks, as one asyncio protocol.

Policy (who may send what to whom) lives in the handlers; this module owns what any SMTP server
must get right: command order, STARTTLS (RFC 3207) with pipelined input thrown away, AUTH
(RFC 4954), PIPELINING (RFC 2920) with replies written in batches, enhanced status codes on
every reply (RFC 2034), relay-trick paths refused before any lookup, per-IP connection caps,
a command timeout, a DATA deadline, and a cap on errors per session.

It replaces aiosmtpd, which spent more on each connection than the rest of Roost together
(introspection per connection, a Protocol class per address, a read per DATA line; see
docs/performance.md).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from roost.addresses import relay_trick
from roost.smtp import paths
from roost.smtp.auth import (
    MECHANISMS,
    Authenticator,
    challenge,
    decode_response,
    plain_credentials,
)
from roost.smtp.envelope import Envelope, Session
from roost.smtp.limits import ByteBudget, ConnectionLimiter
from roost.smtp.reader import InputClosedError, LineTooLongError, OverBudgetError, Reader
from roost.smtp.replies import SMTPError
from roost.smtp.spooled import SpooledMessage
from roost.streams import WriteFlow, admit, upgrade_to_tls

log = logging.getLogger("roost.smtp")

# RFC 5321 §4.5.3.1.4 says 512 for a command line; AUTH responses (RFC 4954 §4) and SMTPUTF8
# addresses need more, and Postfix's line_length_limit is 2048.
MAX_LINE = 2048
# After this many error replies the client is not talking SMTP in good faith (Postfix's
# smtpd_hard_error_limit is 20 as well).
MAX_ERRORS = 20


class Handler(Protocol):
    async def mail(self, session: Session, envelope: Envelope, address: str) -> str: ...

    async def rcpt(self, session: Session, envelope: Envelope, address: str) -> str: ...

    async def data(
        self, session: Session, envelope: Envelope, content: bytes | SpooledMessage
    ) -> str: ...


@dataclass(frozen=True)
class ProtocolLimits:
    command_timeout: float
    data_timeout: float
    max_message_size: int
    in_flight: ByteBudget  # shared by every session of every listener
    spool_dir: Path | None = None  # where large messages are received (`roost.smtp.spooled`)


@dataclass(frozen=True)
class SMTPEndpoint:
    """One listener's settings, shared by all its sessions."""

    hostname: str
    handler: Handler
    limits: ProtocolLimits
    connections: ConnectionLimiter
    tls_context: ssl.SSLContext | None  # for STARTTLS; None where TLS is implicit
    require_starttls: bool = False
    # 465 (RFC 8314): TLS from the first byte. The session does the handshake itself, so the
    # connection counts against its client before a handshake can be left hanging.
    implicit_tls: ssl.SSLContext | None = None
    # Submission: AUTH offered (over TLS only) and required before MAIL. The MX has none.
    authenticator: Authenticator | None = None

    def ehlo_lines(self, tls: bool) -> list[str]:
        keywords = [self.hostname, f"SIZE {self.limits.max_message_size}", "8BITMIME", "SMTPUTF8"]
        if self.tls_context is not None and not tls:
            keywords.append("STARTTLS")
        if self.authenticator is not None and tls:
            keywords.append("AUTH " + " ".join(MECHANISMS))
        keywords += ["ENHANCEDSTATUSCODES", "PIPELINING"]
        return [f"250-{word}" for word in keywords[:-1]] + [f"250 {keywords[-1]}"]


_Command = Callable[["SMTPProtocol", str], Awaitable[None]]


class SMTPProtocol(asyncio.Protocol):
    def __init__(self, endpoint: SMTPEndpoint) -> None:
        self.endpoint = endpoint
        self.session: Session | None = None
        self.envelope = Envelope()
        self._transport: asyncio.Transport | None = None
        self._reader: Reader | None = None
        self._out: list[bytes] = []
        self._errors = 0
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._flow = WriteFlow()
        self._closing = False
        self._client = ""  # what the connection counts against (ConnectionLimiter)

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        endpoint = self.endpoint
        refusal = b"421 4.7.0 Too many connections, try again later\r\n"
        admitted = admit(transport, endpoint.connections, endpoint.implicit_tls, refusal)
        if admitted is None:
            return
        ip, self._client = admitted
        self._transport = transport
        self._reader = Reader(transport)
        self.session = Session(ip, tls=_tls_description(transport))
        self._task = asyncio.get_running_loop().create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        if self._reader is not None:
            self._reader.feed(data)

    def eof_received(self) -> bool:
        """The client shut its side (Exim sends `.` and QUIT, then does): the commands it sent
        are still answered, so the transport stays open for writing until the session ends.
        TLS has no half-close (the return value is ignored there)."""
        if self._reader is not None:
            self._reader.feed_eof()
        return self.session is not None and self.session.tls is None

    def connection_lost(self, exc: Exception | None) -> None:
        # Once only: a failed TLS upgrade reports it too (roost.streams.upgrade_to_tls).
        if self.session is None or not self._client:
            return
        self.endpoint.connections.release(self._client)
        self._client = ""
        assert self._reader is not None
        self._reader.feed_eof()
        self._closing = True
        self._cancel_timer()
        self._flow.release()

    def pause_writing(self) -> None:
        self._flow.pause()

    def resume_writing(self) -> None:
        self._flow.resume()

    # the conversation

    async def _serve(self) -> None:
        assert self._reader is not None
        reader = self._reader
        limits = self.endpoint.limits
        try:
            implicit = self.endpoint.implicit_tls
            if implicit is not None and not await self._start_tls(implicit):
                return
            self._reply(f"220 {self.endpoint.hostname} ESMTP Roost")
            while not self._closing:
                if not reader.has_line():
                    await self._flush()
                self._arm(limits.command_timeout)
                try:
                    line = await reader.readline(MAX_LINE)
                except LineTooLongError:
                    self._error(SMTPError(500, "5.5.6", "Line too long"))
                    continue
                finally:
                    self._cancel_timer()
                await self._command(line)
        except InputClosedError:
            pass
        except Exception:
            log.exception("session with %s failed", self.session.peer_ip if self.session else "?")
            self._reply("421 4.3.0 Internal error, closing connection")
        finally:
            await self._flush()
            if self._transport is not None:
                self._transport.close()

    async def _command(self, line: bytes) -> None:
        text = line.decode("utf-8", "surrogateescape")
        verb, _, argument = text.partition(" ")
        command = _COMMANDS.get(verb.upper())
        if command is None:
            self._error(SMTPError(500, "5.5.2", "Command not recognized"))
            return
        try:
            await command(self, argument.strip())
        except SMTPError as reply:
            if reply.detail:
                log.info("%s from %s: %s", reply, self._peer(), reply.detail)
            self._error(reply)

    async def _helo(self, argument: str, esmtp: bool) -> None:
        if not argument:
            raise SMTPError(501, "5.5.4", f"Syntax: {'EHLO' if esmtp else 'HELO'} hostname")
        session = self._session()
        session.helo, session.esmtp = argument, esmtp
        self.envelope = Envelope()
        if esmtp:
            self._out.extend(
                f"{line}\r\n".encode() for line in self.endpoint.ehlo_lines(session.tls is not None)
            )
        else:
            self._reply(f"250 {self.endpoint.hostname}")

    async def _ehlo_command(self, argument: str) -> None:
        await self._helo(argument, esmtp=True)

    async def _helo_command(self, argument: str) -> None:
        await self._helo(argument, esmtp=False)

    def _require_transaction_ready(self) -> Session:
        """What MAIL, RCPT and DATA all need first: a greeting, TLS where required, a login
        where required."""
        session = self._session()
        if session.helo is None:
            raise SMTPError(503, "5.5.1", "Send HELO/EHLO first")
        if self.endpoint.require_starttls and session.tls is None:
            raise SMTPError(530, "5.7.0", "Must issue a STARTTLS command first")
        if self.endpoint.authenticator is not None and session.user is None:
            raise SMTPError(530, "5.7.0", "Authentication required")
        return session

    async def _mail(self, argument: str) -> None:
        session = self._require_transaction_ready()
        envelope = self.envelope
        if envelope.mail_from is not None:
            raise SMTPError(503, "5.5.1", "Nested MAIL command")
        path = paths.parse(argument, "FROM:", recipient=False)
        paths.check_mail_parameters(path.params, self.endpoint.limits.max_message_size)
        reply = await self.endpoint.handler.mail(session, envelope, path.address)
        if reply.startswith("2"):
            envelope.mail_from = path.address
            envelope.smtputf8 = "SMTPUTF8" in path.params
        self._reply_or_error(reply)

    async def _rcpt(self, argument: str) -> None:
        session = self._require_transaction_ready()
        envelope = self.envelope
        if envelope.mail_from is None:
            raise SMTPError(503, "5.5.1", "Need MAIL before RCPT")
        path = paths.parse(argument, "TO:", recipient=True, smtputf8=envelope.smtputf8)
        reason = None if path.address == paths.POSTMASTER else relay_trick(path.address)
        if reason:
            raise SMTPError(550, "5.7.1", f"Relaying denied: {reason}", path.address)
        paths.check_rcpt_parameters(path.params)
        reply = await self.endpoint.handler.rcpt(session, envelope, path.address)
        if reply.startswith("2"):
            envelope.rcpt_tos.append(path.address)
        if reply.startswith("452"):
            # Too many recipients is the client's cue to send the rest in another transaction
            # (RFC 5321 §4.5.3.1.10), not a mistake: counting it closed sessions of 50 rcpts.
            self._reply(reply)
        else:
            self._reply_or_error(reply)

    async def _data(self, argument: str) -> None:
        session = self._require_transaction_ready()
        envelope = self.envelope
        if envelope.mail_from is None:
            raise SMTPError(503, "5.5.1", "Need MAIL command")
        if not envelope.rcpt_tos:
            raise SMTPError(503, "5.5.1", "Need RCPT command")
        if argument:
            raise SMTPError(501, "5.5.4", "Syntax: DATA")
        assert self._reader is not None
        self._reply("354 End data with <CR><LF>.<CR><LF>")
        await self._flush()
        # The command timer bounds each wait; this bounds the whole DATA phase, so a client
        # trickling one line at a time cannot hold the session for ever.
        limits = self.endpoint.limits
        self._arm(limits.data_timeout)
        reserved = [0]
        try:
            try:
                content = await self._reader.read_data(
                    limits.max_message_size, limits.in_flight, reserved, limits.spool_dir
                )
            except OverBudgetError:
                log.warning("452 to %s: the server holds too much mail in flight", self._peer())
                text = "Insufficient system storage, try again later"
                raise SMTPError(452, "4.3.1", text) from None
            finally:
                self._cancel_timer()
                self.envelope = Envelope()
            if content is None:
                raise SMTPError(552, "5.3.4", "Message size exceeds fixed maximum message size")
            try:
                self._reply_or_error(await self.endpoint.handler.data(session, envelope, content))
            finally:
                if isinstance(content, SpooledMessage):
                    content.discard()
        finally:
            limits.in_flight.release(reserved[0])

    async def _rset(self, argument: str) -> None:
        self.envelope = Envelope()
        self._reply("250 2.0.0 OK")

    async def _noop(self, argument: str) -> None:
        self._reply("250 2.0.0 OK")

    async def _quit(self, argument: str) -> None:
        self._reply("221 2.0.0 Bye")
        self._closing = True

    async def _vrfy(self, argument: str) -> None:
        if not argument:
            raise SMTPError(501, "5.5.4", "Syntax: VRFY address")
        # RFC 5321 §3.5.3: 252 lets us avoid confirming which addresses exist.
        self._reply("252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery")

    async def _expn(self, argument: str) -> None:
        raise SMTPError(502, "5.5.1", "EXPN not available")

    async def _help(self, argument: str) -> None:
        self._reply("214 2.0.0 Roost speaks SMTP as in RFC 5321")

    async def _starttls(self, argument: str) -> None:
        session = self._session()
        context = self.endpoint.tls_context
        if context is None or session.tls is not None:
            raise SMTPError(503, "5.5.1", "TLS already active" if session.tls else "No TLS here")
        if argument:
            raise SMTPError(501, "5.5.4", "Syntax: STARTTLS")
        assert self._reader is not None and self._transport is not None
        self._reply("220 2.0.0 Ready to start TLS")
        await self._flush()
        dropped = self._reader.discard()
        if dropped:
            # RFC 3207 §6: anything pipelined after STARTTLS was sent in clear text and could
            # have been injected; it must not count as a command inside TLS.
            log.info("dropped %d bytes sent after STARTTLS by %s", dropped, session.peer_ip)
        await self._start_tls(context)

    async def _start_tls(self, context: ssl.SSLContext) -> bool:
        """The handshake, bounded by the command timeout; after it the session starts anew
        (RFC 3207 §4.2: forget everything learnt before TLS, the client greets again)."""
        assert self._reader is not None and self._transport is not None
        peer_ip = self._session().peer_ip
        transport = await upgrade_to_tls(
            self._transport, self, context, self.endpoint.limits.command_timeout, peer_ip
        )
        if transport is None:
            self._closing = True
            return False
        self._transport = transport
        self._reader.set_transport(transport)
        self.session = Session(peer_ip, tls=_tls_description(transport))
        self.envelope = Envelope()
        return True

    async def _auth(self, argument: str) -> None:
        session = self._session()
        authenticator = self.endpoint.authenticator
        mechanism, _, initial = argument.partition(" ")
        mechanism = mechanism.upper()
        if authenticator is None:
            raise SMTPError(504, "5.5.4", "Unrecognized authentication type")
        if session.tls is None:
            raise SMTPError(530, "5.7.0", "Must issue a STARTTLS command first")
        if session.helo is None:
            raise SMTPError(503, "5.5.1", "Send EHLO first")
        if session.user is not None:
            raise SMTPError(503, "5.5.1", "Already authenticated")
        if self.envelope.mail_from is not None:
            raise SMTPError(503, "5.5.1", "Not during a mail transaction")
        if mechanism not in MECHANISMS:
            raise SMTPError(504, "5.5.4", "Unrecognized authentication type")
        if " " in initial.strip():
            raise SMTPError(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]")
        if mechanism == "PLAIN":
            blob = await self._sasl_response(initial, "")
            login, password = plain_credentials(blob)
        else:
            login = await self._sasl_response(initial, "Username:")
            password = await self._sasl_response("", "Password:")
        session.user = await authenticator.authenticate(session.peer_ip, login, password)
        self._reply("235 2.7.0 Authentication successful")

    async def _sasl_response(self, initial: str, prompt: str) -> bytes:
        """The initial response if given, else a 334 challenge and the client's answer."""
        if initial:
            return decode_response(initial)
        assert self._reader is not None
        self._reply(challenge(prompt))
        await self._flush()
        self._arm(self.endpoint.limits.command_timeout)
        try:
            line = await self._reader.readline(MAX_LINE)
        except LineTooLongError:
            raise SMTPError(500, "5.5.6", "Line too long") from None
        finally:
            self._cancel_timer()
        text = line.decode("ascii", "replace")
        if text == "*":
            raise SMTPError(501, "5.0.0", "Authentication aborted")
        return decode_response(text)

    # replies, timers, helpers

    def _session(self) -> Session:
        assert self.session is not None
        return self.session

    def _peer(self) -> str:
        return self.session.peer_ip if self.session else "?"

    def _reply(self, line: str) -> None:
        # Replies may quote what the client sent; bytes that were not UTF-8 come back as "?".
        self._out.append(line.encode("utf-8", "replace") + b"\r\n")

    def _reply_or_error(self, line: str) -> None:
        self._reply(line)
        if line[:1] in ("4", "5"):
            self._count_error()

    def _error(self, reply: SMTPError) -> None:
        self._reply(str(reply))
        self._count_error()

    def _count_error(self) -> None:
        self._errors += 1
        if self._errors >= MAX_ERRORS and not self._closing:
            log.warning("closing the session with %s: %d errors", self._peer(), self._errors)
            self._out.append(b"421 4.7.0 Too many errors, closing connection\r\n")
            self._closing = True

    async def _flush(self) -> None:
        """Write the replies collected so far in one go: with PIPELINING a client sends a
        batch of commands and reads all their replies at once (RFC 2920 §3.1)."""
        if self._out and self._transport is not None and not self._transport.is_closing():
            self._transport.write(b"".join(self._out))
        self._out.clear()
        try:
            await self._flow.drained(self.endpoint.limits.command_timeout)
        except TimeoutError:
            log.info("closing the session with %s: it does not read", self._peer())
            if self._transport is not None:
                self._transport.abort()
            raise InputClosedError from None

    def _arm(self, timeout: float) -> None:
        self._timer = asyncio.get_running_loop().call_later(timeout, self._timed_out)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        log.info("timeout: closing the session with %s", self._peer())
        if self._transport is not None:
            self._transport.write(b"421 4.4.2 Timeout exceeded, closing connection\r\n")
            self._transport.close()


def _tls_description(transport: asyncio.BaseTransport) -> str | None:
    """Protocol and cipher for the Received header (RFC 8314 §4.3 encourages recording it)."""
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    cipher = ssl_object.cipher()
    return f"{ssl_object.version()} {cipher[0]}" if cipher else str(ssl_object.version())


_COMMANDS: dict[str, _Command] = {
    "EHLO": SMTPProtocol._ehlo_command,
    "HELO": SMTPProtocol._helo_command,
    "MAIL": SMTPProtocol._mail,
    "RCPT": SMTPProtocol._rcpt,
    "DATA": SMTPProtocol._data,
    "RSET": SMTPProtocol._rset,
    "NOOP": SMTPProtocol._noop,
    "QUIT": SMTPProtocol._quit,
    "VRFY": SMTPProtocol._vrfy,
    "EXPN": SMTPProtocol._expn,
    "HELP": SMTPProtocol._help,
    "STARTTLS": SMTPProtocol._starttls,
    "AUTH": SMTPProtocol._auth,
}
