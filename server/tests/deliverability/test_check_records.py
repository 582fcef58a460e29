"""Single checks against the Knot zone, for the cases the whole-run tests do not reach."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta
from pathlib import Path

from roost.deliverability import spfrecord
from roost.deliverability.certificate import check_certificate
from roost.deliverability.dkimcheck import check_dkim
from roost.deliverability.dnsrecords import check_addresses
from roost.deliverability.mtastscheck import check_mta_sts
from roost.deliverability.policycheck import check_dmarc, check_tlsrpt
from roost.deliverability.spfcheck import check_spf
from roost.tlsrpt import TLSReportStore
from roost.tlsrpt.results import Failure
from tests.deliverability.conftest import ADDRESS, DOMAIN, HOST, Lab
from tests.knot import txt
from tests.testca import TestCA


def replace_line(lab: Lab, start: str, *new: str) -> None:
    lines = [line for line in lab.healthy_lines() if not line.startswith(start)]
    lab.publish([*lines, *new])


def spf_lines(record: str, *others: str) -> list[str]:
    return [f"@ TXT {txt([record])}", *others]


def test_spf_lookups_count_includes_recursively(healthy: Lab) -> None:
    replace_line(
        healthy, '@ TXT "v=spf1',
        *spf_lines(f"v=spf1 ip4:{ADDRESS} include:one.{DOMAIN} mx -all",
                   f"one TXT {txt([f'v=spf1 a include:two.{DOMAIN} ~all'])}",
                   f"two TXT {txt(['v=spf1 exists:%{i}.x.test redirect=three.check.test'])}",
                   f"three TXT {txt(['v=spf1 ptr -all'])}"),
    )  # fmt: skip
    # include:one, mx; in one: a, include:two; in two: exists, redirect; in three: ptr.
    assert spfrecord.count_lookups(healthy.ctx.resolver, DOMAIN) == 7
    (finding,) = check_spf(healthy.ctx, DOMAIN)
    assert finding.status == "pass"
    assert "7 look-ups" in finding.detail


def test_spf_include_loop_and_missing_include(healthy: Lab) -> None:
    replace_line(
        healthy, '@ TXT "v=spf1',
        *spf_lines(f"v=spf1 ip4:{ADDRESS} include:loop.{DOMAIN} -all",
                   f"loop TXT {txt([f'v=spf1 include:{DOMAIN} -all'])}"),
    )  # fmt: skip
    (finding,) = check_spf(healthy.ctx, DOMAIN)
    assert finding.status == "fail"
    assert f"include loop: {DOMAIN} -> loop.{DOMAIN} -> {DOMAIN}" in finding.detail
    replace_line(
        healthy, '@ TXT "v=spf1', *spf_lines(f"v=spf1 ip4:{ADDRESS} include:gone.{DOMAIN} -all")
    )
    (finding,) = check_spf(healthy.ctx, DOMAIN)
    assert finding.status == "fail"
    assert f"includes gone.{DOMAIN}, which has no SPF record" in finding.detail


def test_spf_two_records_and_plus_all(healthy: Lab) -> None:
    replace_line(healthy, '@ TXT "v=spf1', *spf_lines("v=spf1 -all", f"@ TXT {txt(['v=spf1 a'])}"))
    (finding,) = check_spf(healthy.ctx, DOMAIN)
    assert "2 SPF records" in finding.detail
    replace_line(healthy, '@ TXT "v=spf1', *spf_lines(f"v=spf1 ip4:{ADDRESS} +all"))
    (finding,) = check_spf(healthy.ctx, DOMAIN)
    assert finding.status == "fail"
    assert "anyone may send" in finding.detail


def test_dkim_revoked_key(healthy: Lab) -> None:
    key = healthy.ctx.dkim.current(DOMAIN)[0]
    replace_line(healthy, f"{key.selector}._domainkey",
                 f"{key.selector}._domainkey TXT {txt(['v=DKIM1; k=rsa; p='])}")  # fmt: skip
    findings = {f.check: f for f in check_dkim(healthy.ctx, DOMAIN)}
    assert findings[f"dkim {key.selector}"].status == "fail"
    assert "revoked" in findings[f"dkim {key.selector}"].detail


def test_dmarc_invalid_and_tlsrpt_missing(healthy: Lab) -> None:
    replace_line(healthy, "_dmarc", f"_dmarc TXT {txt(['v=DMARC1; p=block'])}")
    (finding,) = check_dmarc(healthy.ctx, DOMAIN)
    assert finding.status == "fail"
    assert "p=block is not one of" in finding.detail
    replace_line(healthy, "_smtp._tls")
    (finding,) = check_tlsrpt(healthy.ctx, DOMAIN)
    assert finding.status == "warn"
    assert "roost_tlsrpt_rua" in finding.fix


def test_mta_sts_mode_none_warns(healthy: Lab) -> None:
    healthy.serve_policy("none")
    (finding,) = check_mta_sts(healthy.ctx, DOMAIN)
    assert finding.status == "warn"
    assert "mode none" in finding.detail


def test_enforce_warns_while_tls_reports_show_failures(healthy: Lab, tmp_path: Path) -> None:
    healthy.serve_policy("enforce")
    reports = TLSReportStore(tmp_path / "tlsrpt.db")
    ctx = dataclasses.replace(healthy.ctx, tls_reports=reports)
    now = ctx.now()
    reports.record_success(DOMAIN, None, at=now)
    expired = Failure("certificate-expired")
    reports.record_failure(DOMAIN, None, expired, at=now - timedelta(days=30))
    (finding,) = check_mta_sts(ctx, DOMAIN)
    assert finding.status == "pass"  # a failure before the window no longer counts
    reports.record_failure(DOMAIN, None, expired, at=now, count=3)
    reports.record_failure("other.test", None, Failure("starttls-not-supported"), at=now)
    (finding,) = check_mta_sts(ctx, DOMAIN)
    assert finding.status == "warn"
    assert "3 certificate-expired" in finding.detail
    assert "starttls" not in finding.detail  # another domain's results are not this one's
    assert "mta_sts_mode: testing" in finding.fix
    healthy.serve_policy("testing")
    (finding,) = check_mta_sts(ctx, DOMAIN)
    assert finding.status == "pass"  # testing mode: failures are what it is for


def test_addresses_other_than_the_vps(healthy: Lab) -> None:
    ctx = dataclasses.replace(healthy.ctx, addresses=("127.0.0.2",))
    (finding,) = check_addresses(ctx)
    assert finding.status == "fail"
    assert "missing 127.0.0.2; not this VPS: 127.0.0.1" in finding.detail


def test_certificate_for_another_name_and_near_its_end(healthy: Lab, tmp_path: Path) -> None:
    chain, _ = TestCA("Other Test CA").issue("other.test")
    cert = tmp_path / "other.pem"
    cert.write_bytes(chain)
    (finding,) = check_certificate(dataclasses.replace(healthy.ctx, cert_path=cert))
    assert finding.status == "fail"
    assert f"is for other.test, not {HOST}" in finding.detail
    chain, _ = TestCA("Near Test CA").issue(HOST)  # valid for 30 days from now
    cert.write_bytes(chain)
    in_20_days = time.time() + 20 * 86400
    ctx = dataclasses.replace(healthy.ctx, cert_path=cert, clock=lambda: in_20_days)
    (finding,) = check_certificate(ctx)
    assert finding.status == "warn"
    assert "renewal is overdue" in finding.detail
