"""What the user and the monitoring see: `roost check` as a command, its table, its JSON,
its exit status, and the time budget."""

from __future__ import annotations

import itertools
import json
import subprocess

from roost.deliverability.report import Finding, as_json, as_table, failed, passed, warned
from roost.deliverability.run import run
from tests.deliverability.conftest import ADDRESS, CLEAN_BL, DOMAIN, Lab
from tests.roostproc import ROOST


def test_table_shows_each_fix_under_its_failure() -> None:
    findings = [
        passed("a.test", "mx", "MX mail.a.test"),
        warned("a.test", "dmarc", "p=none", "raise the policy"),
        failed("a.test", "spf", "no SPF record " + "x" * 150, "publish it"),
    ]
    table = as_table(findings, width=80)
    lines = table.splitlines()
    assert all(len(line) <= 80 for line in lines)
    spf = next(i for i, line in enumerate(lines) if " spf " in line)
    assert "FAIL" in lines[spf]
    assert any("fix: publish it" in line for line in lines[spf + 1 :])
    assert table.endswith("1 pass, 1 warn, 1 fail: fix the failures above")


def test_json_counts_and_verdict() -> None:
    findings = [passed("a.test", "mx", "ok"), warned("a.test", "dmarc", "p=none")]
    data = json.loads(as_json(findings))
    assert data["ok"] is True
    assert data["counts"] == {"pass": 1, "warn": 1, "fail": 0}
    assert data["results"][1] == {
        "subject": "a.test",
        "check": "dmarc",
        "status": "warn",
        "detail": "p=none",
        "fix": "",
    }
    assert json.loads(as_json([*findings, Finding("h", "ptr", "fail", "x", "y")]))["ok"] is False


def test_spent_budget_fails_the_checks_not_run(healthy: Lab) -> None:
    ticks = itertools.count()
    findings = run(healthy.ctx, [DOMAIN], budget=25, monotonic=lambda: next(ticks) * 10.0)
    ran = [f for f in findings if "not run" not in f.detail]
    assert [f.check for f in ran] == ["a/aaaa", "ptr"]
    skipped = [f for f in findings if "not run" in f.detail]
    assert {f.status for f in skipped} == {"fail"}
    assert {"certificate", "mx", "tls-rpt"} <= {f.check for f in skipped}
    assert "--budget" in skipped[0].fix


def test_no_domain_is_a_failure(healthy: Lab) -> None:
    (finding,) = run(healthy.ctx, [])
    assert finding.status == "fail"
    assert "roost domain add" in finding.fix


def roost_check(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ROOST, "-c", str(lab.roost.config), "check", "--address", ADDRESS,
         "--dnsbl", CLEAN_BL, "--timeout", "3", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_command_json_and_exit_status(healthy: Lab) -> None:
    """From the command, the MTA-STS host (port 443) and the port 25 probe (real MX hosts)
    are out of reach here, so those fail and the exit status says so; the records pass."""
    result = roost_check(healthy, "--format", "json", "--probe-host", ADDRESS)
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    status = {(r["subject"], r["check"]): r["status"] for r in data["results"]}
    for check in ("mx", "spf", "tls-rpt"):
        assert status[(DOMAIN, check)] == "pass"
    assert status[(DOMAIN, "mta-sts")] == "fail"
    assert status[(f"mail.{DOMAIN}", "outbound 25")] == "fail"
    assert data["ok"] is False


def test_command_table_for_one_domain(healthy: Lab) -> None:
    healthy.publish([line for line in healthy.healthy_lines() if not line.startswith("@ MX")])
    result = roost_check(healthy, "--domain", DOMAIN, "--probe-host", ADDRESS)
    assert result.returncode == 1
    assert f"fix: publish MX 10 mail.{DOMAIN}. at {DOMAIN}" in result.stdout


def test_command_refuses_a_bad_address(healthy: Lab) -> None:
    result = roost_check(healthy, "--address", "mail.example")
    assert result.returncode == 1
    assert result.stderr.strip() == "roost: --address 'mail.example' is not an IP address"
    assert result.stdout == ""
