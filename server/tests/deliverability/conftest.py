"""A healthy mail domain on loopback: a real `roost serve`, its zone in Knot (the records
`roost.dnsprovider.records` derives), a PTR, a blocklist zone and the MTA-STS policy over
HTTPS. Tests break one part and look at what the check says."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from roost import config as config_module
from roost.deliverability.context import Context
from roost.deliverability.run import context_from_config
from roost.dkim.keys import split_txt
from roost.dnsprovider import spf
from roost.dnsprovider.plan import RecordSet
from roost.mtasts.fetch import PolicyFetcher
from roost.mtasts.publish import render
from tests.knot import KnotServer, txt
from tests.mtasts.policyserver import PolicyServer
from tests.roostproc import RoostProcess, roost_dev
from tests.testca import TestCA

DOMAIN = "check.test"
HOST = f"mail.{DOMAIN}"
ADDRESS = "127.0.0.1"
#: The policy the mta_sts role serves, and its id (derived from the text, as Roost does).
POLICY = render(DOMAIN, "testing", [HOST], 86400)
#: Blocklist zones: one with nothing listed, one listing 127.0.0.1, one refusing queries.
CLEAN_BL, LISTING_BL, REFUSING_BL = "clean-bl.test", "listing-bl.test", "refusing-bl.test"


def zone_lines(records: list[RecordSet], zone: str) -> list[str]:
    """RecordSets as zone-file lines (SPF sets carry mechanisms, made into one record)."""
    lines = []
    for record_set in records:
        name = record_set.name.removesuffix(zone).rstrip(".") or "@"
        values = record_set.values
        if record_set.is_spf:
            values = (spf.record(values),)
        for value in values:
            rdata = txt(split_txt(value)) if record_set.type == "TXT" else value
            lines.append(f"{name} {record_set.type} {rdata}")
    return lines


@dataclasses.dataclass
class Lab:
    """The parts of one test setup, and the healthy zone to start from."""

    knot: KnotServer
    roost: RoostProcess
    policies: PolicyServer
    ctx: Context

    def healthy_lines(self) -> list[str]:
        return [
            *zone_lines(self.ctx.expected(DOMAIN), DOMAIN),
            f"_mta-sts TXT {txt([POLICY.record])}",
            f"_smtp._tls TXT {txt([f'v=TLSRPTv1; rua=mailto:postmaster@{DOMAIN}'])}",
        ]

    def publish(self, lines: list[str]) -> None:
        self.knot.set_zone(DOMAIN, "\n".join(lines))

    def heal(self) -> None:
        self.publish(self.healthy_lines())
        self.policies.routes.clear()
        self.policies.certs.clear()
        self.policies.serve(DOMAIN, POLICY.text)

    def serve_policy(self, mode: str) -> None:
        """A new policy in MODE served, then its id published, in the mta_sts role's order."""
        policy = render(DOMAIN, mode, [HOST], 86400)
        self.policies.serve(DOMAIN, policy.text)
        lines = [line for line in self.healthy_lines() if not line.startswith("_mta-sts TXT")]
        self.publish([*lines, f"_mta-sts TXT {txt([policy.record])}"])


@pytest.fixture(scope="module")
def lab(knot: KnotServer, test_ca: TestCA) -> Iterator[Lab]:
    untrusted = TestCA("Untrusted Test CA")
    with (
        roost_dev(DOMAIN, nameserver=knot.nameserver) as roost,
        PolicyServer(test_ca, untrusted) as policies,
    ):
        roost.start()
        config = config_module.load(roost.config)
        ctx = context_from_config(config, [ADDRESS], dnsbls=[CLEAN_BL], timeout=5.0)
        ctx = dataclasses.replace(
            ctx,
            fetcher=PolicyFetcher(
                ctx.resolver, ssl_context=test_ca.client_context(), port=policies.port, timeout=5
            ),
            probe_hosts=(ADDRESS,),
            probe_port=roost.port("smtp"),
        )
        knot.set_zone("127.in-addr.arpa", f"1.0.0 PTR {HOST}.")
        knot.set_zone(CLEAN_BL, 'info TXT "nothing listed"')
        knot.set_zone(LISTING_BL, '1.0.0.127 A 127.0.0.2\n1.0.0.127 TXT "listed"')
        knot.set_zone(REFUSING_BL, "1.0.0.127 A 127.255.255.254")
        setup = Lab(knot, roost, policies, ctx)
        setup.heal()
        yield setup


@pytest.fixture
def healthy(lab: Lab) -> Iterator[Lab]:
    """The lab with every record as it should be, again after the test."""
    lab.heal()
    yield lab
    lab.heal()


@pytest.fixture(scope="session")
def test_ca() -> TestCA:
    return TestCA("Roost Check Test CA")
