"""`roost serve`: bind every listener, drop root, then open state and answer until SIGTERM.

The order matters: sockets are bound while still root (ports < 1024), privileges are dropped
before the store or any key is opened, so every file the server creates belongs to the service
user and a compromised session never runs as root.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from roost.checks.pool import CheckPool, InboundChecks, InThreadChecks, default_workers
from roost.config import Config, Endpoint
from roost.control import remove_pidfile, write_pidfile
from roost.delivery.client import tls_contexts
from roost.delivery.deliverer import Deliverer
from roost.dkim.keys import DKIMKeyStore
from roost.dns.resolver import DNSResolver
from roost.imap.unavailable import UnavailableIMAP
from roost.mtasts import MTASTS, PolicyCache, PolicyFetcher
from roost.mtasts.source import MTASTSPolicySource
from roost.passwords import DUMMY_HASH, verify_password
from roost.privileges import drop_to
from roost.queue.bounce import Bouncer
from roost.queue.runner import QueueRunner
from roost.queue.spool import Spool
from roost.smtp.context import SMTPContext
from roost.smtp.limits import AuthThrottle, ConnectionLimiter
from roost.smtp.mx import MXHandler
from roost.smtp.protocol import ProtocolLimits, RoostSMTP
from roost.smtp.submission import SubmissionHandler
from roost.store.addresses import normalize_address
from roost.store.errors import InvalidAddress
from roost.store.sqlite import SQLiteStore
from roost.tlsconfig import server_context
from roost.tlsrpt import StoreReporter, TLSReportStore

log = logging.getLogger("roost.serve")

SHUTDOWN_GRACE = 10.0


@dataclass
class BoundSocket:
    kind: str
    endpoint: Endpoint
    sock: socket.socket


def bind_all(config: Config) -> list[BoundSocket]:
    bound: list[BoundSocket] = []
    try:
        for kind in ("smtp", "submission", "submissions", "imap", "imaps"):
            for endpoint in getattr(config.listeners, kind):
                bound.append(BoundSocket(kind, endpoint, _bind(endpoint)))
    except OSError as exc:
        for entry in bound:
            entry.sock.close()
        raise OSError(exc.errno, f"cannot listen on {endpoint} ({kind}): {exc.strerror}") from None
    return bound


def _bind(endpoint: Endpoint) -> socket.socket:
    family = socket.AF_INET6 if ":" in endpoint.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((endpoint.host, endpoint.port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def password_verifier(store: SQLiteStore) -> Callable[[str, str], str | None]:
    def verify(account: str, password: str) -> str | None:
        try:
            encoded = store.password_hash(account)
        except InvalidAddress:
            encoded = None
        # Unknown accounts cost one Argon2 check too, so timing does not reveal which exist.
        ok = verify_password(encoded or DUMMY_HASH, password)
        return normalize_address(account) if ok and encoded is not None else None

    return verify


def inbound_checks(config: Config, resolver: DNSResolver) -> InboundChecks:
    """The MX's SPF/DKIM/DMARC runner: worker processes unless `[checks] workers = 0`."""
    workers = config.checks.workers
    if workers is None:
        workers = default_workers()
    if workers == 0:
        return InThreadChecks(resolver)
    log.info("running inbound checks in %d worker processes", workers)
    return CheckPool(workers, config.dns.nameservers, config.dns.timeout)


async def serve(config: Config, tls: ssl.SSLContext, bound: list[BoundSocket]) -> None:
    store = SQLiteStore(config.state_dir)
    spool = Spool(config.state_dir)
    resolver = DNSResolver(
        nameservers=list(config.dns.nameservers) if config.dns.nameservers else None,
        timeout=config.dns.timeout,
    )
    verified, _ = tls_contexts(str(config.outbound.ca_file) if config.outbound.ca_file else None)
    policy_cache = PolicyCache(config.state_dir / "mtasts.db")
    tls_reports = TLSReportStore(config.state_dir / "tlsrpt.db")
    mtasts = MTASTS(resolver, policy_cache, PolicyFetcher(resolver, ssl_context=verified))
    deliverer = Deliverer(
        config.hostname,
        resolver,
        config.outbound,
        policies=MTASTSPolicySource(mtasts, tls_reports),
        reporter=StoreReporter(tls_reports),
    )
    runner = QueueRunner(spool, deliverer, Bouncer(config.hostname, spool, store), config.queue)
    context = SMTPContext(
        hostname=config.hostname,
        store=store,
        resolver=resolver,
        dkim_keys=DKIMKeyStore(config.dkim_dir),
        limits=config.limits,
        dmarc=config.dmarc,
        spool=spool,
        wake_queue=runner.wake,
    )
    limits = config.limits
    protocol_limits = ProtocolLimits(
        limits.command_timeout, limits.data_timeout, limits.max_message_size
    )
    connections = ConnectionLimiter(limits.max_connections_per_ip)
    throttle = AuthThrottle(
        limits.auth_failures_per_ip, limits.auth_failures_per_account, limits.auth_failure_window
    )
    checks = inbound_checks(config, resolver)
    await checks.start()
    try:
        mx = MXHandler(context, checks)
        submission = SubmissionHandler(context, password_verifier(store), throttle)

        def smtp_factory(handler: object, **options: bool) -> Callable[[], RoostSMTP]:
            return lambda: RoostSMTP(
                handler,
                hostname=config.hostname,
                limits=protocol_limits,
                connections=connections,
                tls_context=tls,
                **options,
            )

        factories: dict[str, tuple[Callable[[], asyncio.BaseProtocol], ssl.SSLContext | None]] = {
            "smtp": (smtp_factory(mx), None),
            "submission": (
                smtp_factory(submission, require_starttls=True, auth_required=True),
                None,
            ),
            "submissions": (smtp_factory(submission, implicit_tls=True, auth_required=True), tls),
            "imap": (UnavailableIMAP, None),
            "imaps": (UnavailableIMAP, tls),
        }
        loop = asyncio.get_running_loop()
        servers = []
        for entry in bound:
            factory, server_tls = factories[entry.kind]
            servers.append(await loop.create_server(factory, sock=entry.sock, ssl=server_tls))
            log.info("listening on %s (%s)", entry.endpoint, entry.kind)

        queue_task = asyncio.create_task(runner.run())
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
            await asyncio.wait_for(
                asyncio.gather(*(s.wait_closed() for s in servers)), SHUTDOWN_GRACE
            )
        await runner.stop(SHUTDOWN_GRACE)
        queue_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await queue_task
    finally:
        await checks.close()  # also on the way out of a failure: workers outlive no server
    for database in (spool, store, policy_cache, tls_reports):
        database.close()
    remove_pidfile(config)
    log.info("stopped")


def run(config: Config) -> None:
    tls = server_context(config.tls.cert, config.tls.key)
    bound = bind_all(config)
    if drop_to(config.run_as_user, config.run_as_group):
        log.info("dropped privileges to %s", config.run_as_user)
    asyncio.run(serve(config, tls, bound))
