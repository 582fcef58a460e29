"""library/roost_site_documents: the MTA-STS policy, its TXT record and the client discovery
documents the mta_sts role serves, rendered by the real roost code and written under a web
root (a temporary directory here) only where they differ."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from roost.mtasts.policy import parse_policy
from tests.modules.harness import run_module

MODULE = "roost_site_documents"
ARGS = {
    "domains": [{"name": "example.test"}],
    "mail_host": "mail.example.test",
    "mx": ["mail.example.test"],
}
TWO = {**ARGS, "domains": [{"name": "example.test"}, {"name": "second.test", "mode": "enforce"}]}


@pytest.mark.parametrize("check", [False, True])
def test_policy_record_and_documents(check: bool) -> None:
    result, raw = run_module(MODULE, ARGS, check=check)
    assert result["changed"] is False, raw
    (served,) = result["domains"]
    assert served["name"] == "example.test"
    assert served["policy"] == (
        "version: STSv1\r\nmode: testing\r\nmx: mail.example.test\r\nmax_age: 604800\r\n"
    )
    policy = parse_policy(served["policy"])
    assert (policy.mode, policy.mx, policy.max_age) == ("testing", ("mail.example.test",), 604800)
    assert served["record"] == f"v=STSv1; id={served['id']}"
    assert served["id"].isalnum() and 1 <= len(served["id"]) <= 32  # RFC 8461 section 3.1
    imap = ET.fromstring(served["thunderbird"]).find("emailProvider/incomingServer")
    assert imap is not None
    assert (imap.findtext("hostname"), imap.findtext("port")) == ("mail.example.test", "993")
    assert "<Server>mail.example.test</Server>" in result["outlook"]


def test_the_id_changes_exactly_when_the_policy_does() -> None:
    def policy_id(**changes: object) -> str:
        result, _ = run_module(MODULE, {**ARGS, **changes})
        return result["domains"][0]["id"]

    first = policy_id()
    assert policy_id(mail_host="other.example.test") == first  # not in the policy
    enforced = policy_id(domains=[{"name": "example.test", "mode": "enforce"}])
    more_mx = policy_id(mx=["mail.example.test", "*.example.test"])
    assert len({first, enforced, more_mx}) == 3


def test_each_domain_gets_its_own_mode() -> None:
    result, _ = run_module(MODULE, TWO)
    modes = {d["name"]: parse_policy(d["policy"]).mode for d in result["domains"]}
    assert modes == {"example.test": "testing", "second.test": "enforce"}


def test_writes_every_domain_once_then_nothing(tmp_path: Path) -> None:
    root = tmp_path / "www"
    first, raw = run_module(MODULE, {**TWO, "root": str(root)})
    assert first["changed"] is True, raw
    for served in first["domains"]:
        site = root / served["name"]
        assert (site / ".well-known" / "mta-sts.txt").read_bytes().decode() == served["policy"]
        assert (site / "mail" / "config-v1.1.xml").read_text() == served["thunderbird"]
    again, raw = run_module(MODULE, {**TWO, "root": str(root)})
    assert again["changed"] is False and again["changes"] == [], raw


def test_drift_is_repaired_and_shown(tmp_path: Path) -> None:
    root = tmp_path / "www"
    run_module(MODULE, {**TWO, "root": str(root)})
    policy = root / "second.test" / ".well-known" / "mta-sts.txt"
    policy.write_text("version: STSv1\r\nmode: none\r\nmax_age: 1\r\n")
    autoconfig = root / "example.test" / "mail" / "config-v1.1.xml"
    autoconfig.chmod(0o600)
    checked, raw = run_module(MODULE, {**TWO, "root": str(root)}, check=True)
    assert checked["changed"] is True, raw
    assert "mode: none" in policy.read_text()  # check mode changed nothing
    (diff,) = checked["diff"]
    assert diff["before_header"] == str(policy)
    assert "mode: none" in diff["before"] and "mode: enforce" in diff["after"]
    result, raw = run_module(MODULE, {**TWO, "root": str(root)})
    assert {(c["action"], c["path"]) for c in result["changes"]} == {
        ("write", str(policy)),
        ("fix", str(autoconfig)),
    }, raw
    assert parse_policy(policy.read_text()).mode == "enforce"
    assert autoconfig.stat().st_mode & 0o777 == 0o644


def test_an_absent_domain_loses_its_site_and_others_stay(tmp_path: Path) -> None:
    root = tmp_path / "www"
    run_module(MODULE, {**TWO, "root": str(root)})
    result, raw = run_module(MODULE, {**ARGS, "root": str(root), "absent": ["second.test"]})
    assert result["changed"] is True, raw
    assert not (root / "second.test").exists()
    assert (root / "example.test" / ".well-known" / "mta-sts.txt").exists()


def test_nothing_is_written_without_a_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result, raw = run_module(MODULE, TWO)
    assert result["changed"] is False and result["changes"] == [], raw
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_age": 31557601}, "max_age"),
        ({"mx": ["mail.*.test"]}, "mail.*.test"),
        ({"domains": [{"name": "example.test", "mode": "strict"}]}, "mode must be one of"),
        ({"mx": None}, "missing required arguments: mx"),
    ],
)
def test_bad_input_fails_naming_it(changes: dict[str, object], message: str) -> None:
    args = {k: v for k, v in {**ARGS, **changes}.items() if v is not None}
    result, raw = run_module(MODULE, args)
    assert result["failed"] is True, raw
    assert message in result["msg"]


@pytest.mark.parametrize("name", ["../etc", "a/b", ".hidden", "a..b"])
def test_a_domain_that_is_no_directory_name_writes_nothing(tmp_path: Path, name: str) -> None:
    args = {**ARGS, "root": str(tmp_path / "www"), "absent": [name]}
    result, raw = run_module(MODULE, args)
    assert result["failed"] is True, raw
    assert name in result["msg"] and "cannot name a directory" in result["msg"]
    assert not (tmp_path / "www").exists()
