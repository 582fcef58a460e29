"""One IMAP connection as an asyncio protocol: reading commands, answering, state, timers.

Commands themselves live in `commands_*.py`; this module owns what every command shares:
the session states of RFC 9051 §3, tagged and untagged output with flow control, the points
where other sessions' changes may be announced (§7.5.1), STARTTLS with pipelined input thrown
away (§6.2.1, as RFC 3207 §6 for SMTP), COMPRESS=DEFLATE (RFC 4978), per-IP and per-account
connection caps and the timeouts of §5.4. An error in one command costs a `BAD` or `NO`;
even a bug in a command costs only `NO [SERVERBUG]` for it, and the session goes on.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from roost.imap.capabilities import capabilities
from roost.imap.endpoint import IMAPEndpoint
from roost.imap.errors import BadCommandError, IMAPError, RefusedError
from roost.imap.parser import Command, parse_command, split_tag
from roost.imap.reader import CommandReader, CommandTooBigError
from roost.imap.session import Session, State
from roost.smtp.limits import client_key
from roost.smtp.reader import InputClosedError, LineTooLongError
from roost.store.errors import AlreadyExists, MailboxNotAllowed, NoSuchMailbox, StoreError
from roost.streams import WriteFlow, upgrade_to_tls

log = logging.getLogger("roost.imap")
T = TypeVar("T")

# Commands during which an EXPUNGE must not be sent (RFC 9051 §7.5.1).
_NO_EXPUNGE = frozenset({"FETCH", "STORE", "SEARCH"})
MAX_BAD = 50  # a client past this many BADs in a row is not speaking IMAP
CHANGE_POLL = 1.0  # seconds; see IMAPConnection.announce_changes
_POLLS = frozenset({"NOOP", "CHECK"})  # RFC 9051 §6.1.2: NOOP is how a client polls


class AlreadyAnswered(Exception):  # noqa: N818 - control flow, not a failure
    """The command sent its own tagged OK before changing the connection (TLS, DEFLATE)."""


Handler = Callable[["IMAPConnection", Command], Awaitable[str]]


@dataclass(frozen=True)
class CommandSpec:
    handler: Handler
    states: frozenset[State]


class IMAPConnection(asyncio.Protocol):
    def __init__(self, endpoint: IMAPEndpoint, commands: dict[str, CommandSpec]) -> None:
        self.endpoint = endpoint
        self.commands = commands
        self.session = Session("?", tls=False)
        self.transport: asyncio.Transport | None = None
        self.reader: CommandReader | None = None
        self._out: list[bytes] = []
        self._flow = WriteFlow()
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._closing = False
        self._connected = False
        self._client = ""  # the key its connection counts under (client_key)
        self._inflate: Any = None
        self._deflate: Any = None
        self._unsubscribe: Callable[[], None] | None = None
        self._looked = 0.0  # when the store was last asked what changed
        self.changed = asyncio.Event()  # set when the store reports a change to this user's mail

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        peer = transport.get_extra_info("peername")
        ip = str(peer[0]) if peer else "unknown"
        client = client_key(ip)
        refused = self.endpoint.connections.acquire(client)
        if refused:
            log.warning("refused %s: %s", ip, refused)
            if self.endpoint.implicit_tls is None:  # no clear text where TLS is expected
                transport.write(b"* BYE [UNAVAILABLE] Too many connections from your host\r\n")
            transport.close()
            return
        self._client = client
        if self.endpoint.implicit_tls is not None:
            transport.pause_reading()  # the ClientHello is for the TLS layer, not for us
        self._connected = True
        self.transport = transport
        self.reader = CommandReader(transport)
        tls = transport.get_extra_info("ssl_object") is not None
        self.session = Session(ip, tls=tls)
        self._task = asyncio.get_running_loop().create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        if self.reader is None:
            return
        if self._inflate is not None:
            try:
                data = self._inflate.decompress(data)
            except zlib.error:
                log.info("bad DEFLATE data from %s", self.session.peer_ip)
                self._abort()
                return
        self.reader.feed(data)

    def eof_received(self) -> bool:
        if self.reader is not None:
            self.reader.feed_eof()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._connected:
            return
        self._connected = False
        self.endpoint.connections.release(self._client)
        if self.session.user is not None:
            self.endpoint.users.release(self.session.user)
        if self._unsubscribe is not None:
            self._unsubscribe()
        assert self.reader is not None
        self.reader.feed_eof()
        self._closing = True
        self.cancel_timer()
        self._flow.release()

    def pause_writing(self) -> None:
        self._flow.pause()

    def resume_writing(self) -> None:
        self._flow.resume()

    # the conversation

    async def _serve(self) -> None:
        assert self.reader is not None
        bad_in_a_row = 0
        try:
            implicit = self.endpoint.implicit_tls
            if implicit is not None and not await self._handshake(implicit):
                return
            self.send(
                f"* OK [CAPABILITY {self.capabilities()}] {self.endpoint.hostname} Roost ready"
            )
            while not self._closing:
                if not self.reader.has_line():
                    await self.flush()
                raw = await self._next_command()
                if raw is None:
                    bad_in_a_row += 1
                else:
                    ok = await self._run(raw)
                    bad_in_a_row = 0 if ok else bad_in_a_row + 1
                if bad_in_a_row >= MAX_BAD:
                    self.send("* BYE Too many invalid commands")
                    break
        except InputClosedError:
            pass
        except Exception:
            log.exception("IMAP session with %s failed", self.session.peer_ip)
            self.send("* BYE [SERVERBUG] Internal error, closing the connection")
        finally:
            self._closing = True
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None
            await self.flush()
            if self.transport is not None:
                self.transport.close()

    def _timeout(self) -> float:
        limits = self.endpoint.limits
        if self.session.state is State.NOT_AUTHENTICATED:
            return limits.login_timeout
        return limits.idle_timeout

    async def _next_command(self) -> bytes | None:
        """The next command's bytes, or None after answering one that broke a limit."""
        assert self.reader is not None
        self.arm(self._timeout())
        try:
            return await self.reader.command(self.endpoint.limits.read, self._go_ahead)
        except CommandTooBigError as exc:
            tag = _tag_or_star(exc.head)
            if exc.literal:
                self.send_raw(RefusedError("Literal too big", "TOOBIG").response(tag))
            else:
                self.send_raw(BadCommandError("Line too long").response(tag))
            return None
        finally:
            self.cancel_timer()

    async def _go_ahead(self) -> None:
        self.send("+ Ready for literal data")
        await self.flush()

    async def _run(self, raw: bytes) -> bool:
        """Run one command; False if it was answered BAD."""
        tag = _tag_or_star(raw)
        try:
            command = parse_command(raw)
            spec = self.commands.get(command.name)
            if spec is None:
                raise BadCommandError(f"unknown command {command.name[:30]}")
            if self.session.state not in spec.states:
                raise BadCommandError(_wrong_state(self.session.state))
            text = await spec.handler(self, command)
            await self.announce_changes(
                allow_expunge=_expunge_allowed(command),
                force=command.name in _POLLS,  # a client polling must always get the news
            )
            self.send(f"{command.tag} OK {text}")
            return True
        except AlreadyAnswered:
            return True
        except IMAPError as error:
            self.send_raw(error.response(tag))
            return error.status != "BAD"
        except NoSuchMailbox:
            self.send_raw(RefusedError("No such mailbox", "NONEXISTENT").response(tag))
        except AlreadyExists:
            self.send_raw(RefusedError("Mailbox exists already", "ALREADYEXISTS").response(tag))
        except MailboxNotAllowed as exc:  # e.g. deleting INBOX: the store says why
            self.send_raw(RefusedError(_first_line(exc), "CANNOT").response(tag))
        except StoreError as exc:
            log.info("IMAP %s from %s: %s", raw[:40], self.session.peer_ip, exc)
            self.send_raw(RefusedError(_first_line(exc)).response(tag))
        except (InputClosedError, asyncio.CancelledError):
            raise
        except Exception:
            # A bug in one command: that command fails, the session and the server go on.
            log.exception("IMAP command %r from %s failed", raw[:60], self.session.peer_ip)
            self.send_raw(RefusedError("Internal error", "SERVERBUG").response(tag))
        return True

    # output

    def send(self, line: str) -> None:
        self._out.append(line.encode("utf-8", "replace") + b"\r\n")

    def send_raw(self, data: bytes) -> None:
        self._out.append(data)

    async def flush(self) -> None:
        """Write what was collected in one go, then wait while the client is slow to read."""
        if self._out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(self._pending_output())
        self._out.clear()
        try:
            await self._flow.drained(self.endpoint.limits.idle_timeout)
        except TimeoutError:
            log.info("closing the session with %s: it does not read", self.session.peer_ip)
            self._closing = True
            if self.transport is not None:
                self.transport.abort()
            raise InputClosedError from None

    # state changes the commands ask for

    def logged_in(self, user: str) -> None:
        if self.endpoint.users.acquire(user):
            raise RefusedError("Too many sessions for this account", "LIMIT")
        self.session.user = user
        self.session.state = State.AUTHENTICATED
        self._unsubscribe = self.endpoint.store.changes.subscribe(user, self.changed.set)

    def close_session(self) -> None:
        self.session.state = State.LOGOUT
        self._closing = True

    async def store_call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Store work off the event loop: SQLite and fsync may block (ARCHITECTURE: nothing
        slow runs on the event loop)."""
        return await asyncio.to_thread(function, *args, **kwargs)

    async def announce_changes(self, allow_expunge: bool = True, force: bool = False) -> None:
        """Send what other sessions changed in the selected mailbox (RFC 9051 §7.5.1 points).

        The store is asked only when the change feed said something changed, when expunges
        wait to be announced, or when the last look is older than `CHANGE_POLL` (writers in
        other processes do not reach this process's feed): a client pipelining many small
        commands costs no query per command.
        """
        selected = self.session.selected
        if selected is None or self.session.user is None:
            self.changed.clear()
            return
        now = time.monotonic()
        waiting = bool(selected.pending_expunge) and allow_expunge
        if not (force or self.changed.is_set() or waiting or now - self._looked > CHANGE_POLL):
            return
        self.changed.clear()
        self._looked = now
        try:
            changes = await self.store_call(
                self.endpoint.store.changes_since,
                self.session.user,
                selected.name,
                selected.highestmodseq,
            )
        except NoSuchMailbox:
            changes = None
        if changes is None or changes.uidvalidity != selected.uidvalidity:
            # Deleted or renamed under us: nothing we could say keeps the numbers meaningful.
            self.send("* BYE [CLOSED] The selected mailbox was deleted or renamed")
            self.close_session()
            return
        for line in selected.catch_up(changes, allow_expunge):
            self.send_raw(line)

    async def start_tls(self, context: ssl.SSLContext) -> None:
        assert self.reader is not None and self.transport is not None
        await self.flush()
        dropped = self.reader.discard()
        if dropped:
            # RFC 9051 §6.2.1: commands pipelined after STARTTLS came in clear text and could
            # have been injected; they must not run inside TLS.
            log.info("dropped %d bytes sent after STARTTLS by %s", dropped, self.session.peer_ip)
        await self._handshake(context)

    async def _handshake(self, context: ssl.SSLContext) -> bool:
        """TLS on this connection: after STARTTLS on 143, or first thing on 993 (RFC 8314),
        where the connection was counted against its client before the handshake began."""
        assert self.reader is not None and self.transport is not None
        transport = await upgrade_to_tls(
            self.transport,
            self,
            context,
            self.endpoint.limits.login_timeout,
            self.session.peer_ip,
        )
        if transport is None:
            self._closing = True
            return False
        self.transport = transport
        self.reader.set_transport(transport)
        self.session.tls = True
        return True

    async def start_compression(self) -> None:
        """RFC 4978 §3: everything after the tagged OK is raw DEFLATE both ways."""
        await self.flush()
        self._deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        self._inflate = zlib.decompressobj(-15)
        assert self.reader is not None
        pending = self.reader.discard()
        if pending:  # RFC 4978 §3: the client waits for the OK before compressing
            log.info(
                "dropped %d bytes pipelined after COMPRESS by %s", pending, self.session.peer_ip
            )

    @property
    def compressed(self) -> bool:
        return self._deflate is not None

    async def read_line(self) -> bytes:
        """A raw line (AUTHENTICATE responses, IDLE's DONE), under the session's timeout."""
        assert self.reader is not None
        await self.flush()
        self.arm(self._timeout())
        try:
            return await self.reader.readline(self.endpoint.limits.read.max_line)
        except LineTooLongError:
            raise BadCommandError("Line too long") from None
        finally:
            self.cancel_timer()

    def line_waiting(self) -> bool:
        return self.reader is not None and self.reader.has_line()

    def capabilities(self) -> str:
        return capabilities(self.session, self.endpoint, compressed=self.compressed)

    # timers

    def arm(self, timeout: float) -> None:
        self.cancel_timer()
        self._timer = asyncio.get_running_loop().call_later(timeout, self._timed_out)

    def cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        log.info("IMAP timeout: closing the session with %s", self.session.peer_ip)
        self.send("* BYE Autologout; idle for too long")
        self._closing = True
        self._abort()

    def _abort(self) -> None:
        if self.transport is not None:
            if self._out:
                self.transport.write(self._pending_output())
            self.transport.close()

    def _pending_output(self) -> bytes:
        """What was collected, compressed if COMPRESS is on; the collection is emptied."""
        data = b"".join(self._out)
        self._out.clear()
        if self._deflate is not None:
            data = self._deflate.compress(data) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
        return data


def _expunge_allowed(command: Command) -> bool:
    return command.name not in _NO_EXPUNGE


def _tag_or_star(raw: bytes) -> str:
    try:
        return split_tag(raw)[0]
    except IMAPError:
        return "*"


def _wrong_state(state: State) -> str:
    if state is State.NOT_AUTHENTICATED:
        return "Log in first (LOGIN or AUTHENTICATE)"
    if state is State.AUTHENTICATED:
        return "Select a mailbox first (SELECT or EXAMINE)"
    return "Not allowed in this state"


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
