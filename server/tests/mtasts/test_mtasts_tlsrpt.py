"""TLS-RPT records per policy domain and UTC day, and the RFC 8460 §4.4 report."""

from __future__ import annotations

import asyncio
import datetime
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from roost.mtasts import MTASTS, parse_policy, tls_requirement
from roost.tlsrpt import Failure, ReportPolicy, TLSReportStore
from tests.mtasts.policyserver import PolicyServer
from tests.mtasts.support import TESTING

UTC = datetime.UTC
DAY1 = datetime.date(2026, 11, 22)
DAY2 = datetime.date(2026, 11, 23)
POLICY = parse_policy(
    "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmx: *.example.net\nmax_age: 86400\n",
    "id1",
)


def at(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=UTC)


def test_report_over_two_days(tmp_path: Path) -> None:
    store = TLSReportStore(tmp_path / "tlsrpt.sqlite")
    mismatch = Failure(
        "certificate-host-mismatch",
        sending_mta_ip="192.0.2.1",
        receiving_mx_hostname="mx1.example.com",
        receiving_ip="198.51.100.7",
        failure_reason_code="hostname mismatch, certificate is for other.example",
    )
    store.record_success("Example.COM.", POLICY, at=at(DAY1, 0))
    store.record_success("example.com", POLICY, at=at(DAY1, 23), count=2)
    store.record_failure("example.com", POLICY, mismatch, at=at(DAY1, 10))
    store.record_failure("example.com", POLICY, mismatch, at=at(DAY1, 11))
    store.record_failure(
        "example.com",
        POLICY,
        Failure("starttls-not-supported", receiving_mx_hostname="mx2.example.net"),
        at=at(DAY1, 12),
    )
    # Day 2 (a time given in another zone still lands on its UTC day).
    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    store.record_success(
        "example.com", POLICY, at=datetime.datetime(2026, 11, 24, 1, 30, tzinfo=plus2)
    )
    store.record_success("other.example", None, at=at(DAY2, 5))

    report = store.report(
        "example.com", DAY1, organization_name="Roost test", contact_info="tls@roost.test"
    )
    json.dumps(report)  # JSON-ready as is
    assert report["organization-name"] == "Roost test"
    assert report["contact-info"] == "tls@roost.test"
    assert report["report-id"] == "2026-11-22_example.com"
    assert report["date-range"] == {
        "start-datetime": "2026-11-22T00:00:00Z",
        "end-datetime": "2026-11-22T23:59:59Z",
    }
    [entry] = report["policies"]
    assert entry["policy"] == {
        "policy-type": "sts",
        "policy-string": [
            "version: STSv1",
            "mode: enforce",
            "mx: mx1.example.com",
            "mx: *.example.net",
            "max_age: 86400",
        ],
        "policy-domain": "example.com",
        "mx-host": ["mx1.example.com", "*.example.net"],
    }
    assert entry["summary"] == {
        "total-successful-session-count": 3,
        "total-failure-session-count": 3,
    }
    assert entry["failure-details"] == [
        {
            "result-type": "certificate-host-mismatch",
            "sending-mta-ip": "192.0.2.1",
            "receiving-mx-hostname": "mx1.example.com",
            "receiving-ip": "198.51.100.7",
            "failure-reason-code": "hostname mismatch, certificate is for other.example",
            "failed-session-count": 2,
        },
        {
            "result-type": "starttls-not-supported",
            "receiving-mx-hostname": "mx2.example.net",
            "failed-session-count": 1,
        },
    ]

    day2 = store.report("example.com", DAY2)
    [entry2] = day2["policies"]
    assert entry2["summary"] == {
        "total-successful-session-count": 1,
        "total-failure-session-count": 0,
    }
    assert "failure-details" not in entry2
    assert store.domains(DAY1) == ["example.com"]
    assert store.domains(DAY2) == ["example.com", "other.example"]
    [none] = store.report("other.example", DAY2)["policies"]
    assert none["policy"] == {"policy-type": "no-policy-found", "policy-domain": "other.example"}

    assert store.prune(before=DAY2) == 3  # day 1: one policy row, two failure rows
    assert store.report("example.com", DAY1)["policies"] == []
    assert store.domains(DAY2) == ["example.com", "other.example"]


def test_policy_change_during_a_day_gives_two_policies(tmp_path: Path) -> None:
    store = TLSReportStore(tmp_path / "tlsrpt.sqlite")
    newer = parse_policy("\n".join(POLICY.lines()).replace("enforce", "testing"), "id2")
    store.record_success("example.com", POLICY, at=at(DAY1, 1))
    store.record_success("example.com", newer, at=at(DAY1, 2))
    modes = [p["policy"]["policy-string"][1] for p in store.report("example.com", DAY1)["policies"]]
    assert modes == ["mode: enforce", "mode: testing"]


def test_fetch_failures_belong_to_type_sts(tmp_path: Path) -> None:
    store = TLSReportStore(tmp_path / "tlsrpt.sqlite")
    store.record_failure(
        "example.com",
        None,
        Failure("sts-webpki-invalid", failure_reason_code="certificate has expired"),
        at=at(DAY1, 3),
    )
    [entry] = store.report("example.com", DAY1)["policies"]
    assert entry["policy"] == {"policy-type": "sts", "policy-domain": "example.com"}
    assert entry["summary"]["total-failure-session-count"] == 1
    assert entry["failure-details"][0]["result-type"] == "sts-webpki-invalid"
    # DANE can report its own policy type later through ReportPolicy.
    store.record_success("example.com", ReportPolicy("tlsa", ("3 1 1 abcd",)), at=at(DAY1, 4))
    types = [p["policy"]["policy-type"] for p in store.report("example.com", DAY1)["policies"]]
    assert types == ["sts", "tlsa"]


def test_naive_time_is_refused(tmp_path: Path) -> None:
    store = TLSReportStore(tmp_path / "tlsrpt.sqlite")
    with pytest.raises(ValueError, match="timezone-aware"):
        store.record_success("example.com", None, at=datetime.datetime.now())


def test_testing_mode_records_and_delivers(
    mtasts: MTASTS,
    publish: Callable[..., None],
    policy_server: PolicyServer,
    tmp_path: Path,
) -> None:
    """The flow the delivery code follows for a ``testing`` policy (RFC 8461 §5)."""
    domain = "tlsrpt-testing.mtasts.test"
    publish(domain, "v=STSv1; id=t1")
    policy_server.serve(domain, TESTING.format(d=domain))
    store = TLSReportStore(tmp_path / "tlsrpt.sqlite")
    now = datetime.datetime.now(UTC)
    policy = asyncio.run(mtasts.policy_for(domain))
    assert policy is not None
    assert tls_requirement(policy, "mx.elsewhere.test") == "testing"  # recorded, delivered
    store.record_failure(
        domain,
        policy,
        Failure("validation-failure", receiving_mx_hostname="mx.elsewhere.test"),
        at=now,
    )
    assert tls_requirement(policy, f"mail.{domain}") == "testing"
    store.record_success(domain, policy, at=now)
    today = now.date()
    [entry] = store.report(domain, today)["policies"]
    assert entry["policy"]["policy-string"][1] == "mode: testing"
    assert entry["summary"] == {
        "total-successful-session-count": 1,
        "total-failure-session-count": 1,
    }

    # A policy host with a bad certificate: the lookup says what to record.
    bad = "tlsrpt-webpki.mtasts.test"
    publish(bad, "v=STSv1; id=b1")
    policy_server.serve(bad, TESTING.format(d=bad))
    policy_server.certs[f"mta-sts.{bad}"] = "untrusted"
    result = asyncio.run(mtasts.lookup(bad))
    assert result.policy is None and result.result_type == "sts-webpki-invalid"
    store.record_failure(
        bad, result.policy, Failure(result.result_type, failure_reason_code=str(result.error))
    )
    [entry] = store.report(bad, today)["policies"]
    assert entry["policy"]["policy-type"] == "sts"
    assert entry["failure-details"][0]["result-type"] == "sts-webpki-invalid"
