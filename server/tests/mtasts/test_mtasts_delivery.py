"""MTA-STS through the delivery code: the real deliverer, a real Postfix as the MX, policies
from a real HTTPS server, DNS from Knot, results in the TLS-RPT store.

Each case is one row: the policy published, how the MX is set up, and what must happen to
the mail (delivered or deferred, never sent in clear under `enforce`, RFC 8461 §5) and to the
TLS report (RFC 8460 §4.3).
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from roost.config import OutboundConfig
from roost.delivery.deliverer import Deliverer
from roost.dns.resolver import DNSResolver
from roost.mtasts import MTASTS
from roost.mtasts.source import MTASTSPolicySource
from roost.tlsrpt import StoreReporter, TLSReportStore
from tests.knot import KnotServer
from tests.mtasts.policyserver import PolicyServer
from tests.mtasts.support import ENFORCE, TESTING
from tests.postfix import PostfixPeer

MESSAGE = b"From: a@roost.test\r\nTo: b@x\r\nSubject: sts\r\n\r\nhello\r\n"


@dataclass(frozen=True)
class Case:
    name: str
    policy: str
    mx: str  # the MX host name published in DNS (the policy lists mail.<domain>)
    starttls: bool = True  # does the MX offer STARTTLS
    trust_mx_ca: bool = True  # does the deliverer trust the MX certificate's CA
    policy_cert: str = "good"  # the policy host's certificate (PolicyServer.certs)
    delivered: bool = True
    failures: tuple[str, ...] = ()
    successes: int = 0


CASES = [
    Case("enforce-match", ENFORCE, "mail", successes=1),
    Case("enforce-mismatch", ENFORCE, "smtp", delivered=False, failures=("validation-failure",)),
    Case(
        "enforce-nostarttls", ENFORCE, "mail", starttls=False, delivered=False,
        failures=("starttls-not-supported",),
    ),
    Case(
        "enforce-untrusted", ENFORCE, "mail", trust_mx_ca=False, delivered=False,
        failures=("validation-failure",),
    ),
    Case("bad-policy-cert", ENFORCE, "mail", policy_cert="expired",
         failures=("sts-webpki-invalid",)),
    Case("testing-nostarttls", TESTING, "mail", starttls=False,
         failures=("starttls-not-supported",)),
]  # fmt: skip


def _report(store: TLSReportStore, domain: str) -> tuple[list[str], int]:
    today = datetime.datetime.now(datetime.UTC).date()
    policies = store.report(domain, today)["policies"]
    failures = [d["result-type"] for p in policies for d in p.get("failure-details", [])]
    successes = sum(p["summary"]["total-successful-session-count"] for p in policies)
    return failures, successes


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_mta_sts_at_delivery(
    case: Case,
    knot: KnotServer,
    mtasts: MTASTS,
    publish: Callable[..., None],
    policy_server: PolicyServer,
    tmp_path: Path,
) -> None:
    domain = f"deliver-{case.name}.mtasts.test"
    main_cf = {} if case.starttls else {"smtpd_tls_security_level": "none"}
    with PostfixPeer([domain], hostname=f"{case.mx}.{domain}", main_cf=main_cf) as peer:
        publish(domain, "v=STSv1; id=1", extra=f"@ MX 10 {case.mx}\n{case.mx} A 127.0.0.1")
        policy_server.serve(domain, case.policy.format(d=domain))
        policy_server.certs[f"mta-sts.{domain}"] = case.policy_cert
        store = TLSReportStore(tmp_path / "tlsrpt.sqlite")
        outbound = OutboundConfig(
            mx_port=peer.smtp_port, ca_file=peer.ca_cert if case.trust_mx_ca else None
        )
        deliverer = Deliverer(
            hostname="out.roost.test",
            resolver=DNSResolver([knot.nameserver], timeout=5),
            outbound=outbound,
            policies=MTASTSPolicySource(mtasts, store),
            reporter=StoreReporter(store),
        )
        rcpt = f"b@{domain}"
        outcomes = asyncio.run(deliverer.deliver("q1", "a@roost.test", domain, [rcpt], MESSAGE))
        assert outcomes[rcpt].kind == ("delivered" if case.delivered else "temporary")
        if case.delivered:
            (received,) = peer.wait_for(rcpt)
            if case.starttls:
                assert b"with ESMTPS" in received
        else:
            assert peer.count() == 0  # deferred: nothing, not even in clear text
        assert _report(store, domain) == (list(case.failures), case.successes)
