"""The lexicon provider driving dns-lexicon's PowerDNS provider against a real pdns_server.

The zone starts with what a user made by hand through the PowerDNS API (a site
verification TXT, an SPF record with a CIDR, a ``www`` address, an unrelated ``_dmarc``
TXT and a TXT split into two strings); it must all survive. What a run changed is read
from pdns itself: the SOA serial (bumped by every API change) and the API's request log.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.dnsprovider import (
    CredentialsError,
    DNSProviderError,
    Record,
    UnreachableError,
    ZoneNotHostedError,
    open_provider,
)
from roost.dnsprovider.base import txt_rdata_text
from roost.dnsprovider.lexicon import _txt_value
from roost.dnsprovider.plan import RecordSet, sync
from roost.dnsprovider.records import MailDomain, mail_records
from tests.pdns import PowerDNSServer

LIBRARY = Path(__file__).resolve().parents[3] / "library"

ZONE = "third.test"
SPEC = MailDomain(
    ZONE,
    "mail.third.test",
    "198.51.100.10",
    dkim=[("r1", "v=DKIM1; k=rsa; p=" + "Q/+" * 131)],
    dmarc_policy="quarantine",
    dmarc_rua=f"dmarc@{ZONE}",
    tlsrpt_rua=f"tls@{ZONE}",
)
HAND_MADE = [
    Record.make(ZONE, "TXT", "google-site-verification=abc"),
    Record.make(f"www.{ZONE}", "A", "192.0.2.80"),
    Record.make(f"_dmarc.{ZONE}", "TXT", "unrelated"),
    Record.make(f"split.{ZONE}", "TXT", "one half, other half"),
]


@pytest.fixture
def pdns() -> Iterator[PowerDNSServer]:
    with PowerDNSServer([ZONE]) as server:
        server.add(ZONE, ZONE, "TXT", '"google-site-verification=abc"',
                   '"v=spf1 ip4:192.0.2.0/24 -all"')  # fmt: skip
        server.add(ZONE, f"www.{ZONE}", "A", "192.0.2.80")
        server.add(ZONE, f"_dmarc.{ZONE}", "TXT", '"unrelated"')
        server.add(ZONE, f"split.{ZONE}", "TXT", '"one half, " "other half"')
        yield server


def options(pdns: PowerDNSServer, **extra: object) -> dict[str, object]:
    """``roost_dns_credentials`` for lexicon's powerdns provider at PDNS."""
    return {"provider_name": "powerdns", "auth_token": pdns.api_key, "pdns_server": pdns.url,
            "timeout": 20} | extra  # fmt: skip


def served(pdns: PowerDNSServer, name: str, rtype: str) -> list[str]:
    return sorted(r.to_text() for rrset in pdns.query(name, rtype).answer for r in rrset)


def test_records_land_hand_made_ones_survive_and_a_second_sync_changes_nothing(
    pdns: PowerDNSServer,
) -> None:
    provider = open_provider("lexicon", options(pdns))
    first = sync(provider, ZONE, mail_records(SPEC))
    assert first.changes and not first.conflicts
    assert served(pdns, ZONE, "MX") == ["10 mail.third.test."]
    assert served(pdns, f"_submissions._tcp.{ZONE}", "SRV") == ["0 1 465 mail.third.test."]
    # The SPF record is merged: the old one (its id holds a "/") is really gone.
    assert served(pdns, ZONE, "TXT") == [
        '"google-site-verification=abc"',
        '"v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.10 -all"',
    ]
    assert served(pdns, f"_dmarc.{ZONE}", "TXT") == [
        '"unrelated"',
        f'"v=DMARC1; p=quarantine; rua=mailto:dmarc@{ZONE}"',
    ]
    dkim = provider.records(ZONE, f"r1._domainkey.{ZONE}", "TXT")
    assert [r.value for r in dkim] == [SPEC.dkim[0][1]]  # 411 bytes: pdns splits, we join
    held = set(provider.records(ZONE))
    assert set(HAND_MADE) <= held and set(first.after) <= held

    serial, calls = pdns.serial(ZONE), pdns.changing_calls()
    second = sync(provider, ZONE, mail_records(SPEC))
    assert second.changes == [] and second.conflicts == []
    assert (pdns.serial(ZONE), pdns.changing_calls()) == (serial, calls)
    assert set(provider.records(ZONE)) == held


def test_check_mode_changes_nothing(pdns: PowerDNSServer) -> None:
    provider = open_provider("lexicon", options(pdns))
    serial, calls = pdns.serial(ZONE), pdns.changing_calls()
    assert sync(provider, ZONE, mail_records(SPEC), check=True).changes
    assert (pdns.serial(ZONE), pdns.changing_calls()) == (serial, calls)
    assert served(pdns, ZONE, "MX") == []


def test_ttl_name_and_value_map_onto_powerdns(pdns: PowerDNSServer) -> None:
    provider = open_provider("lexicon", options(pdns))
    wanted = [RecordSet.make(f"_mta-sts.{ZONE}", "TXT", ["v=STSv1; id=1"], ttl=300,
                             match="v=STSv1", replace=True),
              RecordSet.make(f"alias.{ZONE}", "CNAME", ["www.third.test."], ttl=120)]  # fmt: skip
    sync(provider, ZONE, wanted)
    [sts] = pdns.query(f"_mta-sts.{ZONE}", "TXT").answer
    assert sts.ttl == 300
    assert served(pdns, f"alias.{ZONE}", "CNAME") == ["www.third.test."]
    assert provider.records(ZONE, f"alias.{ZONE}") == [
        Record.make(f"alias.{ZONE}", "CNAME", "www.third.test.")
    ]
    sync(provider, ZONE, [RecordSet.make(f"_mta-sts.{ZONE}", "TXT", ["v=STSv1; id=2"],
                                         match="v=STSv1", replace=True)])  # fmt: skip
    assert served(pdns, f"_mta-sts.{ZONE}", "TXT") == ['"v=STSv1; id=2"']
    assert provider.nameservers(ZONE) == [f"ns.{ZONE}"]


def test_delete_removes_one_value_only(pdns: PowerDNSServer) -> None:
    provider = open_provider("lexicon", options(pdns))
    [spf] = [r for r in provider.records(ZONE, ZONE, "TXT") if r.value.startswith("v=spf1")]
    provider.delete(ZONE, spf)
    assert served(pdns, ZONE, "TXT") == ['"google-site-verification=abc"']
    provider.delete(ZONE, Record.make(f"_dmarc.{ZONE}", "TXT", "unrelated"))  # no id: by value
    assert served(pdns, f"_dmarc.{ZONE}", "TXT") == []


def test_unknown_provider_refused_credentials_and_unhosted_zone_name_the_fix(
    pdns: PowerDNSServer,
) -> None:
    with pytest.raises(CredentialsError) as typo:
        open_provider("lexicon", options(pdns, provider_name="powerdsn"))
    assert "no provider named 'powerdsn'" in str(typo.value)
    assert "did you mean powerdns" in str(typo.value)
    assert "roost_dns_credentials.provider_name" in str(typo.value)
    with pytest.raises(CredentialsError, match="needs provider_name"):
        open_provider("lexicon", {"auth_token": "x"})

    wrong = open_provider("lexicon", options(pdns, auth_token="not-the-key"))
    with pytest.raises(CredentialsError) as refused:
        wrong.records(ZONE)
    assert "HTTP 401" in str(refused.value) and "roost_dns_credentials" in str(refused.value)
    assert "not-the-key" not in str(refused.value)
    with pytest.raises(CredentialsError, match=r"auth_token\)"):
        open_provider("lexicon", options(pdns, auth_token="")).records(ZONE)

    with pytest.raises(ZoneNotHostedError) as unhosted:
        open_provider("lexicon", options(pdns)).records("not-here.test")
    assert "HTTP 404" in str(unhosted.value) and "roost_domains" in str(unhosted.value)


def test_a_dead_or_silent_api_is_reported_not_waited_on_forever(pdns: PowerDNSServer) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    dead = open_provider("lexicon", options(pdns, pdns_server=f"http://127.0.0.1:{port}"))
    with pytest.raises(UnreachableError, match="Connection refused"):
        dead.records(ZONE)
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        stalled = open_provider("lexicon", options(pdns, pdns_server=url, timeout=1))
        with pytest.raises(UnreachableError, match="did not answer listing the records"):
            stalled.records(ZONE)


def test_without_dns_lexicon_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [m for m in sys.modules if m.split(".")[0] == "lexicon"] + ["lexicon"]:
        monkeypatch.setitem(sys.modules, name, None)  # importing it now fails
    monkeypatch.delitem(sys.modules, "roost.dnsprovider.lexicon", raising=False)
    with pytest.raises(DNSProviderError) as err:
        open_provider("lexicon", {"provider_name": "powerdns"})
    assert "pip install roost[lexicon]" in str(err.value)


@given(st.text())
def test_txt_in_presentation_form_is_joined_and_unescaped(value: str) -> None:
    """What PowerDNS hands lexicon (quoted, split at 255 bytes, escaped) comes back whole."""
    presentation = txt_rdata_text(value)
    assert _txt_value(presentation) == value
    assert _txt_value(presentation[1:-1]) == value  # lexicon strips the outer quotes


@given(st.text().filter(lambda v: '"' not in v and "\\" not in v))
def test_plain_txt_is_taken_as_it_is(value: str) -> None:
    """Providers that give the value itself (Cloudflare, Hetzner) are read unchanged."""
    assert _txt_value(value) == value


def run_module(args: dict[str, object], *flags: str) -> subprocess.CompletedProcess[str]:
    """``roost_dns_records`` through Ansible itself, as the dns role calls it."""
    return subprocess.run(
        [Path(sys.executable).parent / "ansible", "localhost", "-M", str(LIBRARY),
         "-m", "roost_dns_records", "-a", json.dumps(args), *flags],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "False",
             "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False"},
    )  # fmt: skip


def test_module_with_provider_lexicon_in_check_mode_and_for_real(pdns: PowerDNSServer) -> None:
    args = {"provider": "lexicon", "credentials": options(pdns), "zone": ZONE,
            "mail": {"host": f"mail.{ZONE}", "ipv4": "198.51.100.10"}}  # fmt: skip
    serial, calls = pdns.serial(ZONE), pdns.changing_calls()
    checked = run_module(args, "--check", "--diff")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "localhost | CHANGED" in checked.stdout
    assert f"+{ZONE}. 600 IN MX 10 mail.{ZONE}." in checked.stdout
    assert pdns.api_key not in checked.stdout  # no_log
    assert (pdns.serial(ZONE), pdns.changing_calls()) == (serial, calls)

    applied = run_module(args)
    assert applied.returncode == 0 and "localhost | CHANGED" in applied.stdout, applied.stdout
    assert served(pdns, ZONE, "MX") == [f"10 mail.{ZONE}."]
    serial, calls = pdns.serial(ZONE), pdns.changing_calls()
    again = run_module(args)
    assert again.returncode == 0 and "localhost | SUCCESS" in again.stdout, again.stdout
    assert (pdns.serial(ZONE), pdns.changing_calls()) == (serial, calls)

    refused = run_module({**args, "credentials": options(pdns, provider_name="route54")}, "--check")
    assert refused.returncode != 0
    # Every credentials value is masked (no_log), the name too; the hint is not.
    assert "dns-lexicon has no provider named" in refused.stdout
    assert "did you mean route53" in refused.stdout
