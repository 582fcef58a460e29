"""What every check is given: the host as configured, the injected resolver, the limits."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from roost.dkim.keys import DKIMKeyStore
from roost.dns.resolver import Resolver
from roost.dnsprovider.plan import RecordSet
from roost.dnsprovider.records import MailDomain, mail_records
from roost.mtasts.fetch import PolicyFetcher
from roost.tlsrpt import TLSReportStore

#: Widely used DNSBLs that answer without registration for low volumes.
DEFAULT_DNSBLS = ("zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org")
#: Real MX hosts the outbound port 25 probe greets (as the relay role's probe does).
DEFAULT_PROBE_HOSTS = ("gmail-smtp-in.l.google.com", "alt1.gmail-smtp-in.l.google.com")
#: Re-publishing is what fixes a record: the play, or the CLI door onto the same code.
REPUBLISH = "re-run site.yml (or `roost dns sync`) to publish it"


@dataclass(frozen=True)
class Context:
    """The host under check and how to look at it.

    ``addresses`` are the VPS's public addresses; when none were given they come from
    the mail host's A/AAAA records (``addresses_from_dns``), which then proves less.
    ``ports`` maps listener kinds (smtp, submission, submissions, imap, imaps) to ports.
    ``relay`` is the smarthost's host name when outbound mail goes through one.
    ``timeout`` bounds each network step; the run's budget is in :mod:`.run`.
    ``tls_reports`` is the TLS-RPT data the server holds (RFC 8460 results of its sessions),
    looked at when a domain's MTA-STS policy is in enforce mode.
    """

    hostname: str
    addresses: tuple[str, ...]
    resolver: Resolver
    dkim: DKIMKeyStore
    fetcher: PolicyFetcher
    cert_path: Path
    ports: Mapping[str, int] = field(default_factory=dict)
    addresses_from_dns: bool = False
    relay: str | None = None
    dnsbls: tuple[str, ...] = DEFAULT_DNSBLS
    probe_hosts: tuple[str, ...] = DEFAULT_PROBE_HOSTS
    probe_port: int = 25
    timeout: float = 10.0
    tls_reports: TLSReportStore | None = None
    clock: Callable[[], float] = time.time

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def expected(self, domain: str) -> list[RecordSet]:
        """The records Roost publishes for DOMAIN (the dns role's own derivation)."""
        ipv4 = next((a for a in self.addresses if ":" not in a), None)
        ipv6 = next((a for a in self.addresses if ":" in a), None)
        spec = MailDomain(
            domain=domain,
            mail_host=self.hostname,
            ipv4=ipv4,
            ipv6=ipv6,
            dkim=[(k.selector, k.dns_value()) for k in self.dkim.current(domain)],
            relay_spf=[f"a:{self.relay}"] if self.relay else (),
        )
        return mail_records(spec)

    def expected_values(self, domain: str, name: str, rtype: str) -> tuple[str, ...]:
        for record_set in self.expected(domain):
            if record_set.name == name and record_set.type == rtype:
                return record_set.values
        return ()
