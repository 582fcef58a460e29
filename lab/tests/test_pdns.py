"""The dns role with `roost_dns_provider: lexicon` against the lab's PowerDNS (third.test).

dns-lexicon's powerdns provider talks to pdns's HTTP API across the lab network, as it
would to a hosting service. What a run changed is read from pdns itself: its SOA serial
(bumped by every API change) and its API request log.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.query
import pytest
from roost.dnsprovider import Provider, Record, open_provider, wait_for_propagation
from test_dnsprovider import ROLE_PLAY, playbook

from conftest import Lab

HAND_MADE = ("google-site-verification=pdns", "192.0.2.81")


def zone(lab: Lab) -> str:
    return lab.facts["pdns"]["zone"]


def pdns_provider(lab: Lab) -> Provider:
    return open_provider("lexicon", lab.json("pdns", "credentials"))


@pytest.fixture
def third(lab: Lab) -> Iterator[Provider]:
    """third.test with a hand-made TXT and A; put back as it was afterwards."""
    provider = pdns_provider(lab)
    name = zone(lab)
    before = set(provider.records(name))
    provider.create(name, Record.make(name, "TXT", HAND_MADE[0]))
    provider.create(name, Record.make(f"www.{name}", "A", HAND_MADE[1]))
    yield provider
    for record in set(provider.records(name)) - before:
        provider.delete(name, record)


def served(lab: Lab, name: str, rdtype: str) -> list[str]:
    answer = dns.query.udp(dns.message.make_query(name, rdtype), lab.addr("pdns"), timeout=3)
    return sorted(r.to_text() for rrset in answer.answer for r in rrset)


def serial(lab: Lab) -> int:
    [soa] = served(lab, zone(lab), "SOA")
    return int(soa.split()[2])


def changing_calls(lab: Lab) -> int:
    """Change requests (PATCH, POST, PUT, DELETE) pdns's API has answered so far."""
    log = Path(lab.facts["pdns"]["log"]).read_text(errors="replace").splitlines()
    return sum(1 for line in log if any(f'"{verb} ' in line for verb in ("PATCH", "POST", "PUT", "DELETE")))


def test_dns_role_converges_on_powerdns_through_lexicon(lab: Lab, third: Provider, tmp_path: Path) -> None:
    name = zone(lab)
    play = tmp_path / "play.yml"
    play.write_text(ROLE_PLAY)
    extra = {
        "roost_dns_provider": "lexicon",
        "roost_dns_credentials": lab.json("pdns", "credentials"),
        "roost_domains": [{"name": name}],
        "roost_hostname": f"mail.{name}",
        "roost_ipv4": lab.addr("vps"),
        "roost_dkim_records": {name: [{"selector": "r1", "value": "v=DKIM1; k=rsa; p=" + "R/+" * 131}]},
        "facts_file": str(tmp_path / "facts.json"),
    }
    run = playbook(play, extra)
    before, calls = serial(lab), changing_calls(lab)
    checked = run("--check", "--diff")
    assert f"+{name}. 600 IN MX 10 mail.{name}." in checked
    assert (serial(lab), changing_calls(lab)) == (before, calls) and served(lab, name, "MX") == []

    assert "changed=0" not in run()
    assert served(lab, name, "MX") == [f"10 mail.{name}."]
    assert served(lab, name, "TXT") == [f'"{HAND_MADE[0]}"', f'"v=spf1 ip4:{lab.addr("vps")} -all"']
    assert served(lab, f"www.{name}", "A") == [HAND_MADE[1]]
    assert served(lab, f"mail.{name}", "A") == [lab.addr("vps")]
    wait_for_propagation(name, f"_dmarc.{name}", "TXT", ["v=DMARC1; p=none"],
                         nameservers=[lab.addr("pdns")], timeout=30)  # fmt: skip

    before, calls = serial(lab), changing_calls(lab)
    assert "changed=0" in run()
    assert (serial(lab), changing_calls(lab)) == (before, calls)
    assert [r.value for r in third.records(name, f"r1._domainkey.{name}")] == [
        extra["roost_dkim_records"][name][0]["value"]  # type: ignore[index]
    ]
