"""library/roost_site_documents: the MTA-STS policy, its TXT record and the client discovery
documents the mta_sts role serves, rendered by the real roost code."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from roost.mtasts.policy import parse_policy
from tests.modules.harness import run_module

MODULE = "roost_site_documents"
ARGS = {"domain": "example.test", "mail_host": "mail.example.test", "mx": ["mail.example.test"]}


@pytest.mark.parametrize("check", [False, True])
def test_policy_record_and_documents(check: bool) -> None:
    result, raw = run_module(MODULE, ARGS, check=check)
    assert result["changed"] is False, raw
    assert result["policy"] == (
        "version: STSv1\r\nmode: testing\r\nmx: mail.example.test\r\nmax_age: 604800\r\n"
    )
    policy = parse_policy(result["policy"])
    assert (policy.mode, policy.mx, policy.max_age) == ("testing", ("mail.example.test",), 604800)
    assert result["record"] == f"v=STSv1; id={result['id']}"
    assert result["id"].isalnum() and 1 <= len(result["id"]) <= 32  # RFC 8461 section 3.1
    imap = ET.fromstring(result["thunderbird"]).find("emailProvider/incomingServer")
    assert imap is not None
    assert (imap.findtext("hostname"), imap.findtext("port")) == ("mail.example.test", "993")
    assert "<Server>mail.example.test</Server>" in result["outlook"]


def test_the_id_changes_exactly_when_the_policy_does() -> None:
    first, _ = run_module(MODULE, ARGS)
    again, _ = run_module(MODULE, {**ARGS, "mail_host": "other.example.test"})
    assert again["id"] == first["id"]  # the mail host is not in the policy
    enforced, _ = run_module(MODULE, {**ARGS, "mode": "enforce"})
    more_mx, _ = run_module(MODULE, {**ARGS, "mx": ["mail.example.test", "*.example.test"]})
    assert len({first["id"], enforced["id"], more_mx["id"]}) == 3
    assert "mx: *.example.test\r\n" in more_mx["policy"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_age": 31557601}, "max_age"),
        ({"mx": ["mail.*.test"]}, "mail.*.test"),
        ({"mode": "strict"}, "value of mode must be one of: enforce, testing, none"),
        ({"mx": None}, "missing required arguments: mx"),
    ],
)
def test_bad_input_fails_naming_it(changes: dict[str, object], message: str) -> None:
    args = {k: v for k, v in {**ARGS, **changes}.items() if v is not None}
    result, raw = run_module(MODULE, args)
    assert result["failed"] is True, raw
    assert message in result["msg"]
