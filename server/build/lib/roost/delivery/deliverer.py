"""Deliver one message to the recipients of one domain: pick the route, apply the TLS policy,
try each host and address in turn, and report an outcome per recipient.

Routing order: a static route for the domain, then the smarthost (when outbound mode is
"smarthost"), then the domain's MX hosts. Relays and routes always get verified TLS unless
configured `tls = "none"` (loopback only).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from roost.config import OutboundConfig, Relay
from roost.delivery.client import Hop, HopError, tls_contexts, transact
from roost.delivery.mx import MXHosts, mx_hosts
from roost.delivery.outcome import Outcome, temporary
from roost.delivery.tlspolicy import (
    OPPORTUNISTIC,
    DestinationPolicy,
    PolicySource,
    TLSReporter,
)
from roost.dns.resolver import DNSError, Resolver

log = logging.getLogger("roost.delivery")

MAX_ADDRESSES_PER_ATTEMPT = 6  # bound the time one attempt can take across many MX addresses


@dataclass
class Deliverer:
    hostname: str
    resolver: Resolver
    outbound: OutboundConfig
    policies: PolicySource | None = None
    reporter: TLSReporter | None = None

    def __post_init__(self) -> None:
        ca_file = str(self.outbound.ca_file) if self.outbound.ca_file else None
        self._verified, self._unverified = tls_contexts(ca_file)

    def _report_failure(
        self, domain: str, policy: DestinationPolicy, result_type: str, host: str, detail: str
    ) -> None:
        if self.reporter is not None and policy.mode != "opportunistic":
            self.reporter.failure(domain, policy, result_type, host, detail)

    async def deliver(
        self, queue_id: str, sender: str, domain: str, recipients: Sequence[str], message: bytes
    ) -> dict[str, Outcome]:
        route = self._relay_for(domain)
        policy = OPPORTUNISTIC
        if route is not None:
            try:
                hops = [_relay_hop(route)]
            except OSError as exc:
                log.error("relay %s: cannot read its password file: %s", route.host, exc)
                broken = temporary(
                    f"relay password file {route.password_file} unreadable ({exc.strerror}); "
                    "it must be readable by the roost user (mode 0600)",
                    "4.7.8",
                )
                return {r: broken for r in recipients}
        else:
            found = await mx_hosts(self.resolver, domain)
            if isinstance(found, Outcome):
                return {r: found for r in recipients}
            if self.policies is not None:
                policy = await self.policies.policy_for(domain)
            hops = self._mx_hops(domain, found, policy)
            if not hops:
                refused = temporary(
                    f"no MX host of {domain} is allowed by its MTA-STS policy", "4.7.5"
                )
                return {r: refused for r in recipients}
        return await self._try_hops(queue_id, sender, domain, recipients, message, hops, policy)

    def _relay_for(self, domain: str) -> Relay | None:
        for route in self.outbound.routes:
            if route.domain == domain:
                return route.relay
        if self.outbound.mode == "smarthost":
            return self.outbound.smarthost
        return None

    def _mx_hops(self, domain: str, found: MXHosts, policy: DestinationPolicy) -> list[Hop]:
        hops = []
        for host in found.hosts:
            if policy.mode != "opportunistic" and not policy.allows(host):
                detail = f"MX {host} is not listed in the {policy.source} policy"
                self._report_failure(domain, policy, "validation-failure", host, detail)
                if policy.mode == "enforce":
                    log.warning("%s: skipped", detail)
                    continue
            verify = policy.mode == "enforce"
            tls = "starttls" if verify else "opportunistic"
            hops.append(Hop(host, self.outbound.mx_port, tls, verify))
        return hops

    async def _try_hops(
        self,
        queue_id: str,
        sender: str,
        domain: str,
        recipients: Sequence[str],
        message: bytes,
        hops: list[Hop],
        policy: DestinationPolicy,
    ) -> dict[str, Outcome]:
        last = temporary(f"no address found for any host of {domain}", "4.4.4")
        tried = 0
        for hop in hops:
            for address in await self._addresses(hop.host):
                if tried >= MAX_ADDRESSES_PER_ATTEMPT:
                    break
                tried += 1
                attempt = hop
                if policy.mode == "testing":  # RFC 8461 §5: try as if enforced, report
                    attempt = Hop(hop.host, hop.port, "starttls", True)
                try:
                    done = await self._transact(attempt, address, sender, recipients, message)
                except HopError as failed:
                    if failed.tls_failure:
                        self._report_failure(
                            domain, policy, failed.tls_failure, hop.host, failed.outcome.text
                        )
                    if failed.tls_failure and policy.mode == "testing":
                        try:  # testing mode: report, then deliver without verification
                            done = await self._transact(hop, address, sender, recipients, message)
                        except HopError as again:
                            last = again.outcome
                            self._log(queue_id, domain, hop, None, again.outcome.text)
                            continue
                    else:
                        last = failed.outcome
                        self._log(queue_id, domain, hop, None, failed.outcome.text)
                        continue
                if self.reporter and policy.mode != "opportunistic" and done.tls_version:
                    self.reporter.success(domain, policy)
                for recipient, outcome in done.outcomes.items():
                    self._log(
                        queue_id, domain, hop, done.tls_version, f"{recipient}: {outcome.text}"
                    )
                return done.outcomes
        return {r: last for r in recipients}

    async def _transact(
        self, hop: Hop, address: str, sender: str, recipients: Sequence[str], message: bytes
    ):  # type: ignore[no-untyped-def]
        return await transact(
            hop,
            address,
            helo=self.hostname,
            sender=sender,
            recipients=recipients,
            message=message,
            verified=self._verified,
            unverified=self._unverified,
        )

    async def _addresses(self, host: str) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        try:
            found = await asyncio.to_thread(self.resolver.a, host)
            found += await asyncio.to_thread(self.resolver.aaaa, host)
        except DNSError as exc:
            log.warning("cannot resolve %s: %s", host, exc)
            return []
        return found

    @staticmethod
    def _log(queue_id: str, domain: str, hop: Hop, tls: str | None, result: str) -> None:
        log.info(
            "delivery %s domain=%s mx=%s:%d tls=%s result=%s",
            queue_id, domain, hop.host, hop.port, tls or "none", result,
        )  # fmt: skip


def _relay_hop(relay: Relay) -> Hop:
    password = None
    if relay.password_file is not None:
        password = Path(relay.password_file).read_text().strip()
    return Hop(
        relay.host,
        relay.port,
        relay.tls,
        verify=relay.tls != "none",
        username=relay.username,
        password=password,
    )
