"""Roost's DNS providers and the roost_dns_records module against the lab's Knot and DNSPod stand-in.

Each test starts from the zone as the lab made it plus two hand-made records (an apex TXT
and a `www` A, written straight through RFC 2136 as a user would), and puts the zone back
afterwards, so other lab tests see it unchanged.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import pytest
from roost.dnsprovider import (
    CredentialsError,
    Record,
    RefusedError,
    ThrottledError,
    ZoneNotHostedError,
    open_provider,
    wait_for_propagation,
)
from roost.dnsprovider.plan import sync
from roost.dnsprovider.records import MailDomain, mail_records

from conftest import LAB_DIR, Lab
from roostlab.dnspod import throttle

ZONE = "second.test"
HAND_MADE = [Record.make(ZONE, "TXT", "hand-made apex text"), Record.make(f"www.{ZONE}", "A", "192.0.2.80")]
CHANGING = {"CreateRecord", "ModifyRecord", "DeleteRecord"}


def spec(lab: Lab) -> MailDomain:
    return MailDomain(
        ZONE,
        "mail.example.test",
        lab.addr("vps"),
        dkim=[("r1", "v=DKIM1; k=rsa; p=" + "M" * 392), ("e1", "v=DKIM1; k=ed25519; p=Ed")],
        dmarc_policy="quarantine",
        dmarc_rua=f"dmarc@{ZONE}",
        tlsrpt_rua=f"tls@{ZONE}",
        relay_spf=["a:relay.lab.test"],
    )


def rfc2136_options(lab: Lab) -> dict[str, Any]:
    key = lab.json("dns", "tsig")
    return {"server": key["server"], "tsig_name": key["name"], "tsig_algorithm": key["algorithm"],
            "tsig_secret": key["secret"]}  # fmt: skip


def dnspod_options(lab: Lab, **extra: Any) -> dict[str, Any]:
    creds = lab.json("dnspod", "credentials")
    return {"secret_id": creds["SecretId"], "secret_key": creds["SecretKey"],
            "endpoint": creds["Endpoint"], "ca_file": lab.ca, "retry_delay": 0.2} | extra  # fmt: skip


@pytest.fixture
def zone(lab: Lab) -> Iterator[None]:
    """The zone with the hand-made records; restored to what it was afterwards."""
    direct = open_provider("rfc2136", rfc2136_options(lab))
    before = set(direct.records(ZONE))
    for record in HAND_MADE:
        direct.create(ZONE, record)
    yield
    for record in set(direct.records(ZONE)) - before:
        direct.delete(ZONE, record)


def log_lines(lab: Lab) -> list[dict[str, Any]]:
    path = Path(lab.facts["dnspod"]["requests_log"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def served(lab: Lab, name: str, rdtype: str) -> list[str]:
    answer = dns.query.udp(dns.message.make_query(name, rdtype), lab.addr("dns"), timeout=3)
    return sorted(r.to_text() for rrset in answer.answer for r in rrset)


@pytest.mark.usefixtures("zone")
def test_dnspod_sync_lands_and_a_second_sync_changes_nothing(lab: Lab) -> None:
    provider = open_provider("tencentcloud", dnspod_options(lab))
    first = sync(provider, ZONE, mail_records(spec(lab)))
    assert first.changes and not first.conflicts
    assert served(lab, ZONE, "MX") == ["10 mail.example.test."]
    assert served(lab, f"_submissions._tcp.{ZONE}", "SRV") == ["0 1 465 mail.example.test."]
    assert served(lab, ZONE, "TXT") == [
        '"hand-made apex text"',
        f'"v=spf1 ip4:{lab.addr("vps")} a:relay.lab.test -all"',
    ]
    assert served(lab, f"www.{ZONE}", "A") == ["192.0.2.80"]
    # Every authoritative server of the zone (its NS, looked up as validators do) has it.
    wait_for_propagation(ZONE, f"_dmarc.{ZONE}", "TXT", [f"v=DMARC1; p=quarantine; rua=mailto:dmarc@{ZONE}"],
                         timeout=30)  # fmt: skip

    seen = len(log_lines(lab))
    second = sync(provider, ZONE, mail_records(spec(lab)))
    assert second.changes == [] and second.conflicts == []
    calls = log_lines(lab)[seen:]
    assert calls and not [c for c in calls if c["action"] in CHANGING]
    assert set(HAND_MADE) <= set(provider.records(ZONE))


@pytest.mark.usefixtures("zone")
@pytest.mark.parametrize("code", ["RequestLimitExceeded", "FailedOperation.FrequencyLimit"])
def test_throttled_calls_are_retried_then_reported(lab: Lab, code: str) -> None:
    switch = Path(lab.facts["dnspod"]["throttle"])
    provider = open_provider("tencentcloud", dnspod_options(lab, max_tries=4))
    try:
        throttle.set_throttle(switch, code, 3)
        seen = len(log_lines(lab))
        assert sync(provider, ZONE, mail_records(spec(lab))).changes
        refused = [c for c in log_lines(lab)[seen:] if c.get("error") == code]
        assert len(refused) == 3
        assert served(lab, ZONE, "MX") == ["10 mail.example.test."]
        throttle.set_throttle(switch, code, 10)
        with pytest.raises(ThrottledError, match="still throttled after 4 tries"):
            provider.records(ZONE)
    finally:
        throttle.clear_throttle(switch)


def test_wrong_credentials_and_unhosted_zone_name_the_variable(lab: Lab) -> None:
    wrong = open_provider("tencentcloud", dnspod_options(lab, secret_key="not-the-key"))
    with pytest.raises(CredentialsError) as err:
        wrong.records(ZONE)
    assert "AuthFailure.SignatureFailure" in str(err.value) and "roost_dns_credentials" in str(err.value)
    with pytest.raises(ZoneNotHostedError) as err2:
        open_provider("tencentcloud", dnspod_options(lab)).records("not-ours.test")
    assert "roost_domains" in str(err2.value)
    with pytest.raises(ZoneNotHostedError, match="roost_domains"):
        open_provider("rfc2136", rfc2136_options(lab)).records("not-ours.test")


def test_default_ns_records_are_never_listed_or_touched(lab: Lab) -> None:
    provider = open_provider("tencentcloud", dnspod_options(lab))
    assert provider.nameservers(ZONE) == ["f1g1ns1.dnspod.net", "f1g1ns2.dnspod.net"]
    assert not [r for r in provider.records(ZONE, rtype="NS") if "dnspod" in r.value]


def run_module(lab: Lab, args: dict[str, Any], *flags: str) -> subprocess.CompletedProcess[str]:
    ansible = Path(sys.executable).parent / "ansible"
    return subprocess.run(
        [ansible, "localhost", "-M", str(LAB_DIR.parent / "library"), "-m", "roost_dns_records",
         "-a", json.dumps(args), *flags],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "False"},
    )  # fmt: skip


@pytest.mark.usefixtures("zone")
def test_module_check_mode_shows_the_diff_and_changes_nothing(lab: Lab) -> None:
    args = {"provider": "tencentcloud", "credentials": dnspod_options(lab), "zone": ZONE,
            "mail": {"host": "mail.example.test", "ipv4": lab.addr("vps")}}  # fmt: skip
    seen = len(log_lines(lab))
    result = run_module(lab, args, "--check", "--diff")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "localhost | CHANGED" in result.stdout
    assert f"+{ZONE}. 600 IN MX 10 mail.example.test." in result.stdout
    assert dnspod_options(lab)["secret_key"] not in result.stdout  # no_log
    assert not [c for c in log_lines(lab)[seen:] if c["action"] in CHANGING]
    assert served(lab, ZONE, "MX") == []

    applied = run_module(lab, args)
    assert applied.returncode == 0 and "localhost | CHANGED" in applied.stdout
    again = run_module(lab, args, "--check")
    assert again.returncode == 0 and "localhost | SUCCESS" in again.stdout, again.stdout


def test_module_fails_with_the_providers_message(lab: Lab) -> None:
    args = {"provider": "tencentcloud", "credentials": dnspod_options(lab), "zone": "not-ours.test",
            "records": [{"name": "x", "type": "A", "values": ["192.0.2.1"]}]}  # fmt: skip
    result = run_module(lab, args, "--check")
    assert result.returncode != 0
    assert "InvalidParameterValue.DomainNotExists" in result.stdout and "roost_domains" in result.stdout


class Indexing:
    """DNSPod's real lag: a new record is listed only after a few list calls (~30 s live)."""

    def __init__(self, client: Any, hidden_for: int) -> None:
        self.client, self.hidden_for = client, hidden_for

    def __getattr__(self, action: str) -> Any:
        return getattr(self.client, action)

    def DescribeRecordList(self, req: Any) -> Any:  # noqa: N802 (the SDK's name)
        answer = self.client.DescribeRecordList(req)
        if self.hidden_for > 0:
            self.hidden_for -= 1
            answer.RecordList = [r for r in answer.RecordList if not r.Name.startswith("lag")]
        return answer


@pytest.mark.usefixtures("zone")
def test_create_waits_out_indexing_and_takes_an_existing_record_as_done(lab: Lab) -> None:
    plain = open_provider("tencentcloud", dnspod_options(lab))
    waits: list[float] = []
    lagging = dataclasses.replace(plain, client=Indexing(plain.client, 2), sleep=waits.append)
    record = Record.make(f"lag.{ZONE}", "TXT", "indexed later")
    lagging.create(ZONE, record)
    assert len(waits) == 2 and record in plain.records(ZONE, record.name)
    seen = len(log_lines(lab))
    plain.create(ZONE, record)  # InvalidParameter.DomainRecordExist: already there, fine
    assert [c["error"] for c in log_lines(lab)[seen:] if c["action"] == "CreateRecord"] == [
        "InvalidParameter.DomainRecordExist"
    ]
    assert [r.value for r in plain.records(ZONE, record.name)] == ["indexed later"]


ROLE_PLAY = """
- name: The dns role alone, on the controller
  hosts: localhost
  gather_facts: false
  roles: [dns]
  post_tasks:
    - name: Hand the facts to the test
      ansible.builtin.copy:
        content: "{{ {'sets': dns_record_sets, 'ptr': dns_ptr, 'conflicts': dns_conflicts} | to_json }}"
        dest: "{{ facts_file }}"
        mode: "0600"
"""


def playbook(play: Path, extra: dict[str, Any]) -> Callable[..., str]:
    """Runs PLAY with EXTRA vars and the repo's roles and modules; its output, once it passed."""
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "False",
           "ANSIBLE_LIBRARY": str(LAB_DIR.parent / "library"),
           "ANSIBLE_ROLES_PATH": str(LAB_DIR.parent / "roles")}  # fmt: skip
    command = [Path(sys.executable).parent / "ansible-playbook", play, "-e", json.dumps(extra)]

    def run(*flags: str) -> str:
        result = subprocess.run([*command, *flags], capture_output=True, text=True, timeout=300, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    return run


STS_PLAY = """
- name: The dns role's tasks for the mta_sts role
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Publish the MTA-STS id
      ansible.builtin.include_role:
        name: dns
        tasks_from: mta_sts_record
"""


@pytest.mark.usefixtures("zone")
def test_dns_role_converges_and_checks_the_ptr(lab: Lab, tmp_path: Path) -> None:
    play = tmp_path / "play.yml"
    play.write_text(ROLE_PLAY)
    extra = {
        "roost_dns_provider": "tencentcloud",
        "roost_dns_credentials": dnspod_options(lab),
        "roost_domains": [{"name": ZONE}, {"name": "example.test", "state": "absent"}],
        "roost_hostname": "mail.example.test",
        "roost_ipv4": lab.addr("vps"),
        "roost_dkim_records": {ZONE: [{"selector": "r1", "value": "v=DKIM1; k=rsa; p=" + "R" * 392}]},
        "roost_relay": {"host": "relay.lab.test"},
        "facts_file": str(tmp_path / "facts.json"),
        "dns_wait": True,
    }
    run = playbook(play, extra)
    checked = run("--check", "--diff")
    assert f"+_dmarc.{ZONE}. 600 IN TXT" in checked and served(lab, ZONE, "MX") == []
    assert "changed=0" not in run()
    seen = len(log_lines(lab))
    assert "changed=0" in run()
    # Nothing changes on the re-run, the absent example.test included: since issue 9 an absent
    # domain is read to remove what Roost published there, and it holds nothing of Roost's.
    assert not [c for c in log_lines(lab)[seen:] if c["action"] in CHANGING]

    facts = json.loads((tmp_path / "facts.json").read_text())
    assert {"name": ZONE, "type": "MX", "value": "10 mail.example.test.", "ttl": 600} in facts["sets"][ZONE]
    [ptr] = facts["ptr"]
    # The lab's PTR of the VPS is vps.lab.test: the play says what to ask for.
    assert not ptr["ok"] and ptr["names"] == ["vps.lab.test"]
    assert f"set the reverse DNS (PTR record) of {lab.addr('vps')} to mail.example.test" in ptr["message"]

    # What the mta_sts role calls once a policy is served: the id is replaced, other TXT stay.
    direct = open_provider("rfc2136", rfc2136_options(lab))
    direct.create(ZONE, Record.make(f"_mta-sts.{ZONE}", "TXT", "unrelated note"))
    sts_play = tmp_path / "sts.yml"
    sts_play.write_text(STS_PLAY)
    for policy_id in ("20261130a", "20261130b"):
        playbook(sts_play, extra)("-e", f"dns_mta_sts_domain={ZONE} dns_mta_sts_id={policy_id}")
        assert served(lab, f"_mta-sts.{ZONE}", "TXT") == ['"unrelated note"', f'"v=STSv1; id={policy_id}"']


@pytest.mark.usefixtures("zone")
def test_a_cname_in_the_way_is_reported_not_waited_on_silently(lab: Lab) -> None:
    direct = open_provider("rfc2136", rfc2136_options(lab))
    direct.create(ZONE, Record.make(f"autoconfig.{ZONE}", "CNAME", "elsewhere.example."))
    provider = open_provider("tencentcloud", dnspod_options(lab, index_timeout=2))
    with pytest.raises(RefusedError) as err:
        provider.create(ZONE, Record.make(f"autoconfig.{ZONE}", "A", lab.addr("vps")))
    assert "InvalidParameter.DomainRecordExist" in str(err.value) and "CNAME" in str(err.value)
