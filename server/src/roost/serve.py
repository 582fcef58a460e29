"""`roost serve`: bind every listener, drop root, then open state and answer until SIGTERM.

The order matters: sockets are bound while still root (ports < 1024), privileges are dropped
before the store or any key is opened, so every file the server creates belongs to the service
user and a compromised session never runs as root.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from roost.authcache import CredentialCache
from roost.checks.pool import InboundChecks
from roost.config import Config, Endpoint
from roost.control import remove_pidfile, write_pidfile
from roost.imap.endpoint import IMAPEndpoint, IMAPLimits
from roost.imap.reader import ReadLimits
from roost.imap.server import imap_factory
from roost.maintenance import housekeeping
from roost.privileges import check_interpreter, drop_to
from roost.services import Services, inbound_checks, password_verifier
from roost.smtp.auth import Authenticator
from roost.smtp.limits import AuthThrottle, ByteBudget, ConnectionLimiter
from roost.smtp.mx import MXHandler
from roost.smtp.protocol import Handler, ProtocolLimits, SMTPEndpoint, SMTPProtocol
from roost.smtp.spooled import incoming_dir
from roost.smtp.submission import SubmissionHandler
from roost.tlsconfig import server_context

log = logging.getLogger("roost.serve")

SHUTDOWN_GRACE = 10.0


@dataclass
class BoundSocket:
    kind: str
    endpoint: Endpoint
    sock: socket.socket


class ListenError(Exception):
    pass


def bind_all(config: Config) -> list[BoundSocket]:
    bound: list[BoundSocket] = []
    try:
        for kind in ("smtp", "submission", "submissions", "imap", "imaps"):
            for endpoint in getattr(config.listeners, kind):
                bound.append(BoundSocket(kind, endpoint, _bind(endpoint)))
    except OSError as exc:
        for entry in bound:
            entry.sock.close()
        if isinstance(exc, PermissionError):
            hint = "start roost as root (it drops privileges after binding) or use a port > 1023"
        elif exc.errno == errno.EADDRINUSE:
            hint = f"another server listens there; stop it or change listeners.{kind}"
        else:
            hint = f"check listeners.{kind} in the config"
        raise ListenError(f"cannot listen on {endpoint} ({kind}): {exc.strerror}; {hint}") from None
    return bound


def _bind(endpoint: Endpoint) -> socket.socket:
    family = socket.AF_INET6 if ":" in endpoint.host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose
    # proto says TCP, and accepted sockets inherit it; with proto 0 a reply written in two
    # pieces waited for the client's delayed ACK (40 ms per IMAP FETCH).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((endpoint.host, endpoint.port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve(config: Config, tls: ssl.SSLContext, bound: list[BoundSocket]) -> None:
    services = Services.open(config)
    checks = inbound_checks(config, services.resolver)
    try:
        await checks.start()
        servers = await listen(config, tls, bound, services, checks)
        await run_until_stopped(config, services, servers)
    finally:
        await checks.close()  # also on the way out of a failure: workers outlive no server
        services.close()
    remove_pidfile(config)
    log.info("stopped")


async def listen(
    config: Config,
    tls: ssl.SSLContext,
    bound: list[BoundSocket],
    services: Services,
    checks: InboundChecks,
) -> list[asyncio.Server]:
    limits = config.limits
    protocol_limits = ProtocolLimits(
        limits.command_timeout,
        limits.data_timeout,
        limits.max_message_size,
        ByteBudget(limits.max_bytes_in_flight),
        incoming_dir(config.state_dir),
    )
    connections = ConnectionLimiter(limits.max_connections_per_ip, limits.max_connections)
    throttle = AuthThrottle(
        limits.auth_failures_per_ip, limits.auth_failures_per_account, limits.auth_failure_window
    )
    # One verifier, throttle and cache for SMTP AUTH and IMAP: a guess counts wherever it is made.
    credentials = CredentialCache(limits.auth_cache_ttl)
    authenticator = Authenticator(password_verifier(services.store, credentials), throttle)
    mx = MXHandler(services.smtp, checks)
    submission = SubmissionHandler(services.smtp)

    def smtp(handler: Handler, **options: Any) -> Callable[[], SMTPProtocol]:
        endpoint = SMTPEndpoint(
            hostname=config.hostname,
            handler=handler,
            limits=protocol_limits,
            connections=connections,
            **options,
        )
        return lambda: SMTPProtocol(endpoint)

    imap_limits = IMAPLimits(
        read=ReadLimits(
            max_line=limits.imap_max_line,
            max_literal=limits.max_message_size,
            max_command=limits.max_message_size + limits.imap_max_line,
        ),
        login_timeout=limits.imap_login_timeout,
        idle_timeout=limits.imap_idle_timeout,
        fetch_batch=limits.imap_fetch_batch,
    )
    users = ConnectionLimiter(limits.imap_connections_per_user, limits.max_connections)

    def imap(
        tls_context: ssl.SSLContext | None, implicit_tls: ssl.SSLContext | None = None
    ) -> Callable[[], asyncio.BaseProtocol]:
        return imap_factory(
            IMAPEndpoint(
                hostname=config.hostname,
                store=services.store,
                authenticator=authenticator,
                limits=imap_limits,
                connections=connections,
                users=users,
                tls_context=tls_context,
                implicit_tls=implicit_tls,
                max_message_size=limits.max_message_size,
            )
        )

    submit = {"authenticator": authenticator}
    factories: dict[str, tuple[Callable[[], asyncio.BaseProtocol], ssl.SSLContext | None]] = {
        "smtp": (smtp(mx, tls_context=tls), None),
        "submission": (smtp(submission, tls_context=tls, require_starttls=True, **submit), None),
        # On 465 the session does the TLS handshake itself, after counting the connection.
        "submissions": (smtp(submission, tls_context=None, implicit_tls=tls, **submit), None),
        "imap": (imap(tls), None),
        # 993 likewise: the session does the handshake after counting the connection.
        "imaps": (imap(None, implicit_tls=tls), None),
    }
    loop = asyncio.get_running_loop()
    servers = []
    for entry in bound:
        factory, server_tls = factories[entry.kind]
        servers.append(await loop.create_server(factory, sock=entry.sock, ssl=server_tls))
        log.info("listening on %s (%s)", entry.endpoint, entry.kind)
    return servers


async def run_until_stopped(
    config: Config, services: Services, servers: list[asyncio.Server]
) -> None:
    """Deliver the queue and serve until SIGTERM/SIGINT, then stop taking connections and
    give sessions and deliveries in flight a grace period."""
    loop = asyncio.get_running_loop()
    runner = services.runner
    queue_task = asyncio.create_task(runner.run())
    chores = asyncio.create_task(housekeeping(services.mtasts, services.policies, services.reports))
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, runner.wake)
    write_pidfile(config)
    log.info("roost ready as %s", config.hostname)
    await stop.wait()
    log.info("stopping: no new connections, waiting up to %.0fs for sessions", SHUTDOWN_GRACE)
    for server in servers:
        server.close()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(s.wait_closed() for s in servers)), SHUTDOWN_GRACE)
    await runner.stop(SHUTDOWN_GRACE)
    for task in (queue_task, chores):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def run(config: Config) -> None:
    tls = server_context(config.tls.cert, config.tls.key)
    bound = bind_all(config)
    check_interpreter(config.run_as_user, config.run_as_group)
    if drop_to(config.run_as_user, config.run_as_group):
        log.info("dropped privileges to %s", config.run_as_user)
    asyncio.run(serve(config, tls, bound))
