"""Everything `roost serve` runs on, opened once after privileges are dropped: the store, the
queue and its runner, the MTA-STS and TLS-RPT databases, and what the SMTP endpoints share.
Closing it closes every database, so nothing is left half-open on the way out."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from roost.authcache import CredentialCache
from roost.checks.pool import CheckPool, InboundChecks, InThreadChecks, default_workers
from roost.config import Config
from roost.delivery.client import tls_contexts
from roost.delivery.deliverer import Deliverer
from roost.dkim.keys import DKIMKeyStore
from roost.dns.resolver import DNSResolver
from roost.mtasts import MTASTS, PolicyCache, PolicyFetcher
from roost.mtasts.source import MTASTSPolicySource
from roost.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password
from roost.queue.bounce import Bouncer
from roost.queue.runner import QueueRunner
from roost.queue.spool import Spool
from roost.smtp.context import SMTPContext
from roost.sqlitedb import Database
from roost.store.addresses import normalize_address
from roost.store.errors import InvalidAddress
from roost.store.sqlite import SQLiteStore
from roost.store.writer import DeliveryWriter
from roost.tlsrpt import StoreReporter, TLSReportStore
from roost.tlsrpt.store import DB_NAME as TLSRPT_DB

log = logging.getLogger("roost.serve")


@dataclass
class Services:
    store: SQLiteStore
    resolver: DNSResolver
    runner: QueueRunner
    smtp: SMTPContext
    mtasts: MTASTS
    policies: PolicyCache
    reports: TLSReportStore
    databases: tuple[Database, ...]

    @classmethod
    def open(cls, config: Config) -> Services:
        store = SQLiteStore(config.state_dir)
        spool = Spool(config.state_dir)
        resolver = DNSResolver(
            nameservers=list(config.dns.nameservers) if config.dns.nameservers else None,
            timeout=config.dns.timeout,
        )
        ca_file = str(config.outbound.ca_file) if config.outbound.ca_file else None
        verified, _ = tls_contexts(ca_file)
        policy_cache = PolicyCache(config.state_dir / "mtasts.db")
        tls_reports = TLSReportStore(config.state_dir / TLSRPT_DB)
        mtasts = MTASTS(resolver, policy_cache, PolicyFetcher(resolver, ssl_context=verified))
        deliverer = Deliverer(
            config.hostname,
            resolver,
            config.outbound,
            policies=MTASTSPolicySource(mtasts, tls_reports),
            reporter=StoreReporter(tls_reports),
        )
        bouncer = Bouncer(config.hostname, spool, store)
        runner = QueueRunner(spool, deliverer, bouncer, config.queue)
        smtp = SMTPContext(
            hostname=config.hostname,
            store=store,
            writer=DeliveryWriter(store),
            dkim_keys=DKIMKeyStore(config.dkim_dir),
            limits=config.limits,
            dmarc=config.dmarc,
            spool=spool,
            wake_queue=runner.wake,
        )
        return cls(
            store,
            resolver,
            runner,
            smtp,
            mtasts,
            policy_cache,
            tls_reports,
            (spool, store, policy_cache, tls_reports),
        )

    def close(self) -> None:
        self.smtp.writer.close()  # its last batch still needs the store
        for database in self.databases:
            database.close()


def password_verifier(
    store: SQLiteStore, cache: CredentialCache | None = None
) -> Callable[[str, str], str | None]:
    """The password check SMTP AUTH and IMAP share; `cache` skips Argon2 for a password
    verified recently against the same stored hash (authcache.py)."""

    def verify(account: str, password: str) -> str | None:
        try:
            encoded = store.password_hash(account)
            address = normalize_address(account)
        except InvalidAddress:
            encoded = None
        if encoded is not None and cache is not None and cache.verified(address, password, encoded):
            return address
        # Unknown accounts cost one Argon2 check too, so timing does not reveal which exist.
        ok = verify_password(encoded or DUMMY_HASH, password)
        if not ok or encoded is None:
            return None
        if needs_rehash(encoded):  # stored with older Argon2 parameters: upgrade it now
            encoded = hash_password(password)
            store.set_password(account, encoded)
        if cache is not None:
            cache.remember(address, password, encoded)
        return address

    return verify


def inbound_checks(config: Config, resolver: DNSResolver) -> InboundChecks:
    """The MX's SPF/DKIM/DMARC runner: worker processes unless `[checks] workers = 0`."""
    workers = config.checks.workers
    if workers is None:
        workers = default_workers()
    if workers == 0:
        return InThreadChecks(resolver, config.checks)
    log.info("running inbound checks in %d worker processes", workers)
    return CheckPool(workers, config.dns.nameservers, config.dns.timeout, config.checks)
