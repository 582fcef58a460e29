"""Every check in order, under one time budget, from the server's own configuration."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial

from roost.config import Config
from roost.deliverability.certificate import check_certificate
from roost.deliverability.context import DEFAULT_DNSBLS, DEFAULT_PROBE_HOSTS, Context
from roost.deliverability.dkimcheck import check_dkim
from roost.deliverability.dnsbl import check_dnsbls
from roost.deliverability.dnsrecords import (
    check_addresses,
    check_mx,
    check_ptr,
)
from roost.deliverability.mtastscheck import check_mta_sts
from roost.deliverability.policycheck import check_dmarc, check_tlsrpt
from roost.deliverability.ports import check_outbound, check_ports
from roost.deliverability.relaytest import check_open_relay
from roost.deliverability.report import Finding, failed, warned
from roost.deliverability.spfcheck import check_spf
from roost.delivery.client import tls_contexts
from roost.dkim.keys import DKIMKeyStore
from roost.dns.resolver import DNSError, DNSResolver
from roost.dnsprovider.ptr import addresses_of
from roost.mtasts.fetch import PolicyFetcher
from roost.tlsrpt import TLSReportStore

HOST_CHECKS: tuple[tuple[str, Callable[[Context], list[Finding]]], ...] = (
    ("a/aaaa", check_addresses),
    ("ptr", check_ptr),
    ("certificate", check_certificate),
    ("ports", check_ports),
    ("open relay", check_open_relay),
    ("outbound 25", check_outbound),
    ("dnsbl", check_dnsbls),
)
DOMAIN_CHECKS: tuple[tuple[str, Callable[[Context, str], list[Finding]]], ...] = (
    ("mx", check_mx),
    ("spf", check_spf),
    ("dkim", check_dkim),
    ("dmarc", check_dmarc),
    ("mta-sts", check_mta_sts),
    ("tls-rpt", check_tlsrpt),
)
DEFAULT_BUDGET = 180.0


def run(
    ctx: Context,
    domains: Sequence[str],
    budget: float = DEFAULT_BUDGET,
    monotonic: Callable[[], float] = time.monotonic,
) -> list[Finding]:
    """All findings, host first, then each domain.

    Each network step has its own timeout (``ctx.timeout``, the resolver's); once the
    budget is spent, the checks not yet started fail as not run.
    """
    if not domains:
        return [
            failed(
                ctx.hostname,
                "domains",
                "no hosted domains to check",
                "add one: roost_domains in the inventory, or `roost domain add`",
            )
        ]
    steps: list[tuple[str, str, Callable[[], list[Finding]]]] = [
        (ctx.hostname, name, partial(check, ctx)) for name, check in HOST_CHECKS
    ]
    steps += [
        (domain, name, partial(check, ctx, domain))
        for domain in domains
        for name, check in DOMAIN_CHECKS
    ]
    deadline = monotonic() + budget
    findings: list[Finding] = []
    for subject, name, step in steps:
        if monotonic() >= deadline:
            # Not checked is not healthy: monitoring must not read a silent gap as a pass.
            findings.append(
                failed(
                    subject,
                    name,
                    f"not run: the time budget of {budget:g} s was spent",
                    "look for the timeouts among the checks above, or give a larger --budget",
                )
            )
            continue
        try:
            findings += step()
        except DNSError as err:
            findings.append(warned(subject, name, f"DNS failed: {err}", "check the DNS"))
    return findings


def context_from_config(
    config: Config,
    addresses: Sequence[str] = (),
    *,
    dnsbls: Sequence[str] = DEFAULT_DNSBLS,
    probe_hosts: Sequence[str] = DEFAULT_PROBE_HOSTS,
    timeout: float = 10.0,
    tls_reports: TLSReportStore | None = None,
) -> Context:
    """The check's view of this server: its resolver, keys, certificate, listeners, relay,
    and the TLS-RPT results it holds."""
    resolver = DNSResolver(
        list(config.dns.nameservers) if config.dns.nameservers else None,
        timeout=min(config.dns.timeout, timeout),
    )
    ca_file = str(config.outbound.ca_file) if config.outbound.ca_file else None
    verified, _ = tls_contexts(ca_file)
    listeners = config.listeners
    ports = {
        kind: endpoints[0].port
        for kind in ("smtp", "submission", "submissions", "imap", "imaps")
        if (endpoints := getattr(listeners, kind))
    }
    smarthost = config.outbound.smarthost if config.outbound.mode == "smarthost" else None
    hostname = config.hostname.lower().rstrip(".")
    ctx = Context(
        hostname=hostname,
        addresses=tuple(addresses),
        resolver=resolver,
        dkim=DKIMKeyStore(config.dkim_dir),
        fetcher=PolicyFetcher(resolver, ssl_context=verified, timeout=timeout),
        cert_path=config.tls.cert,
        ports=ports,
        relay=smarthost.host if smarthost else None,
        dnsbls=tuple(dnsbls),
        probe_hosts=tuple(probe_hosts),
        timeout=timeout,
        tls_reports=tls_reports,
    )
    if addresses:
        return ctx
    from_dns = tuple(sorted(addresses_of(ctx.resolver, hostname)))
    return Context(**{**vars(ctx), "addresses": from_dns, "addresses_from_dns": True})
