"""MTA-STS through the delivery seam: the deliverer, a real SMTP peer, the TLS-RPT store.

The peer is aiosmtpd on loopback *without* STARTTLS, the worst case MTA-STS exists
for: under ``enforce`` nothing may reach it (RFC 8461 §4.2, §5), and each refusal
is recorded for TLS-RPT (RFC 8460).
"""

from __future__ import annotations

import asyncio
import datetime
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from roost.config import OutboundConfig
from roost.delivery.deliverer import Deliverer
from roost.dns.resolver import DNSResolver
from roost.mtasts import MTASTS
from roost.mtasts.source import MTASTSPolicySource
from roost.tlsrpt import StoreReporter, TLSReportStore
from tests.knot import KnotServer
from tests.mtasts.policyserver import PolicyServer
from tests.mtasts.support import ENFORCE, TESTING

MESSAGE = b"From: a@roost.test\r\nTo: b@x\r\nSubject: sts\r\n\r\nhello\r\n"


class _Sink:
    def __init__(self) -> None:
        self.received: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope)
        return "250 OK"


@pytest.fixture
def plain_peer() -> Iterator[tuple[int, _Sink]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, sink
    finally:
        controller.stop()


def _deliver(
    knot: KnotServer, mtasts: MTASTS, store: TLSReportStore, port: int, domain: str
) -> dict[str, Any]:
    deliverer = Deliverer(
        hostname="out.roost.test",
        resolver=DNSResolver([knot.nameserver], timeout=5),
        outbound=OutboundConfig(mx_port=port),
        policies=MTASTSPolicySource(mtasts, store),
        reporter=StoreReporter(store),  # type: ignore[arg-type]
    )
    return asyncio.run(deliverer.deliver("q1", "a@roost.test", domain, [f"b@{domain}"], MESSAGE))


def _failures(store: TLSReportStore, domain: str) -> list[str]:
    today = datetime.datetime.now(datetime.UTC).date()
    return [
        detail["result-type"]
        for policy in store.report(domain, today)["policies"]
        for detail in policy.get("failure-details", [])
    ]


def test_enforce_with_mismatched_mx_defers_without_connecting(
    knot: KnotServer,
    mtasts: MTASTS,
    publish: Callable[..., None],
    policy_server: PolicyServer,
    plain_peer: tuple[int, _Sink],
    tmp_path: Path,
) -> None:
    domain = "deliver-mismatch.mtasts.test"
    publish(domain, "v=STSv1; id=1", extra="@ MX 10 smtp\nsmtp A 127.0.0.1")
    policy_server.serve(domain, ENFORCE.format(d=domain))
    store = TLSReportStore(tmp_path / "tlsrpt.sqlite")
    port, sink = plain_peer
    [outcome] = _deliver(knot, mtasts, store, port, domain).values()
    assert outcome.kind == "temporary" and outcome.status == "4.7.5"
    assert sink.received == []
    assert _failures(store, domain) == ["validation-failure"]


def test_enforce_without_starttls_is_never_sent_in_clear(
    knot: KnotServer,
    mtasts: MTASTS,
    publish: Callable[..., None],
    policy_server: PolicyServer,
    plain_peer: tuple[int, _Sink],
    tmp_path: Path,
) -> None:
    domain = "deliver-nostarttls.mtasts.test"
    publish(domain, "v=STSv1; id=1", extra="@ MX 10 mail\nmail A 127.0.0.1")
    policy_server.serve(domain, ENFORCE.format(d=domain))
    store = TLSReportStore(tmp_path / "tlsrpt.sqlite")
    port, sink = plain_peer
    [outcome] = _deliver(knot, mtasts, store, port, domain).values()
    assert outcome.kind == "temporary"
    assert sink.received == []
    assert _failures(store, domain) == ["starttls-not-supported"]


def test_policy_host_with_bad_certificate_is_recorded_and_mail_flows(
    knot: KnotServer,
    mtasts: MTASTS,
    publish: Callable[..., None],
    policy_server: PolicyServer,
    plain_peer: tuple[int, _Sink],
    tmp_path: Path,
) -> None:
    """No valid policy means no MTA-STS (RFC 8461 §3.3): delivered, and reported."""
    domain = "deliver-webpki.mtasts.test"
    publish(domain, "v=STSv1; id=1", extra="@ MX 10 mail\nmail A 127.0.0.1")
    policy_server.serve(domain, ENFORCE.format(d=domain))
    policy_server.certs[f"mta-sts.{domain}"] = "expired"
    store = TLSReportStore(tmp_path / "tlsrpt.sqlite")
    port, sink = plain_peer
    [outcome] = _deliver(knot, mtasts, store, port, domain).values()
    assert outcome.kind == "delivered"
    assert len(sink.received) == 1
    assert _failures(store, domain) == ["sts-webpki-invalid"]


def test_testing_mode_delivers_and_reports(
    knot: KnotServer,
    mtasts: MTASTS,
    publish: Callable[..., None],
    policy_server: PolicyServer,
    plain_peer: tuple[int, _Sink],
    tmp_path: Path,
) -> None:
    domain = "deliver-testing.mtasts.test"
    publish(domain, "v=STSv1; id=1", extra="@ MX 10 mail\nmail A 127.0.0.1")
    policy_server.serve(domain, TESTING.format(d=domain))
    store = TLSReportStore(tmp_path / "tlsrpt.sqlite")
    port, sink = plain_peer
    [outcome] = _deliver(knot, mtasts, store, port, domain).values()
    assert outcome.kind == "delivered"
    assert len(sink.received) == 1
    assert _failures(store, domain) == ["starttls-not-supported"]
