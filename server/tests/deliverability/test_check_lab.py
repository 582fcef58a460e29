"""The whole check against a real server, a real Knot zone and a real HTTPS policy host:
healthy, it passes; with one record broken behind its back, exactly that check fails and
says which record and how to fix it."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

from cryptography import x509

from roost.deliverability.certificate import check_certificate
from roost.deliverability.relaytest import check_open_relay
from roost.deliverability.report import Finding, ok
from roost.deliverability.run import run
from roost.dkim.keys import DKIMKeyStore
from roost.mtasts.publish import render
from tests.deliverability.conftest import (
    ADDRESS,
    DOMAIN,
    HOST,
    LISTING_BL,
    POLICY,
    REFUSING_BL,
    Lab,
)
from tests.knot import txt
from tests.smtpsink import SMTPSink
from tests.testca import TestCA


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


def failures(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings if f.status == "fail"}


def without(lines: list[str], start: str) -> list[str]:
    kept = [line for line in lines if not line.startswith(start)]
    assert len(kept) < len(lines), f"no line starts with {start!r}"
    return kept


def failures_with(lab: Lab, start: str, *instead: str) -> dict[str, Finding]:
    """The failures once the healthy zone's lines starting with START are replaced by
    INSTEAD (none: only removed), behind the server's back."""
    lab.publish([*without(lab.healthy_lines(), start), *instead])
    return failures(run(lab.ctx, [DOMAIN]))


def test_healthy_setup_passes_every_check(healthy: Lab) -> None:
    findings = run(healthy.ctx, [DOMAIN])
    assert ok(findings), [f for f in findings if f.status != "pass"]
    checks = by_check(findings)
    selectors = [k.selector for k in healthy.ctx.dkim.current(DOMAIN)]
    assert len(selectors) == 2  # RSA and Ed25519
    expected = {"a/aaaa", "ptr", "certificate", "ports", "open relay", "outbound 25", "mx"}
    expected |= {"spf", "dmarc", "mta-sts", "tls-rpt", "dnsbl clean-bl.test"}
    expected |= {f"dkim {s}" for s in selectors}
    assert expected <= set(checks)
    # The only warning a healthy new domain gets is DMARC p=none (monitoring only).
    assert {f.check for f in findings if f.status == "warn"} == {"dmarc"}
    assert "forward-confirmed" in checks["ptr"].detail
    assert "from the VPS itself" in checks["ports"].detail
    assert "refused" in checks["open relay"].detail


def test_mx_removed(healthy: Lab) -> None:
    failed = failures_with(healthy, "@ MX")
    assert set(failed) == {"mx"}
    assert f"{DOMAIN} has no MX" in failed["mx"].detail
    assert f"MX 10 {HOST}." in failed["mx"].fix


def test_mx_altered(healthy: Lab) -> None:
    failed = failures_with(healthy, "@ MX", "@ MX 10 mx.elsewhere.test.")
    assert "mx.elsewhere.test" in failed["mx"].detail
    assert f"publish MX 10 {HOST}. at {DOMAIN}" in failed["mx"].fix
    # The policy's mx lines no longer cover the MX either, and the check says so.
    assert "mx.elsewhere.test" in failed["mta-sts"].detail


def test_spf_altered_to_another_address(healthy: Lab) -> None:
    failed = failures_with(healthy, '@ TXT "v=spf1', f"@ TXT {txt(['v=spf1 ip4:192.0.2.99 -all'])}")
    assert set(failed) == {"spf"}
    assert "does not pass mail from this VPS (127.0.0.1)" in failed["spf"].detail
    assert f"ip4:{ADDRESS}" in failed["spf"].fix


def test_spf_removed(healthy: Lab) -> None:
    failed = failures_with(healthy, '@ TXT "v=spf1')
    assert set(failed) == {"spf"}
    assert "no SPF record" in failed["spf"].detail


def test_spf_over_ten_lookups(healthy: Lab) -> None:
    includes = " ".join(f"include:i{n}.{DOMAIN}" for n in range(4))
    # Each include costs itself and three look-ups inside: 4 * (1 + 3) = 16.
    inside = [f"i{n} TXT {txt(['v=spf1 a mx exists:x.test -all'])}" for n in range(4)]
    spf = f"@ TXT {txt([f'v=spf1 ip4:{ADDRESS} {includes} -all'])}"
    failed = failures_with(healthy, '@ TXT "v=spf1', spf, *inside)
    assert set(failed) == {"spf"}
    assert "more than 10 DNS look-ups" in failed["spf"].detail


def test_dkim_record_altered(healthy: Lab, tmp_path: Path) -> None:
    key = healthy.ctx.dkim.current(DOMAIN)[0]
    other = DKIMKeyStore(tmp_path).generate(DOMAIN, key.algorithm, key.selector)
    record = f"{key.selector}._domainkey TXT {txt([other.dns_value()])}"
    failed = failures_with(healthy, f"{key.selector}._domainkey", record)
    assert set(failed) == {f"dkim {key.selector}"}
    finding = failed[f"dkim {key.selector}"]
    assert "not the key the server signs with" in finding.detail
    assert key.dns_name().rstrip(".") in finding.detail
    assert key.dns_value() in finding.fix


def test_dkim_record_removed(healthy: Lab) -> None:
    key = healthy.ctx.dkim.current(DOMAIN)[-1]
    failed = failures_with(healthy, f"{key.selector}._domainkey")
    assert set(failed) == {f"dkim {key.selector}"}
    assert f"no key record at {key.selector}._domainkey.{DOMAIN}" in (
        failed[f"dkim {key.selector}"].detail
    )


def test_mta_sts_id_removed(healthy: Lab) -> None:
    failed = failures_with(healthy, "_mta-sts TXT")
    assert set(failed) == {"mta-sts"}
    assert f"no MTA-STS record at _mta-sts.{DOMAIN}" in failed["mta-sts"].detail
    assert "mta_sts role" in failed["mta-sts"].fix


def test_mta_sts_id_altered_to_invalid(healthy: Lab) -> None:
    failed = failures_with(
        healthy, "_mta-sts TXT", f"_mta-sts TXT {txt(['v=STSv1; id=not-alnum!'])}"
    )
    assert set(failed) == {"mta-sts"}
    assert "bad id" in failed["mta-sts"].detail


def test_mta_sts_id_not_the_served_policys(healthy: Lab) -> None:
    """A valid id that is not the served policy's (edited by hand, or an older policy's
    left behind): senders that cached a policy under it would never fetch this one."""
    served = POLICY.id
    older = f"_mta-sts TXT {txt(['v=STSv1; id=20260101older'])}"
    failed = failures_with(healthy, "_mta-sts TXT", older)
    assert set(failed) == {"mta-sts"}
    assert "announces id 20260101older, but the policy served" in failed["mta-sts"].detail
    assert f"has id {served}" in failed["mta-sts"].detail
    assert f"publish TXT 'v=STSv1; id={served}' at _mta-sts.{DOMAIN}" in failed["mta-sts"].fix
    # The same when the policy changes and its id is not published (the role's second step).
    healthy.heal()
    healthy.policies.serve(DOMAIN, render(DOMAIN, "enforce", [HOST], 86400).text)
    failed = failures(run(healthy.ctx, [DOMAIN]))
    assert set(failed) == {"mta-sts"}
    assert f"announces id {served}" in failed["mta-sts"].detail


def test_mta_sts_policy_untrusted_certificate(healthy: Lab) -> None:
    healthy.policies.certs[f"mta-sts.{DOMAIN}"] = "untrusted"
    failed = failures(run(healthy.ctx, [DOMAIN]))
    assert set(failed) == {"mta-sts"}
    assert "certificate not valid" in failed["mta-sts"].detail
    assert f"mta-sts.{DOMAIN}" in failed["mta-sts"].fix


def test_mta_sts_policy_not_served(healthy: Lab) -> None:
    healthy.policies.routes.clear()
    failed = failures(run(healthy.ctx, [DOMAIN]))
    assert set(failed) == {"mta-sts"}
    assert "HTTP status 404" in failed["mta-sts"].detail


def test_certificate_expired(healthy: Lab, tmp_path: Path) -> None:
    chain, _key = TestCA("Expired Test CA").issue(HOST, expired=True)
    cert = tmp_path / "fullchain.pem"
    cert.write_bytes(chain)
    ctx = dataclasses.replace(healthy.ctx, cert_path=cert)
    failed = failures(run(ctx, [DOMAIN]))
    assert set(failed) == {"certificate"}
    assert "expired on" in failed["certificate"].detail
    assert "(1 day ago)" in failed["certificate"].detail  # whole days since, not rounded up
    assert str(cert) in failed["certificate"].detail
    assert "certificates role" in failed["certificate"].fix
    # An hour after the end, the same failure (the end's time is shown, not "0 days ago").
    end = x509.load_pem_x509_certificate(chain).not_valid_after_utc
    soon = dataclasses.replace(ctx, clock=lambda: (end + timedelta(hours=1)).timestamp())
    (finding,) = check_certificate(soon)
    assert finding.status == "fail"
    assert f"expired on {end:%Y-%m-%d %H:%M} UTC (less than a day ago)" in finding.detail


def test_ptr_missing(healthy: Lab) -> None:
    healthy.knot.set_zone("127.in-addr.arpa", "2.0.0 PTR other.test.")
    try:
        failed = failures(run(healthy.ctx, [DOMAIN]))
    finally:
        healthy.knot.set_zone("127.in-addr.arpa", f"1.0.0 PTR {HOST}.")
    assert set(failed) == {"ptr"}
    assert f"set the reverse DNS (PTR) of {ADDRESS} to {HOST}" in failed["ptr"].fix


def test_dnsbl_listed_refused_and_unanswered(healthy: Lab) -> None:
    """Only NXDOMAIN is "not listed"; a refusal or no answer at all is not a pass."""
    unserved = "unserved-bl.test"  # Knot serves no such zone: it answers REFUSED
    ctx = dataclasses.replace(healthy.ctx, dnsbls=(LISTING_BL, REFUSING_BL, unserved))
    findings = by_check(run(ctx, [DOMAIN]))
    listed = findings[f"dnsbl {LISTING_BL}"]
    assert listed.status == "fail"
    assert "listed (127.0.0.2)" in listed.detail
    refused = findings[f"dnsbl {REFUSING_BL}"]
    assert refused.status == "warn"
    assert refused.detail.startswith("could not check: the list refused")
    failed = findings[f"dnsbl {unserved}"]
    assert failed.status == "warn"
    assert failed.detail.startswith("could not check: the look-up failed")
    assert f"must resolve names under {unserved}" in failed.fix


def test_port_not_listening(healthy: Lab) -> None:
    ports = {**healthy.ctx.ports, "imaps": healthy.ctx.probe_port + 7}  # nothing listens there
    ctx = dataclasses.replace(healthy.ctx, ports=ports)
    failed = failures(run(ctx, [DOMAIN]))
    assert set(failed) == {"ports"}
    assert f"{ports['imaps']} (imaps)" in failed["ports"].detail


def test_outbound_blocked(healthy: Lab) -> None:
    closed = dataclasses.replace(healthy.ctx, probe_port=healthy.ctx.probe_port + 7)
    failed = failures(run(closed, [DOMAIN]))
    assert set(failed) == {"outbound 25"}
    assert "roost_relay" in failed["outbound 25"].fix
    # Through a relay the blocked port is expected: SPF must then cover the relay instead.
    relayed = dataclasses.replace(closed, relay=HOST)
    findings = by_check(run(relayed, [DOMAIN]))
    assert findings["outbound 25"].status == "pass"
    assert "the relay" in findings["outbound 25"].detail
    assert findings["spf"].status == "pass"
    assert f"the relay {HOST}" in findings["spf"].detail


def test_open_relay_is_reported(healthy: Lab) -> None:
    """A server that takes any recipient (Postfix's smtp-sink) is named an open relay."""
    with SMTPSink() as sink:
        ctx = dataclasses.replace(healthy.ctx, ports={"smtp": sink.port})
        finding = check_open_relay(ctx)[0]
        assert sink.count == 0  # DATA was never sent
    assert finding.status == "fail"
    assert "without authentication" in finding.detail
    assert "systemctl stop roost" in finding.fix
